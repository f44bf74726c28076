"""Fixed-window request counters in the cache (Redis in production, so they hold across
processes and hosts).

One call to `hit()` counts every limit it is given, and reads those it only peeks at, in one
cache round trip: on Redis a pipeline of `SET key 0 EX window NX` + `INCR key` per counted
limit and `GET key` per peeked one; on other caches add + incr and get.
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


def hit(limits: Sequence[Limit], *, peek: Sequence[Limit] = (),
        now: float | None = None) -> int:
    """Count one request against each of `limits`, and look (without counting) whether any
    of `peek` is already used up; return the seconds until the caller may try again when a
    limit is exceeded, else 0. All in one cache round trip."""
    now = time.time() if now is None else now
    counted = [lim for lim in limits if lim.limit > 0 and lim.window > 0]
    peeked = [lim for lim in peek if lim.limit > 0 and lim.window > 0]
    if not counted and not peeked:
        return 0
    try:
        counts = _exchange([(_key(lim, now), lim.window, True) for lim in counted]
                           + [(_key(lim, now), lim.window, False) for lim in peeked])
    except Exception:  # a broken cache must not take the API down with it
        logger.warning("Rate limiter unavailable; request let through", exc_info=True)
        return 0
    if counts is None:  # the fail-open cache knows Redis is down (and said so once)
        return 0
    over = [lim for lim, n in zip(counted, counts, strict=False) if n > lim.limit]
    over += [lim for lim, n in zip(peeked, counts[len(counted):], strict=True)
             if n >= lim.limit]
    return max((lim.window - int(now) % lim.window for lim in over), default=0)


def _key(lim: Limit, now: float) -> str:
    return f"rl:{lim.name}:{int(now) // lim.window}"


def _exchange(requests: list[tuple[str, int, bool]]) -> list[int] | None:
    """For each (key, window, count): the counter after adding 1 (count) or as it is."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        full = [(cache.make_and_validate_key(key), window, count)
                for key, window, count in requests]

        def pipeline() -> list[int]:
            # The private RedisCacheClient of Django's RedisCache: not in django-stubs.
            client = cache._cache.get_client(full[0][0], write=True)  # type: ignore[attr-defined]
            pipe = client.pipeline(transaction=False)
            for key, window, count in full:
                if count:
                    pipe.set(key, 0, ex=window + 1, nx=True)
                    pipe.incr(key)
                else:
                    pipe.get(key)
            results = iter(pipe.execute())
            counts = []
            for _, _, count in full:
                if count:
                    next(results)  # SET NX: True, or None when the window's key exists
                counts.append(int(next(results) or 0))
            return counts

        # apps.core.cache.FailOpenRedisCache (production) skips Redis for a few seconds after
        # a failure instead of paying a connection attempt per request: go through it.
        guard = getattr(cache, "_guard", None)
        return guard(pipeline, None) if guard else pipeline()
    counts = []
    for key, window, count in requests:
        if not count:
            counts.append(int(cache.get(key) or 0))
            continue
        cache.add(key, 0, timeout=window + 1)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window + 1)
            counts.append(1)
    return counts
