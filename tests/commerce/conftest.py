"""The local fake of Stripe, served for one test (see fake_stripe.py for what it does)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake_stripe import FakeStripe


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    """A FakeStripe on 127.0.0.1 and a free port, accepting the key "sk_test_fake" (add more
    to `fake_stripe.api_keys`); stopped after the test."""
    fake = FakeStripe().start()
    try:
        yield fake
    finally:
        fake.stop()
