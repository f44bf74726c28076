"""The vendor's public key in the forms vendors have it: the `<RSAKeyValue>` XML every
Cryptolens client takes (the portal shows it under Settings > Security) or PEM."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_MODULUS = re.compile(r"<Modulus>\s*([A-Za-z0-9+/=\s]+?)\s*</Modulus>")
_EXPONENT = re.compile(r"<Exponent>\s*([A-Za-z0-9+/=\s]+?)\s*</Exponent>")

PublicKey = str | bytes | rsa.RSAPublicKey


class KeyFormatError(ValueError):
    """A public key that cannot be read."""


def load_public_key(key: PublicKey) -> rsa.RSAPublicKey:
    if isinstance(key, rsa.RSAPublicKey):
        return key
    text = key.decode("ascii", "replace") if isinstance(key, bytes) else str(key)
    if "<RSAKeyValue>" in text:
        modulus, exponent = _MODULUS.search(text), _EXPONENT.search(text)
        if modulus is None or exponent is None:
            raise KeyFormatError("the <RSAKeyValue> has no Modulus or no Exponent")
        try:
            n = int.from_bytes(base64.b64decode(modulus.group(1)), "big")
            e = int.from_bytes(base64.b64decode(exponent.group(1)), "big")
            return rsa.RSAPublicNumbers(e, n).public_key()
        except (binascii.Error, ValueError) as exc:
            raise KeyFormatError(f"the <RSAKeyValue> cannot be read: {exc}") from None
    try:
        loaded = serialization.load_pem_public_key(text.strip().encode())
    except ValueError as exc:
        raise KeyFormatError(f"neither an <RSAKeyValue> nor a PEM public key: {exc}") from None
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise KeyFormatError("not an RSA public key")
    return loaded


def key_fingerprint(key: rsa.RSAPublicKey) -> str:
    """SHA-256 of the key (DER SubjectPublicKeyInfo) as colon-separated upper-case hex pairs,
    the vendor's fingerprint the portal shows and writes into every certificate."""
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())
