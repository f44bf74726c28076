"""Usage reports over the Web API log and the catalogue, aggregated by the database.

Scope: a vendor, optionally narrowed to a product and/or a list of (product id, key) pairs
(one key, or a customer's keys). Buckets are UTC days or months."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDay, TruncMonth

from apps.accounts.models import Vendor
from apps.licensing.models import LicenseKey
from apps.reports.products import product_labels
from apps.reports.scope import narrowed
from apps.usage.models import WebApiLog
from apps.usage.sql import as_cte, fetch, report_session

# Successful activations (a device holds or takes a seat) and successful key reads.
ACTIVATED = Q(state__gte=2010, state__lt=2020)
VERIFIED_OK = Q(state__gte=1010, state__lt=1020) | ACTIVATED
VERIFIED_FAILED = Q(state__gte=1020, state__lt=1030) | Q(state__gte=2020, state__lt=2030)
VERIFICATIONS = VERIFIED_OK | VERIFIED_FAILED
TRUNC = {"day": TruncDay, "month": TruncMonth}
TOP = 20


@dataclass
class Scope:
    vendor: Vendor
    start: dt.datetime
    end: dt.datetime
    product_id: int | None = None
    keys: list[tuple[int, str]] | None = None  # None: every key of the scope

    def log(self) -> QuerySet:
        return narrowed(WebApiLog.objects.filter(vendor=self.vendor, time__gte=self.start,
                                                 time__lt=self.end),
                        product_id=self.product_id, keys=self.keys)

    def license_keys(self) -> QuerySet:
        return narrowed(LicenseKey.objects.filter(product__vendor=self.vendor),
                        product_id=self.product_id, keys=self.keys)


def _series(rows: QuerySet, field: str, resolution: str, value) -> dict[dt.date, int]:
    bucketed = (rows.annotate(bucket=TRUNC[resolution](field, tzinfo=dt.UTC))
                .values("bucket").annotate(n=value).order_by("bucket"))
    return {row["bucket"].date() if isinstance(row["bucket"], dt.datetime) else row["bucket"]:
            row["n"] for row in bucketed}


def _distinct_per_bucket(rows: QuerySet, resolution: str, *fields: str) -> dict[dt.date, int]:
    """How many distinct `fields` tuples each bucket has. DISTINCT first, then a count per
    bucket: PostgreSQL hashes the distinct rows, where COUNT(DISTINCT ...) per group sorts."""
    distinct = (rows.annotate(bucket=TRUNC[resolution]("time", tzinfo=dt.UTC)).order_by()
                .values_list("bucket", *fields).distinct())
    inner, params = as_cte(distinct)
    with report_session():
        counted = fetch(f"SELECT bucket, COUNT(*) FROM ({inner}) d GROUP BY bucket", params)  # noqa: S608
    return {_date(bucket): n for bucket, n in counted}


def _date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):  # SQLite hands raw SQL results back as text
        return dt.date.fromisoformat(value[:10])
    return value


def active_devices(scope: Scope, resolution: str = "day") -> dict[dt.date, int]:
    """Distinct machine codes with a successful activation (heartbeats included) per bucket."""
    rows = scope.log().filter(ACTIVATED).exclude(machine_code="")
    return _distinct_per_bucket(rows, resolution, "machine_code")


def end_users(scope: Scope) -> dict[dt.date, int]:
    """Distinct (key, machine code) pairs with a successful activation, per month."""
    rows = scope.log().filter(ACTIVATED).exclude(machine_code="")
    return _distinct_per_bucket(rows, "month", "product_id", "key", "machine_code")


def new_keys(scope: Scope) -> dict[dt.date, int]:
    rows = scope.license_keys().filter(created__gte=scope.start, created__lt=scope.end)
    return _series(rows, "created", "month", Count("id"))


def verification_by_key(scope: Scope, *, worst_first: bool = True) -> list[dict]:
    """Per key of the catalogue: verification calls (key reads and activations), successes,
    failures, ratio. Keys that do not exist always fail; top_failing_keys lists those."""
    grouped = (scope.log().filter(VERIFICATIONS).values("product_id", "key")
               .annotate(total=Count("id"), ok=Count("id", filter=VERIFIED_OK)).order_by())
    inner, params = as_cte(grouped)
    # Group first, then keep the keys of the catalogue: one join per key, not per row.
    with report_session():
        rows = fetch(f"""SELECT g.product_id, g.key, g.total, g.ok FROM ({inner}) g
            JOIN licensing_licensekey k ON k.product_id = g.product_id AND k.key = g.key
            JOIN licensing_product p ON p.id = k.product_id AND p.vendor_id = %s""",  # noqa: S608
                     (*params, scope.vendor.pk))
    labels = product_labels(vendor=scope.vendor, ids={product_id for product_id, *_ in rows})
    result = [{"product_id": product_id, "product": labels[product_id], "key": key,
               "total": total, "ok": ok, "failed": total - ok,
               "ratio": ok / total if total else 0.0}
              for product_id, key, total, ok in rows]
    result.sort(key=lambda r: (r["ratio"], -r["total"]) if worst_first
                else (-r["total"], r["key"]))
    return result


def top_failing_keys(scope: Scope, limit: int = TOP) -> list[dict]:
    """Keys with the most failed calls; keys that do not exist (mistyped or guessed) included,
    marked as unknown."""
    rows = list(scope.log().filter(VERIFIED_FAILED).values("product_id", "key")
                .annotate(failed=Count("id"), ips=Count("ip", distinct=True),
                          machines=Count("machine_code", distinct=True))
                .order_by("-failed", "key")[:limit])
    known = set(LicenseKey.objects.filter(
        product__vendor=scope.vendor, product_id__in={r["product_id"] for r in rows},
        key__in={r["key"] for r in rows}).values_list("product_id", "key"))
    labels = product_labels(vendor=scope.vendor, ids={r["product_id"] for r in rows})
    for row in rows:
        row["known"] = (row["product_id"], row["key"]) in known
        row["product"] = labels[row["product_id"]]
    return rows


def has_countries(scope: Scope) -> bool:
    return scope.log().exclude(country="").exists()


def activations_by_country(scope: Scope) -> list[tuple[str, int]]:
    """Successful activations per country code ('' = unknown), most first."""
    rows = scope.log().filter(ACTIVATED).values("country").annotate(n=Count("id")).order_by()
    counted = [(row["country"], row["n"]) for row in rows]  # one row per country
    return sorted(counted, key=lambda item: (item[0] == "", -item[1], item[0]))
