"""Writing the Web API log and registered events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from apps.core.geoip import country_of
from apps.usage.models import Event, WebApiLog


@dataclass
class CallRecord:
    """What the API knows about one call, filled in as it is handled."""

    vendor_id: int
    method: str
    state: int
    token_id: int | None = None
    product_id: int | None = None
    key: str = ""
    ip: str | None = None
    machine_code: str = ""
    friendly_name: str = ""
    floating_expires: dt.datetime | None = None
    user_agent: str = ""
    do_int_value: int | None = None
    do_id: int | None = None
    country: str = ""  # from the GeoIP database when empty
    written: bool = False  # already stored (the PostgreSQL fast path logs in its own query)


def web_api_log_write(record: CallRecord) -> WebApiLog:
    """One INSERT, in the request's own autocommit: nothing is buffered, so nothing is lost."""
    return WebApiLog.objects.create(
        vendor_id=record.vendor_id, method=record.method[:64], state=record.state,
        token_id=record.token_id, product_id=record.product_id, key=record.key[:64],
        ip=record.ip, machine_code=record.machine_code[:128],
        friendly_name=record.friendly_name[:255], floating_expires=record.floating_expires,
        user_agent=record.user_agent[:255], do_int_value=record.do_int_value,
        do_id=record.do_id, country=record.country or country_of(record.ip),
    )


def event_register(*, vendor_id: int, product_id: int | None, key: str, machine_code: str,
                   feature_name: str, event_name: str, value: int, currency: str,
                   metadata: str) -> Event:
    return Event.objects.create(
        vendor_id=vendor_id, product_id=product_id, key=key, machine_code=machine_code,
        feature_name=feature_name, event_name=event_name, value=value, currency=currency,
        metadata=metadata,
    )
