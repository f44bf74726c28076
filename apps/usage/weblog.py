"""Writing the Web API log and registered events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from apps.core.geoip import country_of
from apps.core.pipeline import Statement, run
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


# The log row as every API call writes it, on PostgreSQL: a prepared statement (see
# apps.core.pipeline), which costs a fraction of the ORM's building of an INSERT.
_INSERT = Statement("""
INSERT INTO licensing_webapilog (vendor_id, time, method, state, token_id, product_id, key, ip,
    machine_code, friendly_name, floating_expires, user_agent, do_int_value, do_id, country)
VALUES (%(vendor_id)s, %(time)s, %(method)s, %(state)s, %(token_id)s, %(product_id)s, %(key)s,
    %(ip)s, %(machine_code)s, %(friendly_name)s, %(floating_expires)s, %(user_agent)s,
    %(do_int_value)s, %(do_id)s, %(country)s)
RETURNING id
""", {"vendor_id": "bigint", "time": "timestamptz", "method": "text", "state": "integer",
      "token_id": "bigint", "product_id": "bigint", "key": "text", "ip": "inet",
      "machine_code": "text", "friendly_name": "text", "floating_expires": "timestamptz",
      "user_agent": "text", "do_int_value": "bigint", "do_id": "bigint", "country": "text"})


def web_api_log_write(record: CallRecord) -> None:
    """One INSERT, in the request's own autocommit (or the change's transaction): nothing is
    buffered, so nothing is lost."""
    values = {
        "vendor_id": record.vendor_id, "time": timezone.now(), "method": record.method[:64],
        "state": record.state,
        "token_id": record.token_id, "product_id": record.product_id, "key": record.key[:64],
        "ip": record.ip, "machine_code": record.machine_code[:128],
        "friendly_name": record.friendly_name[:255],
        "floating_expires": record.floating_expires, "user_agent": record.user_agent[:255],
        "do_int_value": record.do_int_value, "do_id": record.do_id,
        "country": record.country or country_of(record.ip),
    }
    if connection.vendor != "postgresql":
        WebApiLog.objects.create(**values)
        return
    _, committed = run(_INSERT, values)
    committed()


def event_register(*, vendor_id: int, product_id: int | None, key: str, machine_code: str,
                   feature_name: str, event_name: str, value: int, currency: str,
                   metadata: str) -> Event:
    return Event.objects.create(
        vendor_id=vendor_id, product_id=product_id, key=key, machine_code=machine_code,
        feature_name=feature_name, event_name=event_name, value=value, currency=currency,
        metadata=metadata,
    )
