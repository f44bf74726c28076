"""Fixed-window request counters in the cache (Redis in production, so they hold across
processes and hosts).

One call to `hit()` counts every limit it is given, and reads those it only peeks at, in one
cache round trip: on Redis one EVALSHA of a small script (INCR, and EXPIRE when the window's
counter is new, per counted limit; GET per peeked one), atomic, so a counter never outlives
its window; on other caches add + incr and get.
A cache outage never refuses a request: the limiter fails open and says so in the log.

`hit_leased()` is for high limits counted on every call of a busy caller (the Web API's
budgets, tens of thousands per window): the round trip to Redis cost the API's start-up calls
about a sixth of their throughput, mostly in the two process switches it forces. On Redis,
the second time this process counts a counter in a window it reserves a lease of units at
once (INCRBY, a thousandth of the counter's limit, at most LEASE_MAX) and spends them here
without a round trip; a counter seen once is counted exactly, so that callers seen once (an
application's start-up from its own IP) reserve nothing for others' budgets. A call is
served without a round trip when each of its counters holds a lease and each counter it
peeks at was read as 0 (an IP with no failed look-ups) at most a lease's number of calls
ago. What holds:
- a limit is never exceeded: Redis counts every reserved unit, spent or not, so calls are
  refused early rather than late, by at most (processes - 1) x (lease - 1) calls per window
  (0.5% of the default API budgets with five workers);
- a counter this process adds to (a failed look-up, counted by `hit()`) is read again at
  the next call that peeks at it. Another process learns of new failures at its own next
  failure or round trip, so after an IP is blocked each other process lets at most one
  lease's number of that IP's calls through, and only until one of them fails.
"""

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
    counted, peeked = _active(limits), _active(peek)
    if not counted and not peeked:
        return 0
    keys = [_key(lim, now) for lim in counted]
    if keys:
        _read_again(keys)
    counts = _counts(keys, counted, [_key(lim, now) for lim in peeked], peeked,
                     [1] * len(keys))
    if counts is None:
        return 0
    return _wait(counted, peeked, counts, counts[len(keys) + len(peeked):], now)


# --- Leases (see the module's text) ---------------------------------------------------------
LEASE_SHARE = 1000  # a lease is this share (1/N) of its counter's limit ...
LEASE_MAX = 64  # ... and at most this many units
_KEPT = 4096  # past this many counters known to this process, it forgets them all

_leases_lock = threading.Lock()
_units: dict[tuple[str, int], int] = {}  # (counter, limit) -> units reserved, not spent yet
_seen: set[str] = set()  # counters this process has counted through Redis (this window)
_clean: dict[str, int] = {}  # peeked counters read as 0 -> calls left before reading again


