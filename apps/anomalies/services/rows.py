"""Reading a vendor's Web API log as LogFrame rows: plain tuples from `values_list`, read in
chunks, so a month of log (millions of rows) never becomes model instances."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Max

from apps.accounts.models import Vendor
from apps.licensing.models import WebApiLog

FIELDS = ("id", "product_id", "key", "ip", "time", "state", "machine_code", "friendly_name",
          "floating_expires", "method", "country")
CHUNK = 5000

Row = tuple


def _unix(value: dt.datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def log_rows(*, vendor: Vendor, since: dt.datetime | None = None,
             until: dt.datetime | None = None) -> Iterator[Row]:
    """The vendor's log rows with `since <= time < until`, in LogFrame.from_rows order
    (id, product_id, key, ip, unix time, state, machine code, friendly name, floating expiry
    in unix seconds or None, method, country)."""
    rows = WebApiLog.objects.for_vendor(vendor)
    if since is not None:
        rows = rows.filter(time__gte=since)
    if until is not None:
        rows = rows.filter(time__lt=until)
    for (pk, product_id, key, ip, time, state, machine_code, friendly_name, floating_expires,
         method, country) in rows.order_by().values_list(*FIELDS).iterator(chunk_size=CHUNK):
        yield (pk, product_id, key, ip or "", time.timestamp(), state, machine_code,
               friendly_name, _unix(floating_expires), method, country)


def latest_log_time(*, vendor: Vendor) -> dt.datetime | None:
    return WebApiLog.objects.for_vendor(vendor).aggregate(latest=Max("time"))["latest"]


def training_since(*, vendor: Vendor, days: int) -> dt.datetime | None:
    """Start of the training period: `days` before the vendor's newest log row (not before
    now, so that an imported historic log trains on its own last month)."""
    latest = latest_log_time(vendor=vendor)
    return None if latest is None else latest - dt.timedelta(days=days)
