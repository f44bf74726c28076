"""Scoring new log windows with the active detector and keeping findings idempotent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from apps.accounts.models import Vendor
from apps.webhooks.services import emit

from ..models import AnomalySettings, DetectorVersion, Finding
from .rows import log_frame, training_since
from .training import active_version, anomaly_model_train, anomaly_settings_get

SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass
class DetectResult:
    version: DetectorVersion | None
    rows: int = 0
    scored: list = field(default_factory=list)  # detection.ScoredGroup, flagged or not
    created: list[Finding] = field(default_factory=list)
    updated: list[Finding] = field(default_factory=list)


def _when(unix: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(unix), tz=dt.UTC)


def _union(first: list, second: list) -> list:
    return list(dict.fromkeys([*first, *second]))


def _store_incident(*, vendor: Vendor, version: DetectorVersion, incident) -> tuple[Finding,
                                                                                    bool]:
    """Create the finding, or widen the one this incident continues or repeats.

    A continuing incident (sharing still going on at the next run) touches or overlaps the
    stored span of the same subject and label, so it extends that finding. The reviewed status
    is kept: a finding marked as expected does not come back as new."""
    start, end = _when(incident.start), _when(incident.end)
    existing = (Finding.objects.for_vendor(vendor).select_for_update()
                .filter(subject_kind=incident.kind, subject=incident.subject,
                        label=incident.label, start__lte=end, end__gte=start)
                .order_by("start").first())
    if existing is None:
        finding = Finding.objects.create(
            vendor=vendor, detector_version=version, subject_kind=incident.kind,
            subject=incident.subject, label=incident.label, product_id=incident.product_id,
            start=start, end=end, score=float(incident.score), severity=incident.severity,
            reasons=list(incident.reasons), log_ids=sorted(int(i) for i in incident.log_ids),
            groups=list(incident.groups))
        emit(vendor_id=vendor.pk, type="anomaly.created", data=lambda: {
            "Id": finding.pk, "SubjectKind": finding.subject_kind,
            "Subject": finding.subject, "Label": finding.label,
            "ProductId": finding.product_id, "Severity": finding.severity,
            "Score": finding.score, "Reasons": finding.reasons,
            "Start": int(start.timestamp()), "End": int(end.timestamp())})
        return finding, True
    existing.start, existing.end = min(existing.start, start), max(existing.end, end)
    if float(incident.score) >= existing.score:
        # The strongest window explains the finding; a window re-scored as it fills up would
        # otherwise pile up near-copies of its reasons ("12 requests", "13 requests").
        existing.score, existing.reasons = float(incident.score), list(incident.reasons)
    if SEVERITY_RANK[incident.severity] > SEVERITY_RANK.get(existing.severity, 0):
        existing.severity = incident.severity
    existing.log_ids = sorted(set(existing.log_ids) | {int(i) for i in incident.log_ids})
    existing.groups = _union(existing.groups, list(incident.groups))
    existing.detector_version = version
    existing.save()
    return existing, False


def _scoring_start(row: AnomalySettings, since: dt.datetime | None) -> dt.datetime | None:
    """Where this run starts: the caller's `since`, else one window before the watermark, so
    the last, possibly partial window of the previous run is scored again with its new rows."""
    if since is not None:
        return since
    if row.scored_until is None:  # first run: the training period, not years of imported log
        return training_since(vendor=row.vendor, days=settings.ANOMALY_TRAIN_DAYS)
    return row.scored_until - dt.timedelta(seconds=settings.ANOMALY_RESCORE_OVERLAP_SECONDS)


def _history(*, vendor: Vendor, detector, start: dt.datetime | None):
    """Rows between the end of the detector's training profile and `start`: what a key did
    since training counts as its history when its new windows are scored. (The profile's
    last second is read again; the detector drops the rows its profile already counts.)"""
    until = getattr(getattr(detector, "profile", None), "until", None)
    if start is None or until is None or until == float("-inf") or _when(until) >= start:
        return None
    return log_frame(vendor=vendor, since=_when(until), until=start)


def anomaly_detect(*, vendor: Vendor, since: dt.datetime | None = None,
                   train_if_missing: bool = False) -> DetectResult:
    """Score the vendor's log rows from `since` (default: from the last run's watermark) with
    the active detector, store the incidents as findings, and advance the watermark.

    Idempotent: scoring the same rows again finds the same incidents and updates their
    findings instead of adding copies. Without an active detector nothing is scored, unless
    `train_if_missing` (the management command) trains one first. New high-severity findings
    are e-mailed as one digest after commit."""
    version = active_version(vendor=vendor)
    if version is None and train_if_missing:
        # Trained just now: score its whole training period here (not in a queued rescore),
        # so the caller gets every scored group.
        anomaly_model_train(vendor=vendor, rescore=False)
        version = active_version(vendor=vendor)
        if since is None:
            since = training_since(vendor=vendor, days=settings.ANOMALY_TRAIN_DAYS)
    if version is None:
        return DetectResult(version=None)
    return _detect(vendor=vendor, version=version, since=since)


def anomaly_rescore(*, vendor: Vendor) -> DetectResult:
    """Score the whole training period again, after a new detector became active: its
    findings replace nothing (the merge is idempotent) but catch what the old one missed and
    rows that arrived late, such as an imported log older than the watermark."""
    since = training_since(vendor=vendor, days=settings.ANOMALY_TRAIN_DAYS)
    return anomaly_detect(vendor=vendor, since=since)


@transaction.atomic
def _detect(*, vendor: Vendor, version: DetectorVersion, since: dt.datetime | None
            ) -> DetectResult:
    from apps.anomalies.detection import TrainedDetector, merge_incidents, score_groups

    row = AnomalySettings.objects.select_for_update().get(pk=anomaly_settings_get(
        vendor=vendor).pk)
    start = _scoring_start(row, since)
    frame = log_frame(vendor=vendor, since=start)
    result = DetectResult(version=version, rows=len(frame))
    if not len(frame):
        return result
    assert version.blob is not None  # only failed runs, never active, lack a detector
    detector = TrainedDetector.from_bytes(bytes(version.blob))
    history = _history(vendor=vendor, detector=detector, start=start)
    result.scored = (score_groups(detector, frame, history=history) if history is not None
                     else score_groups(detector, frame))
    for incident in merge_incidents(result.scored):
        finding, created = _store_incident(vendor=vendor, version=version, incident=incident)
        (result.created if created else result.updated).append(finding)
    latest = _when(float(frame.time.max()))
    if row.scored_until is None or latest > row.scored_until:
        row.scored_until = latest
        row.save(update_fields=["scored_until", "updated"])
    unsent = [f for f in result.created + result.updated
              if f.severity == Finding.Severity.HIGH and f.notified_at is None]
    if row.email_digest and unsent:
        from ..tasks import anomaly_digest_send_task

        transaction.on_commit(lambda: anomaly_digest_send_task.delay(vendor.pk))
    return result
