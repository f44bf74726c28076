"""Fixtures for the Web API tests."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest


@pytest.fixture
def one_rate_window(monkeypatch):
    """Hold the rate limiter's clock one second into a window. It counts in fixed windows
    aligned to the clock, so two calls of a test made a moment apart could otherwise fall in
    two windows (and both pass) when a boundary came between them, as it now and then did on
    a loaded machine."""
    start = (int(time.time()) // 86_400) * 86_400 + 1.0  # a boundary of every window <= 1 day
    monkeypatch.setattr("apps.core.ratelimit.time", SimpleNamespace(time=lambda: start))


from tests.api.live import server  # noqa: E402, F401  (the live-server fixture, every module)
