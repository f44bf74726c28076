"""The cache on the Redis of REDIS_URL, for the tests of what must hold across processes
(rate-limit counters, leases): each under a key prefix of its own, emptied before and after."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.cache import caches
from django.test import override_settings

REDIS_URL = os.environ.get("REDIS_URL", "")
FAIL_OPEN = "apps.core.cache.FailOpenRedisCache"  # production's
PLAIN = "django.core.cache.backends.redis.RedisCache"  # Django's, no fail-open guard

needs_redis = pytest.mark.skipif(not REDIS_URL,
                                 reason="needs REDIS_URL (use your own Redis database)")


@contextmanager
def on_redis(prefix: str, backend: str = FAIL_OPEN) -> Iterator[None]:
    """The default cache on REDIS_URL under `prefix`, empty, for the duration."""
    with override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": REDIS_URL,
                                               "KEY_PREFIX": prefix}}):
        caches["default"].clear()
        try:
            yield
        finally:
            caches["default"].clear()
