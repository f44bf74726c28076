"""A Redis cache that fails open: when Redis cannot be reached, the site keeps answering.

The cache holds nothing the portal cannot do without: rate-limit counters (API failures,
activation forms, allauth logins) and nothing else of record. Django's own RedisCache raises
redis.ConnectionError from every call while Redis is down, which would turn each Web API call
into a 500. Here a failed call is logged, answered as a cache miss, and Redis is left alone
for a few seconds (per process) so that requests do not each pay a connection attempt while
it is down. The price: while Redis is down, rate limits do not count (they fail open).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
T = TypeVar("T")
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class FailOpenRedisCache(RedisCache):
    """RedisCache whose reads miss and whose writes are dropped while Redis is unreachable.

    OPTIONS["retry_after_seconds"] (default 5) is how long a process skips Redis after a
    failure; the other OPTIONS go to redis-py's connection pool as usual (set
    socket_connect_timeout and socket_timeout low: a hung Redis must not hang requests)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        self.retry_after_seconds = float(options.pop("retry_after_seconds", 5))
        super().__init__(server, {**params, "OPTIONS": options})
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _guard(self, call: Callable[[], T], fallback: T) -> T:
        if time.monotonic() < self._down_until:
            return fallback
        try:
            return call()
        except UNAVAILABLE as error:
            with self._lock:
                if time.monotonic() >= self._down_until:
                    logger.warning("Redis cache unavailable (%s); failing open for %.0f s",
                                   error, self.retry_after_seconds)
                self._down_until = time.monotonic() + self.retry_after_seconds
            return fallback

    def add(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT,
            version: int | None = None) -> bool:
        return self._guard(lambda: super(FailOpenRedisCache, self).add(
            key, value, timeout, version), False)

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return self._guard(lambda: super(FailOpenRedisCache, self).get(key, default, version),
                           default)

    def set(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT,
            version: int | None = None) -> None:
        self._guard(lambda: super(FailOpenRedisCache, self).set(key, value, timeout, version),
                    None)

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT,
              version: int | None = None) -> bool:
        return self._guard(lambda: super(FailOpenRedisCache, self).touch(key, timeout, version),
                           False)

    def delete(self, key: str, version: int | None = None) -> bool:
        return self._guard(lambda: super(FailOpenRedisCache, self).delete(key, version), False)

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        return self._guard(lambda: super(FailOpenRedisCache, self).get_many(keys, version), {})

    def has_key(self, key: str, version: int | None = None) -> bool:
        return self._guard(lambda: super(FailOpenRedisCache, self).has_key(key, version), False)

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        # A missing key still raises ValueError (callers rely on it); only outages fail open.
        return self._guard(lambda: super(FailOpenRedisCache, self).incr(key, delta, version),
                           delta)

    def set_many(self, data: dict[str, Any], timeout: Any = DEFAULT_TIMEOUT,
                 version: int | None = None) -> list[str]:
        return self._guard(lambda: super(FailOpenRedisCache, self).set_many(
            data, timeout, version), list(data))

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._guard(lambda: super(FailOpenRedisCache, self).delete_many(keys, version), None)

    # Django's RedisCache.clear returns flushdb's bool; django-stubs know only
    # BaseCache.clear, which returns None.
    def clear(self) -> bool:  # type: ignore[override]
        return self._guard(lambda: cast(bool, super(FailOpenRedisCache, self).clear()), False)
