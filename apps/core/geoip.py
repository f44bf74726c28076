"""Country of an IP address from an optional MaxMind-format database (GeoLite2-Country or
GeoIP2-Country, `.mmdb`), configured by GEOIP_DATABASE. Without one every answer is "", and the
reports say that the Country column is empty because no database is configured.

The reader is opened once per process (memory-mapped, thread-safe) and look-ups are cached:
the hot API path pays a dictionary look-up for a returning client."""

from __future__ import annotations

import functools
import ipaddress
import logging
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)


@functools.cache
def _reader() -> Any | None:
    path = getattr(settings, "GEOIP_DATABASE", "")
    if not path:
        return None
    import maxminddb

    try:
        return maxminddb.open_database(path)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as error:  # never break the API
        logger.error("GeoIP database %s cannot be opened: %s", path, error)
        return None


def configured() -> bool:
    return _reader() is not None


@functools.lru_cache(maxsize=65536)
def country_of(ip: str | None) -> str:
    """ISO 3166 alpha-2 code of `ip`, or "" when unknown, private, or no database is set."""
    if not ip:
        return ""
    reader = _reader()
    if reader is None:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if address.is_private or address.is_loopback:
        return ""
    try:
        record = reader.get(str(address))
    except ValueError:
        return ""
    if not isinstance(record, dict):
        return ""
    for field in ("country", "registered_country"):
        code = (record.get(field) or {}).get("iso_code")
        if isinstance(code, str) and len(code) == 2:
            return code.upper()
    return ""


def reset() -> None:
    """Forget the open database and cached answers (tests, or after the file is replaced)."""
    _reader.cache_clear()
    country_of.cache_clear()
