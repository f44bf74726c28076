"""Digests of high-entropy secrets (tokens, links): stored instead of the secret itself."""

import hashlib


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