def hit_leased(limits: Sequence[Limit], *, peek: Sequence[Limit] = (),
               now: float | None = None) -> int:
    """As `hit()`, spending leases of this process where it holds them (see the module's
    text); limits too small for a lease of 2, or a cache other than Redis, go to `hit()`."""
    now = time.time() if now is None else now
    counted, peeked = _active(limits), _active(peek)
    sizes = [min(LEASE_MAX, lim.limit // LEASE_SHARE) for lim in counted]
    if max(sizes, default=0) < 2 or not isinstance(caches["default"], RedisCache):
        return hit(limits, peek=peek, now=now)
    ids = [(_key(lim, now), lim.limit) for lim in counted]
    peek_keys = [_key(lim, now) for lim in peeked]
    with _leases_lock:
        # Units taken here are this call's; given back should the call be refused.
        taken = [n for n, counter in enumerate(ids) if _take(_units, counter)]
        if len(taken) == len(ids) and all(_clean.get(key, 0) for key in peek_keys):
            for key in peek_keys:
                _take(_clean, key)
            return 0
        refill = [n for n in range(len(ids)) if n not in taken]
        steps = [sizes[n] if sizes[n] > 1 and ids[n][0] in _seen else 1 for n in refill]
    refilled = [counted[n] for n in refill]
    counts = _counts([ids[n][0] for n in refill], refilled, peek_keys, peeked, steps)
    if counts is None:
        return 0
    reserved = counts[len(refill) + len(peeked):]  # 1 each where a peeked counter was not 0
    wait = _wait(refilled, peeked, counts, reserved, now)
    with _leases_lock:
        if len(_seen) >= _KEPT or len(_units) >= _KEPT or len(_clean) >= _KEPT:
            _forget()
        if wait:
            for n in taken:
                _units[ids[n]] = _units.get(ids[n], 0) + 1
            return wait
        _seen.update(ids[n][0] for n in refill)
        for n, lim, count, step in zip(refill, refilled, counts, reserved, strict=False):
            # The units of this reservation within the limit, beyond this call's own.
            spare = min(step, lim.limit - (count - step)) - 1
            if spare > 0:
                _units[ids[n]] = _units.get(ids[n], 0) + spare
        if all(n == 0 for n in counts[len(refill):len(refill) + len(peeked)]):
            for key in peek_keys:
                _clean[key] = max(sizes)
    return 0


def _take(pool: dict[Any, int], name: Any) -> bool:
    """One unit of `name` out of `pool`, if there is one."""
    left = pool.get(name, 0)
    if not left:
        return False
    if left > 1:
        pool[name] = left - 1
    else:
        del pool[name]
    return True


def _forget() -> None:
    _units.clear()
    _seen.clear()
    _clean.clear()


def _read_again(keys: list[str]) -> None:
    """Counters this process added to: whoever peeks at them reads them from the cache."""
    with _leases_lock:
        for key in keys:
            _clean.pop(key, None)


def forget_leases() -> None:
    """Drop what this process holds (unspent units stay counted in the cache until their
    window ends); for tests, whose cache is emptied between them."""
    with _leases_lock:
        _forget()


def _active(limits: Sequence[Limit]) -> list[Limit]:
    return [lim for lim in limits if lim.limit > 0 and lim.window > 0]


def _counts(keys: list[str], counted: list[Limit], peek_keys: list[str], peeked: list[Limit],
            steps: list[int]) -> list[int] | None:
    """The counters after the round trip (counted ones first), then the units reserved per
    counted counter; None when the cache is down and the request is let through."""
    try:
        return _exchange([(key, lim.window, True) for key, lim in zip(keys, counted, strict=True)]
                         + [(key, lim.window, False)
                            for key, lim in zip(peek_keys, peeked, strict=True)], steps)
    except Exception:  # a broken cache must not take the API down with it
        logger.warning("Rate limiter unavailable; request let through", exc_info=True)
        return None


def _wait(counted: list[Limit], peeked: list[Limit], counts: list[int], reserved: list[int],
          now: float) -> int:
    """The seconds to wait when the call does not fit a counted limit (the first unit
    reserved for it goes past the limit) or a peeked limit is used up, else 0."""
    over = [lim for lim, n, step in zip(counted, counts, reserved, strict=False)
            if n - step >= lim.limit]
    over += [lim for lim, n in zip(peeked, counts[len(counted):len(counted) + len(peeked)],
                                  strict=True) if n >= lim.limit]
    return max((lim.window - int(now) % lim.window for lim in over), default=0)


def _key(lim: Limit, now: float) -> str:
    return f"rl:{lim.name}:{int(now) // lim.window}"


# KEYS: the counted counters, then the peeked ones. ARGV[1]: how many are counted; then each
# counted one's time to live; then the units to reserve for each counted one, or 1 for all
# when a peeked counter is not 0. A counter's first INCRBY gives it its TTL in the same atomic
# step. Returns the counters, then the units reserved for each counted one.
_COUNTERS_LUA = """
local counted = tonumber(ARGV[1])
local single = false
local out = {}
for i = counted + 1, #KEYS do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n > 0 then single = true end
  out[i] = n
end
for i = 1, counted do
  local step = tonumber(ARGV[counted + i + 1])
  if single then step = 1 end
  local n = redis.call('INCRBY', KEYS[i], step)
  if n == step then redis.call('EXPIRE', KEYS[i], ARGV[i + 1]) end
  out[i] = n
  out[#KEYS + i] = step
end
return out
"""
_COUNTERS_SHA = hashlib.sha1(_COUNTERS_LUA.encode()).hexdigest()  # noqa: S324 (Redis' name)


def _redis_counters(cache: RedisCache, requests: list[tuple[str, int, bool]],
                    steps: list[int]) -> list[int]:
    """The script, on this thread's own connection to the cache's server: EVALSHA, or EVAL
    once for a Redis that has not seen it yet (restarted, another server). The counters' keys
    are this module's (short, plain ASCII): made with the cache's prefix and version, as
    cache.add() makes them, without the check for keys memcached would refuse."""
    keys = [cache.make_key(key) for key, _, _ in requests]
    ttls = [str(window + 1) for _, window, count in requests if count]
    args = [str(len(keys)), *keys, str(len(ttls)), *ttls, *map(str, steps)]
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


def _exchange(requests: list[tuple[str, int, bool]], steps: list[int]) -> list[int] | None:
    """For each (key, window, count), counted ones first: the counter after adding the units
    reserved for it (count) or as it is; then the units reserved for each counted one: its
    step on Redis (1 each where a peeked counter is not 0), 1 elsewhere."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        # apps.core.cache.FailOpenRedisCache (production) skips Redis for a few seconds after
        # a failure instead of paying a connection attempt per request: go through it.
        guard = getattr(cache, "_guard", None)
        return guard(lambda: _redis_counters(cache, requests, steps), None) if guard else \
            _redis_counters(cache, requests, steps)
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
    return [*counts, *[1 for _, _, count in requests if count]]
