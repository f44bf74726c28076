"""The caller's address, one rule for the Web API and the public pages."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind a trusted proxy (API_TRUST_X_FORWARDED_FOR) the last
    X-Forwarded-For entry: the one that proxy appended; earlier entries come from the client
    and can be forged. Anything that does not parse as an IP address is ignored."""
    candidates = [request.META.get("REMOTE_ADDR") or ""]
    if settings.API_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        candidates.insert(0, forwarded)
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None
