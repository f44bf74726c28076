"""Usage analytics over the Web API log, as Cryptolens' ai/GetDailyAggregates,
GetDailyCountryAggregates, GetKeyUsageSummaries, GetKeyDevices and GetLicenseActivityBuckets
answer them (app.cryptolens.io/docs/api/v3/<method> and model/<Model> pages; the Python client
`licensing` 0.54, class AI). Read-only; one GROUP BY statement per call over the rows the caller
has already narrowed (vendor, token locks, product, key, time range), so the (vendor, time)
and (vendor, product_id, key) indexes of the log serve the WHERE clause.

Ids. Cryptolens keeps these as tables updated asynchronously and pages them by id. The portal
computes them from the log when asked, so an aggregate's id is **the id of the first log row it
counts** (MIN(id) of its group): unique, because each row belongs to one group; stable, because
the log is append-only (only retention, which deletes whole old days, can change it); and a
group that appears later gets a higher id, so polling with StartingAfter finds new days, keys,
devices and buckets. Results run by id ascending, or descending with EndingBefore (which wins
when both cursors are given), as the documentation says.

Successful / failed: the third digit of the state code, 1 or 2 (`state % 100 // 10`), the rule
of the documentation and of Cryptolens' reporting-tools/DataAnalysis. Rows without a product
(calls that named none) belong to no product's aggregate. Machine codes are normalized as the
model/LicenseActivityBucket page says (trimmed, upper case; the log keeps at most 128
characters, so no truncation is needed; control characters are not removed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Max, QuerySet
from django.db.models.functions import Trim, Upper

from apps.usage.sql import epoch, fetch, unix

BUCKET_SECONDS = 1800  # model/LicenseActivityBucket: 30-minute UTC intervals
REFRESH_STATES = (2010, 2011, 2012, 2013, 2014, 2015)
DEACTIVATION_STATES = (6010, 6011)
EPOCH_DAY = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Page:
    """Cursor and size of one call: EndingBefore wins over StartingAfter."""

    limit: int = 100
    after: int = 0
    before: int = 0

    def sql(self, alias: str = "g") -> tuple[str, tuple, str]:
        if self.before:
            return f"{alias}.id < %s", (self.before,), f"{alias}.id DESC"
        if self.after:
            return f"{alias}.id > %s", (self.after,), f"{alias}.id ASC"
        return "1 = 1", (), f"{alias}.id ASC"


def normalized_machine_code(value: str) -> str:
    return value.strip().upper()


def _rows(rows: QuerySet) -> tuple[str, tuple]:
    """A WITH entry `r` of the narrowed log rows: id, vendor_id, product_id, lkey, mc (normalized),
    state, outcome (1 success, 2 failure), country, method, t (Unix seconds)."""
    inner, params = rows.order_by().values_list(
        "id", "vendor_id", "product_id", "key", "machine_code", "state", "country", "method",
        "time",
    ).query.sql_with_params()
    return (f"""r AS (SELECT raw.id AS id, raw.vendor_id AS vendor_id, raw.product_id AS product_id,
        raw.key AS lkey,
        UPPER(TRIM(raw.machine_code)) AS mc, raw.state AS state,
        (raw.state %% 100) / 10 AS outcome, raw.country AS country, raw.method AS method,
        {epoch('raw.time')} AS t FROM ({inner}) raw)""", tuple(params))  # noqa: S608


def _day(number: int) -> str:
    return (EPOCH_DAY + dt.timedelta(days=int(number))).isoformat()


# A log row names its product by a plain id (the log outlives products): the key is the one
# of that product *of the row's vendor*, never another vendor's key of the same id and string.
_KEY_JOIN = ("LEFT JOIN licensing_product p "
             "ON p.id = {0}.product_id AND p.vendor_id = {0}.vendor_id "
             "LEFT JOIN licensing_licensekey k ON k.product_id = p.id AND k.key = {0}.lkey")


def daily_aggregates(rows: QuerySet, page: Page) -> list[dict[str, Any]]:
    """One aggregate per product and UTC day (model/DailyAggregate). activeDevices and
    activeKeys: distinct machine codes and keys with a call that day; activeCustomers:
    distinct customers of those keys."""
    cte, params = _rows(rows)
    where, cursor, order = page.sql()
    sql = f"""WITH {cte},
    g AS (SELECT MIN(r.id) AS id, r.product_id AS product_id, r.t / 86400 AS day,
        COUNT(*) AS total, SUM(CASE WHEN r.outcome = 1 THEN 1 ELSE 0 END) AS ok,
        SUM(CASE WHEN r.outcome = 2 THEN 1 ELSE 0 END) AS failed,
        COUNT(DISTINCT CASE WHEN r.mc <> '' THEN r.mc END) AS devices,
        COUNT(DISTINCT CASE WHEN r.lkey <> '' THEN r.lkey END) AS lkeys,
        COUNT(DISTINCT k.customer_id) AS customers
        FROM r {_KEY_JOIN.format('r')}
        WHERE r.product_id IS NOT NULL GROUP BY r.product_id, r.t / 86400)
    SELECT id, product_id, day, total, ok, failed, devices, lkeys, customers FROM g
    WHERE {where} ORDER BY {order} LIMIT %s"""  # noqa: S608
    return [{"id": pk, "productId": product_id, "date": _day(day),
             "totalRequestsLogged": total, "successful": ok, "failed": failed,
             "activeDevices": devices, "activeKeys": lkeys, "activeCustomers": customers}
            for pk, product_id, day, total, ok, failed, devices, lkeys, customers
            in fetch(sql, (*params, *cursor, page.limit))]


def daily_country_aggregates(rows: QuerySet, page: Page) -> list[dict[str, Any]]:
    """One aggregate per product, UTC day and country (model/DailyCountryAggregate); calls
    whose country is unknown are left out, as the documentation says."""
    cte, params = _rows(rows)
    where, cursor, order = page.sql()
    sql = f"""WITH {cte},
    g AS (SELECT MIN(r.id) AS id, r.product_id AS product_id, r.t / 86400 AS day,
        r.country AS country, COUNT(*) AS total,
        SUM(CASE WHEN r.outcome = 1 THEN 1 ELSE 0 END) AS ok,
        SUM(CASE WHEN r.outcome = 2 THEN 1 ELSE 0 END) AS failed
        FROM r WHERE r.product_id IS NOT NULL AND r.country <> ''
        GROUP BY r.product_id, r.t / 86400, r.country)
    SELECT id, product_id, day, country, total, ok, failed FROM g
    WHERE {where} ORDER BY {order} LIMIT %s"""  # noqa: S608
    return [{"id": pk, "productId": product_id, "date": _day(day), "countryCode": country,
             "totalRequests": total, "successful": ok, "failed": failed}
            for pk, product_id, day, country, total, ok, failed
            in fetch(sql, (*params, *cursor, page.limit))]


# model/KeyUsageSummary's counters. The page names them and says "ActivationSuccess counts
# activation states 2010-2019, ActivationFailed 2020-2029"; its exact table of the others was
# not available, so they map to this portal's states (apps/usage/states.py) and method names:
# a new device is 2011 or 2012, floating 2014 or 2015, the device limit 2021 or 2024. The portal
# logs no separate state for a trial activation or a reused trial key, so those stay 0.
SUMMARY_COUNTERS: tuple[tuple[str, str], ...] = (
    ("activationSuccess", "r.state BETWEEN 2010 AND 2019"),
    ("activationFailed", "r.state BETWEEN 2020 AND 2029"),
    ("deactivationSuccess", "r.state = 6010"),
    ("deactivationFloating", "r.state = 6011"),
    ("activationNewMachine", "r.state IN (2011, 2012)"),
    ("activationTrial", "1 = 0"),
    ("activationFloating", "r.state IN (2014, 2015)"),
    ("activationDeviceLimit", "r.state IN (2021, 2024)"),
    ("trialKeyGenerated", "r.state = 3011"),
    ("trialKeyReused", "1 = 0"),
    ("trialKeyCreateError", "r.state = 3020 AND r.method = 'key.CreateTrialKey'"),
    ("dataObjectOps", "r.state BETWEEN 8000 AND 8099"),
    ("dataObjectIncrementInt", "r.method LIKE 'data.IncrementIntValue%%'"),
    ("dataObjectDecrementInt", "r.method LIKE 'data.DecrementIntValue%%'"),
    ("dataObjectSetInt", "r.method LIKE 'data.SetIntValue%%'"),
    ("dataObjectSetString", "r.method LIKE 'data.SetStringValue%%'"),
)


def key_usage_summaries(rows: QuerySet, page: Page, *, seen_from: int | None = None,
                        seen_until: int | None = None) -> list[dict[str, Any]]:
    """Lifetime totals per key (model/KeyUsageSummary). `seen_from`: keys last seen at or after
    it (Start); `seen_until`: keys first seen before it (the day after End)."""
    cte, params = _rows(rows)
    where, cursor, order = page.sql()
    counters = ",\n".join(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS c{n}"
                          for n, (_, cond) in enumerate(SUMMARY_COUNTERS))
    having, having_params = _seen(seen_from, seen_until)
    sql = f"""WITH {cte},
    g AS (SELECT MIN(r.id) AS id, r.vendor_id AS vendor_id, r.product_id AS product_id,
        r.lkey AS lkey, COUNT(*) AS total, SUM(CASE WHEN r.outcome = 1 THEN 1 ELSE 0 END) AS ok,
        SUM(CASE WHEN r.outcome = 2 THEN 1 ELSE 0 END) AS failed,
        MIN(r.t) AS first_t, MAX(r.t) AS last_t, {counters}
        FROM r WHERE r.product_id IS NOT NULL AND r.lkey <> ''
        GROUP BY r.vendor_id, r.product_id, r.lkey HAVING {having})
    SELECT g.id, g.product_id, g.lkey, g.total, g.ok, g.failed, g.first_t, g.last_t,
        {", ".join(f"g.c{n}" for n in range(len(SUMMARY_COUNTERS)))}, k.id
    FROM g {_KEY_JOIN.format('g')}
    WHERE {where} ORDER BY {order} LIMIT %s"""  # noqa: S608
    result = []
    for pk, product_id, lkey, total, ok, failed, first_t, last_t, *rest in fetch(
            sql, (*params, *having_params, *cursor, page.limit)):
        *counts, key_id = rest
        result.append({"id": pk, "productId": product_id, "keyId": key_id or 0, "key": lkey,
                       "totalRequests": total, "totalSuccessful": ok, "totalFailed": failed,
                       "firstSeenUtc": first_t, "lastSeenUtc": last_t,
                       **{name: count for (name, _), count in zip(SUMMARY_COUNTERS, counts,
                                                                   strict=True)}})
    return result


def _seen(seen_from: int | None, seen_until: int | None) -> tuple[str, tuple]:
    conditions, params = ["1 = 1"], []
    if seen_from is not None:
        conditions.append("MAX(r.t) >= %s")
        params.append(seen_from)
    if seen_until is not None:
        conditions.append("MIN(r.t) < %s")
        params.append(seen_until)
    return " AND ".join(conditions), tuple(params)


def key_devices(rows: QuerySet, page: Page, *, machine_code: str = "",
                seen_from: int | None = None, seen_until: int | None = None
                ) -> list[dict[str, Any]]:
    """Per key and (normalized) machine code: first and last call, number of calls
    (model/KeyDevice). Only calls with a machine code count, as the documentation says."""
    cte, params = _rows(rows)
    where, cursor, order = page.sql()
    having, having_params = _seen(seen_from, seen_until)
    device = "AND r.mc = %s" if machine_code else ""
    device_params = (normalized_machine_code(machine_code),) if machine_code else ()
    sql = f"""WITH {cte},
    g AS (SELECT MIN(r.id) AS id, r.vendor_id AS vendor_id, r.product_id AS product_id,
        r.lkey AS lkey, r.mc AS mc, MIN(r.t) AS first_t, MAX(r.t) AS last_t, COUNT(*) AS total
        FROM r WHERE r.product_id IS NOT NULL AND r.lkey <> '' AND r.mc <> '' {device}
        GROUP BY r.vendor_id, r.product_id, r.lkey, r.mc HAVING {having})
    SELECT g.id, g.product_id, k.id, g.lkey, g.mc, g.first_t, g.last_t, g.total
    FROM g {_KEY_JOIN.format('g')} WHERE {where} ORDER BY {order} LIMIT %s"""  # noqa: S608
    return [{"id": pk, "productId": product_id, "keyId": key_id or 0, "key": lkey,
             "machineCode": mc, "firstSeenUtc": first_t, "lastSeenUtc": last_t,
             "totalRequests": total}
            for pk, product_id, key_id, lkey, mc, first_t, last_t, total
            in fetch(sql, (*params, *device_params, *having_params, *cursor, page.limit))]


def license_activity_buckets(rows: QuerySet, page: Page, *, machine_code: str = "",
                             earlier: QuerySet | None = None) -> list[dict[str, Any]]:
    """30-minute buckets per key and normalized machine code of activations (states
    2010-2015) and deactivations (6010, 6011) (model/LicenseActivityBucket). `rows` must be
    narrowed to those states. `earlier`: the same scope's rows before the range asked for,
    where the gap of a range's first bucket is measured to."""
    cte, params = _rows(rows)
    where, cursor, order = page.sql()
    device = "AND r.mc = %s" if machine_code else ""
    device_params = (normalized_machine_code(machine_code),) if machine_code else ()
    bucket = f"r.t - (r.t %% {BUCKET_SECONDS})"
    partition = "r.vendor_id, r.product_id, r.lkey, r.mc"
    sql = f"""WITH {cte},
    e AS (SELECT r.id, r.vendor_id, r.product_id, r.lkey, r.mc, r.state, r.t,
        {bucket} AS bucket,
        ROW_NUMBER() OVER (PARTITION BY {partition}, {bucket} ORDER BY r.t DESC, r.id DESC)
            AS rn_last,
        ROW_NUMBER() OVER (PARTITION BY {partition}, {bucket} ORDER BY r.t, r.id) AS rn_first,
        LAG(r.t) OVER (PARTITION BY {partition} ORDER BY r.t, r.id) AS prev_t
        FROM r WHERE r.product_id IS NOT NULL {device}),
    g AS (SELECT MIN(e.id) AS id, e.vendor_id AS vendor_id, e.product_id AS product_id,
        e.lkey AS lkey, e.mc AS mc, e.bucket AS bucket,
        SUM(CASE WHEN e.state BETWEEN 2010 AND 2015 THEN 1 ELSE 0 END) AS refresh,
        SUM(CASE WHEN e.state IN (6010, 6011) THEN 1 ELSE 0 END) AS deact,
        MIN(e.t) AS first_t, MAX(e.t) AS last_t,
        MAX(CASE WHEN e.rn_last = 1 THEN e.state END) AS last_state,
        MAX(CASE WHEN e.rn_first = 1 THEN e.t - e.prev_t END) AS gap
        FROM e GROUP BY e.vendor_id, e.product_id, e.lkey, e.mc, e.bucket)
    SELECT g.id, g.product_id, k.id, g.lkey, g.mc, g.bucket, g.refresh, g.deact, g.first_t,
        g.last_t, g.last_state, g.gap
    FROM g {_KEY_JOIN.format('g')} WHERE {where} ORDER BY {order} LIMIT %s"""  # noqa: S608
    buckets = [{"id": pk, "productId": product_id, "keyId": key_id or 0, "key": lkey,
                "machineCode": mc, "bucketStartUtc": start, "refreshCount": refresh,
                "deactivationCount": deact, "firstEventUtc": first_t, "lastEventUtc": last_t,
                "lastEventState": last_state, "gapFromPreviousEventSeconds": gap}
               for (pk, product_id, key_id, lkey, mc, start, refresh, deact, first_t, last_t,
                    last_state, gap)
               in fetch(sql, (*params, *device_params, *cursor, page.limit))]
    if earlier is not None:
        _gaps_before_range(buckets, earlier)
    return buckets


def _gaps_before_range(buckets: list[dict[str, Any]], earlier: QuerySet) -> None:
    """A bucket without a gap is the first of its key and device in the range: its previous
    event, if any, lies before the range. One grouped read for the keys on the page."""
    open_ = [b for b in buckets if b["gapFromPreviousEventSeconds"] is None]
    if not open_:
        return
    last = (earlier.filter(product_id__in={b["productId"] for b in open_},
                           key__in={b["key"] for b in open_})
            .annotate(mc=Upper(Trim("machine_code"))).order_by()
            .values_list("product_id", "key", "mc").annotate(last=Max("time")))
    previous = {(product_id, key, mc): unix(when) for product_id, key, mc, when in last}
    for b in open_:
        when = previous.get((b["productId"], b["key"], b["machineCode"]))
        if when is not None:
            b["gapFromPreviousEventSeconds"] = b["firstEventUtc"] - when
