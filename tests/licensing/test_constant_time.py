"""Secrets are compared in constant time. Access-token secrets (and license-server upload
tokens) are checked in Python with hmac.compare_digest, on the cached path too; customer
secrets, invitation and portal-link tokens are looked up by their SHA-256 digest in the
database, which compares digests, never the secret (see SECURITY.md)."""

from __future__ import annotations

import hmac

import pytest

from apps.audit.log import Actor
from apps.licensing import tokens
from apps.licensing.api_methods import API_METHODS
from apps.licensing.services import token_authenticate, token_create


@pytest.fixture
def compare_calls(monkeypatch):
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)
    return calls


def test_token_secrets_are_compared_with_compare_digest_fresh_and_cached(tenant, compare_calls):
    token, string = token_create(vendor=tenant.vendor, actor=Actor.for_system("t"), name="t",
                                 permissions=API_METHODS)
    wrong = tokens.encode(token.pk, "x" * 40)

    assert token_authenticate(string) == token  # from the database
    assert token_authenticate(string) == token  # from the per-process cache
    assert token_authenticate(wrong) is None

    assert len(compare_calls) >= 3  # the wrong secret: against the cache, then the database
    assert all(stored == token.secret_hash for _, stored in compare_calls)


def test_secret_matches_never_uses_plain_equality():
    class NoEquality(str):
        def __eq__(self, other):  # pragma: no cover - failing is the point
            raise AssertionError("compared with ==")

        __hash__ = str.__hash__

    stored = NoEquality(tokens.hash_secret("s" * 40))
    assert tokens.secret_matches("s" * 40, stored)
    assert not tokens.secret_matches("t" * 40, stored)
