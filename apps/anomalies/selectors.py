"""Reads for the anomaly pages. Detector blobs are deferred everywhere: a page never needs the
weights, only the metadata."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.licensing.models import LicenseKey
from apps.reports.products import ProductLabel, product_labels
from apps.usage.models import WebApiLog

from .models import AnomalySettings, DetectorVersion, Finding

TRAFFIC_PADDING = dt.timedelta(hours=12)
TRAFFIC_MAX_ROWS = 50_000


def finding_key(finding: Finding) -> LicenseKey | None:
    """The vendor's license key a key finding is about (None for IP findings, or when the log
    named a key that does not exist, e.g. a guessed one)."""
    if not finding.is_key:
        return None
    keys = LicenseKey.objects.for_vendor(finding.vendor).filter(key=finding.subject)
    if finding.product_id is not None:
        keys = keys.filter(product_id=finding.product_id)
    return keys.select_related("product", "customer").first()


def finding_products(*, vendor: Vendor, findings: Iterable[Finding]
                     ) -> list[tuple[Finding, ProductLabel | None]]:
    """Each finding with the product its key was used with, by name ("Unknown product 3105"
    for an id the log kept that is none of the vendor's products); None when the finding
    names no product (an IP address)."""
    findings = list(findings)
    labels = product_labels(vendor=vendor, ids={f.product_id for f in findings
                                                if f.product_id is not None})
    return [(f, labels.get(f.product_id) if f.product_id is not None else None)
            for f in findings]


def finding_product_names(*, vendor: Vendor, findings: QuerySet[Finding]
                          ) -> dict[int | None, str]:
    """The product name (or "Unknown product 3105") of every product id among `findings`,
    for an export that streams the findings themselves."""
    ids = set(findings.order_by().values_list("product_id", flat=True).distinct())
    return {pk: label.name for pk, label in product_labels(
        vendor=vendor, ids=ids - {None}).items()}


def finding_list(*, vendor: Vendor, status: str = "", severity: str = "",
                 subject_kind: str = "", query: str = "") -> QuerySet[Finding]:
    """The vendor's findings, newest day first and highest score first within a day."""
    findings = Finding.objects.for_vendor(vendor)
    if status:
        findings = findings.filter(status=status)
    if severity:
        findings = findings.filter(severity=severity)
    if subject_kind:
        findings = findings.filter(subject_kind=subject_kind)
    if query:
        findings = findings.filter(subject__icontains=query.strip())
    return findings.annotate(day=TruncDate("end")).order_by("-day", "-score", "-pk")


def findings_per_day(*, vendor: Vendor, days: int = 30) -> tuple[list[str], dict[str, list]]:
    """Findings per day of their end over the last `days` days, by severity."""
    today = timezone.now().date()
    first = today - dt.timedelta(days=days - 1)
    counts = Counter(
        Finding.objects.for_vendor(vendor).filter(end__date__gte=first)
        .annotate(day=TruncDate("end")).values_list("day", "severity"))
    labels = [first + dt.timedelta(days=n) for n in range(days)]
    return ([d.isoformat() for d in labels],
            {severity: [counts.get((d, severity), 0) for d in labels]
             for severity in Finding.Severity.values})


@dataclass
class Traffic:
    labels: list[str]
    succeeded: list[int]
    failed: list[int]
    ips: list[int]
    machines: list[int]
    start: dt.datetime
    end: dt.datetime


def _hour(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def finding_traffic(finding: Finding) -> Traffic:
    """Calls per hour of the finding's key (or IP) from half a day before to half a day after
    the finding: successes, failures, distinct IPs and distinct machines."""
    start, end = _hour(finding.start - TRAFFIC_PADDING), _hour(finding.end + TRAFFIC_PADDING)
    rows = WebApiLog.objects.for_vendor(finding.vendor).filter(time__gte=start,
                                                               time__lt=end + dt.timedelta(hours=1))
    rows = rows.filter(key=finding.subject) if finding.is_key else rows.filter(ip=finding.subject)
    if finding.is_key and finding.product_id is not None:
        rows = rows.filter(product_id=finding.product_id)
    hours = int((end - start).total_seconds() // 3600) + 1
    ok, bad = [0] * hours, [0] * hours
    ips: list[set] = [set() for _ in range(hours)]
    machines: list[set] = [set() for _ in range(hours)]
    for time, state, ip, machine in rows.order_by().values_list(
            "time", "state", "ip", "machine_code")[:TRAFFIC_MAX_ROWS]:
        index = int((time - start).total_seconds() // 3600)
        (ok if (state % 100) // 10 == 1 else bad)[index] += 1
        ips[index].add(ip)
        if machine:
            machines[index].add(machine)
    labels = [(start + dt.timedelta(hours=n)).strftime("%m-%d %H:00") for n in range(hours)]
    return Traffic(labels, ok, bad, [len(s) for s in ips], [len(s) for s in machines],
                   start, end + dt.timedelta(hours=1))


def detector_versions(*, vendor: Vendor, limit: int = 20) -> list[DetectorVersion]:
    return list(DetectorVersion.objects.for_vendor(vendor).defer("blob")[:limit])


def settings_of(vendor: Vendor) -> AnomalySettings:
    """The vendor's settings, or unsaved defaults (a read never creates rows)."""
    return AnomalySettings.objects.filter(vendor=vendor).first() or AnomalySettings(vendor=vendor)


def active_version(*, vendor: Vendor) -> DetectorVersion | None:
    """The active detector's metadata (not its weights)."""
    return DetectorVersion.objects.for_vendor(vendor).active().defer("blob").first()


def finding_version(finding: Finding) -> DetectorVersion | None:
    """The detector version that last scored the finding, without its weights."""
    return (DetectorVersion.objects.filter(pk=finding.detector_version_id).defer("blob").first()
            if finding.detector_version_id else None)
