"""Fixed-window request counters in the cache (Redis in production, so they hold across
processes and hosts).

One call to `hit()` counts every limit it is given, and reads those it only peeks at, in one
cache round trip: on Redis one EVALSHA of a small script (INCR, and EXPIRE when the window's
counter is new, per counted limit; GET per peeked one), atomic, so a counter never outlives
its window; on other caches add + incr and get.
A cache outage never refuses a request: the limiter fails open and says so in the log."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

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


# KEYS: the counted counters, then the peeked ones; ARGV[1]: how many are counted, then each
# counted one's time to live. A counter's first INCR gives it its TTL in the same atomic step.
_COUNTERS_LUA = """
local counted = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  if i <= counted then
    local n = redis.call('INCR', key)
    if n == 1 then redis.call('EXPIRE', key, ARGV[i + 1]) end
    out[i] = n
  else
    out[i] = tonumber(redis.call('GET', key) or '0')
  end
end
return out
"""
_COUNTERS_SHA = hashlib.sha1(_COUNTERS_LUA.encode()).hexdigest()  # noqa: S324 (Redis' name)


def _redis_counters(cache: RedisCache, requests: list[tuple[str, int, bool]]) -> list[int]:
    """The script, on this thread's own connection to the cache's server: EVALSHA, or EVAL
    once for a Redis that has not seen it yet (restarted, another server). The counters' keys
    are this module's (short, plain ASCII): made with the cache's prefix and version, as
    cache.add() makes them, without the check for keys memcached would refuse."""
    keys = [cache.make_key(key) for key, _, _ in requests]
    ttls = [str(window + 1) for _, window, count in requests if count]
    args = [str(len(keys)), *keys, str(len(ttls)), *ttls]
    connection = _connection(cache)
    try:
        try:
            connection.send_packed_command([_command("EVALSHA", _COUNTERS_SHA, *args)])
            counts = connection.read_response()
        except NoScriptError:
            connection.send_packed_command([_command("EVAL", _COUNTERS_LUA, *args)])
            counts = connection.read_response()
    except BaseException:
        connection.disconnect()  # its state is unknown: the next call opens it again
        raise
    return [int(n) for n in counts]


_own = threading.local()


def _connection(cache: RedisCache) -> Any:
    """A connection of this process and thread to the server the cache writes to, made
    as the cache's pool makes its own and kept for every call: taking one from the pool and
    giving it back cost redis-py about 100 microseconds of CPU per call (its lock, pid check
    and metrics), as much as the round trip itself. A worker that forked gets its own (redis-py
    never closes a connection from a process other than the one that opened it)."""
    # The private RedisCacheClient of Django's RedisCache (not in django-stubs): its pool for
    # writes, without get_client(), which builds a redis.Redis client on every call.
    pool = cache._cache._get_connection_pool(write=True)  # type: ignore[attr-defined]
    held = getattr(_own, "held", None)
    if held is not None and held[0] == os.getpid() and held[1] is pool:
        connection = held[2]
        # The pool's own check before it lends a connection: one with something to read
        # while idle was closed by the server (a restart, its idle timeout) or is out of step.
        try:
            stale = connection.can_read()  # connects one that is not
        except (RedisConnectionError, RedisTimeoutError, OSError):
            stale = True
        if stale:
            connection.disconnect()
            connection.connect()
        return connection
    connection = pool.connection_class(**pool.connection_kwargs)
    _own.held = (os.getpid(), pool, connection)
    return connection


def _command(*args: str) -> bytes:
    """A Redis command in the protocol's own form (RESP), as redis-py packs one: the same
    bytes, without its per-argument type checks on every call."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts += [f"${len(data)}\r\n".encode(), data, b"\r\n"]
    return b"".join(parts)


def _exchange(requests: list[tuple[str, int, bool]]) -> list[int] | None:
    """For each (key, window, count), counted ones first: the counter after adding 1 (count)
    or as it is."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        # apps.core.cache.FailOpenRedisCache (production) skips Redis for a few seconds after
        # a failure instead of paying a connection attempt per request: go through it.
        guard = getattr(cache, "_guard", None)
        return guard(lambda: _redis_counters(cache, requests), None) if guard else \
            _redis_counters(cache, requests)
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
