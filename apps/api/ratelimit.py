"""Brakes on the Web API, counted in the cache (Redis in production, so they hold across
processes):

- key and token guessing: an IP with too many failed look-ups in a window is refused for the
  rest of that window (API_MAX_FAILURES_PER_WINDOW / API_FAILURE_WINDOW_SECONDS);
- floods: every authenticated call counts against its token's and its IP's budgets
  (API_RATE_LIMIT_PER_TOKEN, API_RATE_LIMIT_PER_IP)."""

from __future__ import annotations

import hashlib

from django.conf import settings

from apps.core import ratelimit as core_ratelimit


def _failures(ip: str) -> core_ratelimit.Limit:
    return core_ratelimit.Limit(f"api-fail:{ip}", settings.API_MAX_FAILURES_PER_WINDOW,
                                settings.API_FAILURE_WINDOW_SECONDS)


def record_failure(ip: str | None) -> int:
    """Count a failed look-up of this IP; the seconds to wait when that puts it over the
    limit (answer "too many requests", so that a guesser learns nothing), else 0."""
    return core_ratelimit.hit([_failures(ip)]) if ip else 0


def is_blocked(ip: str | None) -> bool:
    """Whether this IP has used up its failed look-ups (without counting this request)."""
    if not ip:
        return False
    return core_ratelimit.hit([], peek=[_failures(ip)]) > 0


def call_retry_after(ip: str | None, token_id: int) -> int:
    """For an authenticated call, in one cache round trip or none (a lease of this process,
    apps.core.ratelimit.hit_leased): count it against its token's and its IP's budgets and
    check the IP's failed look-ups; the seconds to wait when any is used up, else 0."""
    token_limit, token_window = settings.API_RATE_LIMIT_PER_TOKEN
    ip_limit, ip_window = settings.API_RATE_LIMIT_PER_IP
    limits = [core_ratelimit.Limit(f"api-token:{token_id}", token_limit, token_window)]
    if ip:
        limits.append(core_ratelimit.Limit(f"api-ip:{ip}", ip_limit, ip_window))
    return core_ratelimit.hit_leased(limits, peek=[_failures(ip)] if ip else [])


# --- userauth: password guessing ----------------------------------------------------------
# Failed Login / ChangePassword attempts, counted per user name (of one vendor) and per IP
# address; once either is used up, every attempt is refused with "too many requests" for the
# rest of the window, the right password included. Nothing resets a counter early: a correct
# password for one name leaves the IP's count of failures for other names as it is.

def _user_failures(vendor_id: int, username: str) -> core_ratelimit.Limit:
    # The name is hashed: it is the caller's text, and cache keys must stay short and plain.
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return core_ratelimit.Limit(f"userauth-user:{vendor_id}:{name}",
                               *settings.USERAUTH_FAILURES_PER_USER)


def _ip_failures(ip: str) -> core_ratelimit.Limit:
    return core_ratelimit.Limit(f"userauth-ip:{ip}", *settings.USERAUTH_FAILURES_PER_IP)


def _login_limits(vendor_id: int, username: str, ip: str | None) -> list[core_ratelimit.Limit]:
    limits = [_user_failures(vendor_id, username)]
    if ip:
        limits.append(_ip_failures(ip))
    return limits


def login_retry_after(vendor_id: int, username: str, ip: str | None) -> int:
    """Before a password is checked: the seconds to wait when this user name or this IP has
    used up its failed attempts (nothing is counted), else 0."""
    return core_ratelimit.hit([], peek=_login_limits(vendor_id, username, ip))


def record_login_failure(vendor_id: int, username: str, ip: str | None) -> None:
    """Count a wrong password (or reset token) against the user name and the IP."""
    core_ratelimit.hit(_login_limits(vendor_id, username, ip))
