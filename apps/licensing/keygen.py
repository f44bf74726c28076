"""License key strings: 20 random upper-case letters in four groups (SKM15 style)."""

import secrets
import string

ALPHABET = string.ascii_uppercase


def new_key_string() -> str:
    letters = "".join(secrets.choice(ALPHABET) for _ in range(20))
    return "-".join(letters[i : i + 5] for i in range(0, 20, 5))
