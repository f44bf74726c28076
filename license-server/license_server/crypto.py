"""RSA in the forms the Cryptolens clients use: .NET `<RSAKeyValue>` XML public keys and
RSASSA-PKCS1-v1_5 signatures with SHA-256 (license keys, configurations)."""

from __future__ import annotations

import base64
import binascii
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_MODULUS = re.compile(r"<Modulus>\s*([A-Za-z0-9+/=\s]+?)\s*</Modulus>")
_EXPONENT = re.compile(r"<Exponent>\s*([A-Za-z0-9+/=\s]+?)\s*</Exponent>")


class KeyFormatError(ValueError):
    """A key that cannot be read."""


def _b64_int(value: int) -> str:
    return base64.b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).decode()


def public_key_xml(key: rsa.RSAPublicKey) -> str:
    numbers = key.public_numbers()
    return (f"<RSAKeyValue><Modulus>{_b64_int(numbers.n)}</Modulus>"
            f"<Exponent>{_b64_int(numbers.e)}</Exponent></RSAKeyValue>")


def public_key_from_xml(xml: str) -> rsa.RSAPublicKey:
    modulus, exponent = _MODULUS.search(xml or ""), _EXPONENT.search(xml or "")
    if modulus is None or exponent is None:
        raise KeyFormatError("not an <RSAKeyValue> public key")
    try:
        n = int.from_bytes(base64.b64decode(modulus.group(1)), "big")
        e = int.from_bytes(base64.b64decode(exponent.group(1)), "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    except (binascii.Error, ValueError) as exc:
        raise KeyFormatError(f"not an <RSAKeyValue> public key: {exc}") from None


def private_key_from_pem(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(f"not a PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFormatError("not an RSA private key")
    return key


def verify(key: rsa.RSAPublicKey, data: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def b64decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None
