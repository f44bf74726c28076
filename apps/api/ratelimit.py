"""Brake on key and token guessing: an IP with too many failed look-ups in a window is refused
for the rest of that window. Counters live in the cache (Redis in production), so they hold
across processes."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


def _bucket(ip: str) -> str:
    window = int(time.time()) // settings.API_FAILURE_WINDOW_SECONDS
    return f"api-fail:{ip}:{window}"


def record_failure(ip: str | None) -> None:
    if not ip:
        return
    key = _bucket(ip)
    if cache.add(key, 1, timeout=settings.API_FAILURE_WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=settings.API_FAILURE_WINDOW_SECONDS)


def is_blocked(ip: str | None) -> bool:
    if not ip:
        return False
    return (cache.get(_bucket(ip)) or 0) >= settings.API_MAX_FAILURES_PER_WINDOW
