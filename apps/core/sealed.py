"""Secrets the portal must use again later (a vendor's Stripe keys), encrypted at rest with
Fernet under a key derived by HKDF-SHA256 from settings.SIGNING_KEY_ENCRYPTION_SECRET, one
derived key per purpose. Shown only as a hint (`hint`), never rendered whole or logged."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@lru_cache(maxsize=8)
def _fernet(secret: str, purpose: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"licensing-portal/sealed",
                   info=purpose.encode()).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(value: str, *, purpose: str) -> str:
    return _fernet(settings.SIGNING_KEY_ENCRYPTION_SECRET, purpose).encrypt(
        value.encode()).decode()


def unseal(sealed: str, *, purpose: str) -> str:
    return _fernet(settings.SIGNING_KEY_ENCRYPTION_SECRET, purpose).decrypt(
        sealed.encode()).decode()


def hint(value: str) -> str:
    """What may be shown of a secret: its prefix up to the first '_' run and the last four
    characters ("sk_test_…4242")."""
    head = value.rsplit("_", 1)[0] + "_" if "_" in value else ""
    return f"{head[:12]}…{value[-4:]}"
