"""Usage reports over the Web API log and the catalogue, aggregated by the database.

Scope: a vendor, optionally narrowed to a product and/or a list of (product id, key) pairs
(one key, or a customer's keys). Buckets are UTC days or months."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Concat, TruncDay, TruncMonth

from apps.accounts.models import Vendor

from ..models import LicenseKey, WebApiLog

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
        rows = WebApiLog.objects.filter(vendor=self.vendor, time__gte=self.start,
                                        time__lt=self.end)
        if self.product_id is not None:
            rows = rows.filter(product_id=self.product_id)
        if self.keys is not None:
            rows = rows.filter(product_id__in={p for p, _ in self.keys},
                               key__in={k for _, k in self.keys})
        return rows

    def license_keys(self) -> QuerySet:
        keys = LicenseKey.objects.filter(product__vendor=self.vendor)
        if self.product_id is not None:
            keys = keys.filter(product_id=self.product_id)
        if self.keys is not None:
            keys = keys.filter(product_id__in={p for p, _ in self.keys},
                               key__in={k for _, k in self.keys})
        return keys


def _series(rows: QuerySet, field: str, resolution: str, value) -> dict[dt.date, int]:
    bucketed = (rows.annotate(bucket=TRUNC[resolution](field, tzinfo=dt.UTC))
                .values("bucket").annotate(n=value).order_by("bucket"))
    return {row["bucket"].date() if isinstance(row["bucket"], dt.datetime) else row["bucket"]:
            row["n"] for row in bucketed}


def active_devices(scope: Scope, resolution: str = "day") -> dict[dt.date, int]:
    """Distinct machine codes with a successful activation (heartbeats included) per bucket."""
    rows = scope.log().filter(ACTIVATED).exclude(machine_code="")
    return _series(rows, "time", resolution, Count("machine_code", distinct=True))


def end_users(scope: Scope) -> dict[dt.date, int]:
    """Distinct (key, machine code) pairs with a successful activation, per month."""
    rows = scope.log().filter(ACTIVATED).exclude(machine_code="")
    pair = Concat(F("product_id"), Value(":"), F("key"), Value(":"), F("machine_code"))
    return _series(rows, "time", "month", Count(pair, distinct=True))


def new_keys(scope: Scope) -> dict[dt.date, int]:
    rows = scope.license_keys().filter(created__gte=scope.start, created__lt=scope.end)
    return _series(rows, "created", "month", Count("id"))


def verification_by_key(scope: Scope, *, worst_first: bool = True) -> list[dict]:
    """Per key of the catalogue: verification calls (key reads and activations), successes,
    failures, ratio. Keys that do not exist always fail; top_failing_keys lists those."""
    known = LicenseKey.objects.filter(product_id=OuterRef("product_id"), key=OuterRef("key"),
                                      product__vendor=scope.vendor)
    rows = (scope.log().filter(VERIFICATIONS).filter(Exists(known))
            .values("product_id", "key")
            .annotate(total=Count("id"), ok=Count("id", filter=VERIFIED_OK))
            .order_by())
    result = [{**row, "failed": row["total"] - row["ok"],
               "ratio": row["ok"] / row["total"] if row["total"] else 0.0} for row in rows]
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
    for row in rows:
        row["known"] = (row["product_id"], row["key"]) in known
    return rows


def has_countries(scope: Scope) -> bool:
    return scope.log().exclude(country="").exists()


def activations_by_country(scope: Scope) -> list[tuple[str, int]]:
    """Successful activations per country code ('' = unknown), most first."""
    rows = scope.log().filter(ACTIVATED).values("country").annotate(n=Count("id")).order_by()
    counted = [(row["country"], row["n"]) for row in rows]  # one row per country
    return sorted(counted, key=lambda item: (item[0] == "", -item[1], item[0]))
