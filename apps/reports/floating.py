"""Floating seat usage: how many floating seats were held at each moment, from the Web API
log (so it also covers keys since deleted and logs imported from Cryptolens).

The log's floating calls are first condensed into sessions (one row per seat held, see
sessions.py; brought up to date by the beat task and the explicit catch-up, never by a
report, which only reads). Concurrency is then a running
sum of +1 (session start) and -1 (session end) over time, computed once per report into a
scratch table by window functions, and aggregated from there per time bucket and per key.
Activations refused because every seat was taken are state 2024, counted from the log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from apps.accounts.models import Vendor
from apps.licensing.models import LicenseKey
from apps.reports.products import ProductLabel, product_labels
from apps.reports.scope import narrowed
from apps.usage import states
from apps.usage.models import FloatingSession, WebApiLog
from apps.usage.sessions import floating_sessions_condensed_until
from apps.usage.sql import as_cte, epoch, fetch, from_unix, scratch_table, unix

RESOLUTIONS = {"hour": 3600, "day": 86400}
MAX_CHANGES = 5000  # the exact step series is kept for charts of one key; beyond, buckets only

_LEVELS = """
WITH seats (product_id, lkey, start_t, end_t, od) AS ({inner}),
d AS (
    SELECT product_id, lkey, start_t AS t, 1 AS delta,
           CASE WHEN od THEN 1 ELSE 0 END AS od FROM seats
    UNION ALL
    SELECT product_id, lkey, end_t, -1, CASE WHEN od THEN 1 ELSE 0 END FROM seats
),
lv AS (
    SELECT d.*,
        SUM(delta) OVER (ORDER BY t, delta, product_id, lkey ROWS UNBOUNDED PRECEDING) AS lvl,
        SUM(delta) OVER (PARTITION BY product_id, lkey ORDER BY t, delta
                         ROWS UNBOUNDED PRECEDING) AS key_lvl,
        LEAD(t) OVER (PARTITION BY product_id, lkey ORDER BY t, delta) AS key_next
    FROM d
)
SELECT * FROM lv
"""

# Per bucket (and one "before the range" bucket, -1): net change and highest level reached.
_BUCKETS = """
SELECT CASE WHEN t < %s THEN -1 ELSE t - (t %% {width}) END AS bucket,
       SUM(delta), MAX(lvl)
FROM {table} lv WHERE t < %s GROUP BY 1 ORDER BY 1
"""

# Per key: peak inside the range, seconds at or over the key's limit, seats started (of them
# in overdraft).
_KEYS = """
SELECT lv.product_id, lv.lkey, COALESCE(MAX(k.max_no_of_machines), 0),
    MAX(CASE WHEN t < %s AND key_next > %s AND key_next > t THEN key_lvl ELSE 0 END),
    SUM(CASE WHEN k.max_no_of_machines > 0 AND key_lvl >= k.max_no_of_machines
                  AND t < %s AND key_next > %s
             THEN (CASE WHEN key_next < %s THEN key_next ELSE %s END)
                  - (CASE WHEN t > %s THEN t ELSE %s END)
             ELSE 0 END),
    SUM(CASE WHEN delta = 1 AND t >= %s AND t < %s THEN 1 ELSE 0 END),
    SUM(CASE WHEN delta = 1 AND od = 1 AND t >= %s AND t < %s THEN 1 ELSE 0 END)
