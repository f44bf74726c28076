"""Fixed-window request counters in the cache (Redis in production, so they hold across
processes and hosts).

One call to `hit()` counts every bucket it is given in one cache round trip: on Redis a
pipeline of `SET key 0 EX window NX` + `INCR key` per bucket; on other caches add + incr.
A cache outage never refuses a request: the limiter fails open and says so in the log."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most `limit` hits per `window` seconds for `name`; a limit of 0 is no limit."""

    name: str
    limit: int
    window: int


def hit(limits: Sequence[Limit], *, now: float | None = None) -> int:
    """Count one request against each limit; return the seconds until the caller may try
    again when any limit is exceeded, else 0."""
    now = time.time() if now is None else now
    active = [lim for lim in limits if lim.limit > 0 and lim.window > 0]
    if not active:
        return 0
    keys = [f"rl:{lim.name}:{int(now) // lim.window}" for lim in active]
    try:
        counts = _incr_all(keys, [lim.window for lim in active])
    except Exception:  # a broken cache must not take the API down with it
        logger.warning("Rate limiter unavailable; request let through", exc_info=True)
        return 0
    if counts is None:  # the fail-open cache knows Redis is down (and said so once)
        return 0
    retry_after = 0
    for lim, count in zip(active, counts, strict=True):
        if count > lim.limit:
            retry_after = max(retry_after, lim.window - int(now) % lim.window)
    return retry_after


def _incr_all(keys: list[str], windows: list[int]) -> list[int] | None:
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        full_keys = [cache.make_and_validate_key(key) for key in keys]

        def pipeline() -> list[int]:
            client = cache._cache.get_client(full_keys[0], write=True)
            pipe = client.pipeline(transaction=False)
            for key, window in zip(full_keys, windows, strict=True):
                pipe.set(key, 0, ex=window + 1, nx=True)
                pipe.incr(key)
            return [int(n) for n in pipe.execute()[1::2]]

        # apps.core.cache.FailOpenRedisCache (production) skips Redis for a few seconds after
        # a failure instead of paying a connection attempt per request: go through it.
        guard = getattr(cache, "_guard", None)
        return guard(pipeline, None) if guard else pipeline()
    counts = []
    for key, window in zip(keys, windows, strict=True):
        cache.add(key, 0, timeout=window + 1)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window + 1)
            counts.append(1)
    return counts
