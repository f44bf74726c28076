import base64
import xml.etree.ElementTree as ET

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.test import override_settings

from apps.licensing import signing
from apps.licensing.models import SigningKey

from ..factories import UserFactory, make_vendor

DATA = b'{"ProductId":3,"Key":"ABCDE-FGHIJ-KLMNO-PQRST"}'


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    return signing.generate_key_pair()


@pytest.fixture(autouse=True)
def _fresh_caches():
    signing._load_private.cache_clear()
    yield
    signing._load_private.cache_clear()


def _private_der(encrypted: str) -> bytes:
    return signing._load_private(encrypted).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_generated_key_is_rsa_2048_with_exponent_65537(key_pair):
    public_pem, encrypted = key_pair
    public = signing.load_public_key(public_pem)
    assert public.key_size == 2048
    assert public.public_numbers().e == 65537
    private = signing._load_private(encrypted)
    assert private.public_key().public_numbers() == public.public_numbers()


def test_stored_private_key_is_not_plain_text(key_pair):
    _, encrypted = key_pair
    der = _private_der(encrypted)
    pem = signing._load_private(encrypted).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    assert "PRIVATE KEY" not in encrypted
    assert base64.b64encode(der).decode() not in encrypted
    assert base64.urlsafe_b64encode(der).decode() not in encrypted
    assert der.hex() not in encrypted
    assert pem not in encrypted
    with pytest.raises(ValueError):
        serialization.load_der_private_key(base64.urlsafe_b64decode(encrypted), password=None)


def test_private_key_cannot_be_loaded_with_another_secret(key_pair):
    _, encrypted = key_pair
    with override_settings(SIGNING_KEY_ENCRYPTION_SECRET="other"):
        with pytest.raises(InvalidToken):
            signing._load_private(encrypted)
        with pytest.raises(InvalidToken):
            signing.sign(encrypted, DATA)


def test_sha256_signature_verifies_with_the_public_key(key_pair):
    public_pem, encrypted = key_pair
    signature = signing.sign(encrypted, DATA)
    public = signing.load_public_key(public_pem)
    assert len(signature) == 256
    public.verify(signature, DATA, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(signature, DATA + b" ", padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(signature, DATA, padding.PKCS1v15(), hashes.SHA512())


def test_sha512_signature_verifies_with_the_public_key(key_pair):
    public_pem, encrypted = key_pair
    signature = signing.sign(encrypted, DATA, algorithm="sha512")
    public = signing.load_public_key(public_pem)
    public.verify(signature, DATA, padding.PKCS1v15(), hashes.SHA512())
    with pytest.raises(InvalidSignature):
        public.verify(signature, DATA, padding.PKCS1v15(), hashes.SHA256())


def test_signature_does_not_verify_with_another_vendors_key(key_pair):
    _, encrypted = key_pair
    other_public_pem, _ = signing.generate_key_pair()
    signature = signing.sign(encrypted, DATA)
    with pytest.raises(InvalidSignature):
        signing.load_public_key(other_public_pem).verify(
            signature, DATA, padding.PKCS1v15(), hashes.SHA256()
        )


def test_public_key_xml_holds_big_endian_modulus_and_exponent(key_pair):
    public_pem, _ = key_pair
    root = ET.fromstring(signing.public_key_xml(public_pem))
    assert root.tag == "RSAKeyValue"
    modulus = base64.b64decode(root.findtext("Modulus"), validate=True)
    numbers = signing.load_public_key(public_pem).public_numbers()
    assert len(modulus) == 256
    assert int.from_bytes(modulus, "big") == numbers.n
    assert root.findtext("Exponent") == "AQAB"


def test_vendor_create_gives_the_vendor_a_working_signing_key(db):
    vendor = make_vendor("Signed Ltd", owner=UserFactory())
    key = SigningKey.objects.get(vendor=vendor)
    assert "PRIVATE" not in key.private_key_encrypted
    signature = signing.sign(key.private_key_encrypted, DATA)
    signing.load_public_key(key.public_key_pem).verify(
        signature, DATA, padding.PKCS1v15(), hashes.SHA256()
    )


def test_each_vendor_gets_its_own_signing_key(db):
    first = make_vendor("One")
    second = make_vendor("Two")
    assert first.signing_key.public_key_pem != second.signing_key.public_key_pem
