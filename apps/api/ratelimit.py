"""Brakes on the Web API, counted in the cache (Redis in production, so they hold across
processes):

- key and token guessing: an IP with too many failed look-ups in a window is refused for the
  rest of that window (API_MAX_FAILURES_PER_WINDOW / API_FAILURE_WINDOW_SECONDS);
- floods: every authenticated call counts against its token's and its IP's budgets
  (API_RATE_LIMIT_PER_TOKEN, API_RATE_LIMIT_PER_IP)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from apps.core import ratelimit as core_ratelimit


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


def failure_retry_after() -> int:
    window = settings.API_FAILURE_WINDOW_SECONDS
    return window - int(time.time()) % window


def call_retry_after(ip: str | None, token_id: int) -> int:
    """Count an authenticated call against its token's and its IP's budgets (one cache round
    trip for both); the seconds to wait when either is spent, else 0."""
    token_limit, token_window = settings.API_RATE_LIMIT_PER_TOKEN
    ip_limit, ip_window = settings.API_RATE_LIMIT_PER_IP
    limits = [core_ratelimit.Limit(f"api-token:{token_id}", token_limit, token_window)]
    if ip:
        limits.append(core_ratelimit.Limit(f"api-ip:{ip}", ip_limit, ip_window))
    return core_ratelimit.hit(limits)
