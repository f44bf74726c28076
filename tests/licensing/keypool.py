"""Reuse RSA key pairs across tests.

Every vendor gets a fresh RSA-2048 key, and generating one takes ~70 ms: with two tenants per
test that is most of the suite's run time. Tests here take pairs from a pool made by the real
`signing.generate_key_pair`, distinct within a test, instead. Only the services' view of the
signing module is replaced; tests that call `apps.licensing.signing` directly get fresh keys."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from apps.licensing import signing
from apps.licensing.services import credentials

_POOL: list[tuple[str, str]] = []


@pytest.fixture(autouse=True)
def pooled_signing_keys(monkeypatch):
    handed_out = 0

    def generate_key_pair() -> tuple[str, str]:
        nonlocal handed_out
        if handed_out == len(_POOL):
            _POOL.append(signing.generate_key_pair())
        handed_out += 1
        return _POOL[handed_out - 1]

    proxy = SimpleNamespace(**{name: getattr(signing, name) for name in dir(signing)
                               if not name.startswith("__")})
    proxy.generate_key_pair = generate_key_pair
    monkeypatch.setattr(credentials, "signing", proxy)
