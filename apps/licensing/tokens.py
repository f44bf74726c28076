"""Access-token strings in Cryptolens' format: base64 of the JSON array ["<id>","<secret>"].

Only a SHA-256 digest of the 40-character secret is stored. The secret has about 238 bits of
entropy, so a fast digest is as safe as a slow password hash and keeps API calls cheap."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import string

from apps.core.hashing import sha256_hex

SECRET_ALPHABET = string.ascii_letters + string.digits
SECRET_LENGTH = 40
MAX_TOKEN_LENGTH = 256  # real tokens are under 90 characters


def new_secret() -> str:
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))


def hash_secret(secret: str) -> str:
    return sha256_hex(secret)


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def encode(token_id: int, secret: str) -> str:
    payload = json.dumps([str(token_id), secret], separators=(",", ":"))
    return base64.b64encode(payload.encode()).decode()


def decode(token: str) -> tuple[int, str] | None:
    """Return (id, secret) or None for anything that is not a well-formed token."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        # GET callers who forget to URL-encode turn '+' into a space.
        raw = base64.b64decode(token.strip().replace(" ", "+"), validate=True)
        value = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        return None
    token_id, secret = value
    # isascii(): str.isdigit() also accepts digits like "²" that int() refuses.
    if not (token_id.isascii() and token_id.isdigit()) or len(token_id) > 18:
        return None
    return int(token_id), secret
