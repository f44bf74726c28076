"""Per-vendor RSA-2048 signing keys.

Private keys are encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived
with HKDF-SHA256 from settings.SIGNING_KEY_ENCRYPTION_SECRET. They are decrypted only in memory
to sign, and never rendered, logged or returned.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

KEY_SIZE = 2048
PUBLIC_EXPONENT = 65537


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"licensing-portal/signing-key", info=b"v1"
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _cipher() -> Fernet:
    return _fernet(settings.SIGNING_KEY_ENCRYPTION_SECRET)


def generate_key_pair() -> tuple[str, str]:
    """Return (public PEM, encrypted private key) for a fresh RSA-2048 key."""
    private = rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=KEY_SIZE)
    private_der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return public_pem, _cipher().encrypt(private_der).decode()


@lru_cache(maxsize=256)
def _load_private(encrypted: str) -> rsa.RSAPrivateKey:
    # Keyed by the ciphertext so a cached key can never serve another vendor.
    der = _cipher().decrypt(encrypted.encode())
    key = serialization.load_der_private_key(der, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def load_public_key(public_pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def sign(encrypted_private_key: str, data: bytes, *, algorithm: str = "sha256") -> bytes:
    """RSASSA-PKCS1-v1_5 signature of `data` with SHA-256 (default) or SHA-512."""
    hash_alg = hashes.SHA512() if algorithm == "sha512" else hashes.SHA256()
    return _load_private(encrypted_private_key).sign(data, padding.PKCS1v15(), hash_alg)


def fingerprint(public_pem: str) -> str:
    """SHA-256 of the public key (DER SubjectPublicKeyInfo), as colon-separated hex pairs:
    what a vendor compares with the key built into their software."""
    der = load_public_key(public_pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return ":".join(f"{byte:02X}" for byte in digest.finalize())


def _b64_int(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.b64encode(raw).decode()


def public_key_xml(public_pem: str) -> str:
    """The public key as .NET's RSAKeyValue XML, the form every Cryptolens client accepts."""
    numbers = load_public_key(public_pem).public_numbers()
    return (
        f"<RSAKeyValue><Modulus>{_b64_int(numbers.n)}</Modulus>"
        f"<Exponent>{_b64_int(numbers.e)}</Exponent></RSAKeyValue>"
    )