FROM {table} lv LEFT JOIN licensing_product p ON p.id = lv.product_id AND p.vendor_id = %s
LEFT JOIN licensing_licensekey k ON k.product_id = p.id AND k.key = lv.lkey
GROUP BY lv.product_id, lv.lkey ORDER BY lv.product_id, lv.lkey
"""

_CHANGES = "SELECT t, SUM(delta) FROM {table} lv GROUP BY t ORDER BY t"


@dataclass
class KeyUsage:
    product_id: int | None
    key: str
    limit: int
    peak: int
    seconds_at_or_over_limit: int
    seats_started: int
    overdraft_seats_started: int  # seats taken beyond the limit (state 2015)
    denied: int = 0  # activations refused because every seat was taken (2024)
    product: ProductLabel | None = None  # the product's name, or "Unknown product 3105"

    @property
    def overdraft_used(self) -> int:
        """Most seats held beyond the limit at one time."""
        return max(0, self.peak - self.limit) if self.limit else 0


@dataclass
class FloatingUsage:
    start: dt.datetime
    end: dt.datetime
    resolution: str
    buckets: list[dt.datetime] = field(default_factory=list)
    peak: list[int] = field(default_factory=list)  # highest concurrent seats in each bucket
    denied: list[int] = field(default_factory=list)  # refused activations (2024) per bucket
    keys: list[KeyUsage] = field(default_factory=list)
    changes: list[tuple[dt.datetime, int]] | None = None  # exact step series (one key only)
    condensed_until: dt.datetime | None = None  # sessions include the log up to this time

    @property
    def peak_overall(self) -> int:
        return max(self.peak, default=0)

    @property
    def denied_total(self) -> int:
        return sum(self.denied)

    @property
    def seconds_at_or_over_limit(self) -> int:
        return sum(k.seconds_at_or_over_limit for k in self.keys)

    @property
    def overdraft_used(self) -> int:
        return max((k.overdraft_used for k in self.keys), default=0)


_DENIED = """
WITH ev (product_id, lkey, t0) AS ({inner})
SELECT {t} - ({t} %% {width}) AS bucket, product_id, lkey, COUNT(*) FROM ev GROUP BY 1, 2, 3
"""


def floating_usage(*, vendor: Vendor, start: dt.datetime, end: dt.datetime,
                   product_id: int | None = None, keys: list[tuple[int, str]] | None = None,
                   resolution: str = "hour") -> FloatingUsage:
    """Concurrent floating seats of `vendor`'s keys in [start, end), optionally only one
    product's or only the given (product id, key) pairs (a key, or a customer's keys)."""
    width = RESOLUTIONS[resolution]
    s, e = unix(start), unix(end)
    # Read only: the sessions are condensed by the beat task and by the explicit catch-up
    # (floating_sessions_refresh), never by a report.
    usage = FloatingUsage(start=start, end=end, resolution=resolution,
                          condensed_until=floating_sessions_condensed_until(vendor=vendor))
    log = narrowed(WebApiLog.objects.filter(vendor=vendor), product_id=product_id, keys=keys)
    # Sessions that overlap the range; those that began earlier count from its start.
    held = narrowed(FloatingSession.objects.filter(vendor=vendor), product_id=product_id,
                    keys=keys).filter(
        start_t__lt=e, end_t__gt=s).order_by()
    inner, params = as_cte(held.values_list("product_id", "key", "start_t", "end_t",
                                            "overdraft"))
    # The seat levels are computed once into a scratch table, then aggregated three ways.
    with scratch_table(_LEVELS.format(inner=inner), params) as table:
        buckets = fetch(_BUCKETS.format(width=width, table=table), (s, e))
        key_rows = fetch(_KEYS.format(table=table),
                         (e, s, e, s, e, e, s, s, s, e, s, e, vendor.pk))
        changes = (fetch(_CHANGES.format(table=table), ())
                   if keys is not None and len(keys) == 1 else None)
    denied = _denied(log, start, end, width)
    _fill_buckets(usage, buckets, denied, s, e, width)
    # int(): PostgreSQL sums bigints as numeric (Decimal in Python).
    usage.keys = [KeyUsage(product_id, key, int(limit), int(peak or 0), int(at_limit or 0),
                           int(started or 0), int(od_started or 0),
                           denied.get((product_id, key), {}).get("total", 0))
                  for product_id, key, limit, peak, at_limit, started, od_started in key_rows
                  if peak or started]  # seats of the look-back that ended before the range
    _add_denied_only_keys(usage, denied)
    labels = product_labels(vendor=vendor, ids={k.product_id for k in usage.keys})
    for key_usage in usage.keys:
        key_usage.product = labels[key_usage.product_id]
    if changes is not None and len(changes) <= MAX_CHANGES:
        usage.changes = _step_series(changes, s, e)
    return usage


def _denied(log, start: dt.datetime, end: dt.datetime, width: int) -> dict:
    """Refused floating activations per (product, key): per bucket and in total."""
    rows = log.filter(state=states.ACTIVATION_FLOATING_LIMIT, time__gte=start,
                      time__lt=end).order_by()
    inner, params = as_cte(rows.values_list("product_id", "key", "time"))
    found: dict = {}
    for bucket, product_id, key, count in fetch(
            _DENIED.format(inner=inner, t=epoch("t0"), width=width), params):
        entry = found.setdefault((product_id, key), {"total": 0})
        entry["total"] += count
        entry[bucket] = entry.get(bucket, 0) + count
    return found


def _fill_buckets(usage: FloatingUsage, rows: list[tuple], denied: dict, s: int, e: int,
                  width: int) -> None:
    """One entry per bucket of the range, carrying the seat level across quiet buckets."""
    # (net change, highest level reached) per bucket.
    by_bucket: dict[int, tuple[int, int | None]] = {
        int(bucket): (int(net), None if highest is None else int(highest))
        for bucket, net, highest in rows}
    level = by_bucket[-1][0] if -1 in by_bucket else 0
    bucket = s - s % width
    while bucket < e:
        net, highest = by_bucket.get(bucket, (0, None))
        usage.buckets.append(from_unix(bucket))
        usage.peak.append(max(level, highest if highest is not None else level))
        usage.denied.append(sum(d.get(bucket, 0) for d in denied.values()))
        level += net
        bucket += width


def _add_denied_only_keys(usage: FloatingUsage, denied: dict) -> None:
    """Keys whose every activation in the range was refused still belong in the table."""
    listed = {(k.product_id, k.key) for k in usage.keys}
    missing = [pair for pair in denied if pair not in listed]
    limits = dict(((p, k), n) for p, k, n in LicenseKey.objects.filter(
        product_id__in={p for p, _ in missing}, key__in={k for _, k in missing}
    ).values_list("product_id", "key", "max_no_of_machines")) if missing else {}
    for product_id, key in missing:
        usage.keys.append(KeyUsage(product_id, key, limits.get((product_id, key), 0), 0, 0, 0,
                                   0, denied[(product_id, key)]["total"]))
    usage.keys.sort(key=lambda k: (-k.peak, -k.denied, k.key))


def _step_series(changes: list[tuple[int, int]], s: int, e: int
                 ) -> list[tuple[dt.datetime, int]]:
    """The level after each instant at which it changes inside [s, e), starting at s."""
    level = sum(net for t, net in changes if t < s)
    series = [(s, level)]
    for t, net in changes:
        if t < s or not net:
            continue
        if t >= e:
            break
        level += net
        if series[-1][0] == t:
            series[-1] = (t, level)
        else:
            series.append((t, level))
    return [(from_unix(t), value) for t, value in series]
