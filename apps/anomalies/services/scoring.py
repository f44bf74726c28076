"""Scoring new log windows with the active detector and keeping findings idempotent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from apps.accounts.models import Vendor
from apps.webhooks.services import emit

from ..models import AnomalySettings, DetectorVersion, Finding
from .rows import known_key_hashes, log_chunks, log_end, training_since
from .training import active_version, anomaly_model_train, anomaly_settings_get

if TYPE_CHECKING:  # the detection package imports torch: only inside the functions
    from apps.anomalies.detection import TrainedDetector

SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass
class DetectResult:
    version: DetectorVersion | None
    rows: int = 0
    groups: int = 0  # windows scored, flagged or not
    flagged: list = field(default_factory=list)  # detection.ScoredGroup of flagged windows
    created: list[Finding] = field(default_factory=list)
    updated: list[Finding] = field(default_factory=list)


# Called with the scored groups (detection.ScoredGroup) of each block, flagged or not.
GroupsCallback = Callable[[list], None]


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


def _read_from(detector: TrainedDetector, start: dt.datetime | None) -> dt.datetime | None:
    """Where the read starts: at `start`, or earlier at the end of the detector's training
    profile when that lies before it. What a key did since training is the history its new
    windows are scored against. (The profile's last second is read again; the scorer drops
    the rows its profile already counts.)"""
    until = detector.profile.until
    if start is None or until == float("-inf") or _when(until) >= start:
        return start
    return _when(until)


def anomaly_detect(*, vendor: Vendor, since: dt.datetime | None = None,
                   train_if_missing: bool = False,
                   on_groups: GroupsCallback | None = None) -> DetectResult:
    """Score the vendor's log rows from `since` (default: from the last run's watermark) with
    the active detector, store the incidents as findings, and advance the watermark.

    Idempotent: scoring the same rows again finds the same incidents and updates their
    findings instead of adding copies. Without an active detector nothing is scored, unless
    `train_if_missing` (the management command) trains one first. New high-severity findings
    are e-mailed as one digest after commit. The log is read and scored block by block; the
    result keeps the flagged groups only, `on_groups` gets every group of each block."""
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
    return _detect(vendor=vendor, version=version, since=since, on_groups=on_groups)


def anomaly_rescore(*, vendor: Vendor) -> DetectResult:
    """Score the whole training period again, after a new detector became active: its
    findings replace nothing (the merge is idempotent) but catch what the old one missed and
    rows that arrived late, such as an imported log older than the watermark."""
    since = training_since(vendor=vendor, days=settings.ANOMALY_TRAIN_DAYS)
    return anomaly_detect(vendor=vendor, since=since)


@transaction.atomic
def _detect(*, vendor: Vendor, version: DetectorVersion, since: dt.datetime | None,
            on_groups: GroupsCallback | None) -> DetectResult:
    from apps.anomalies.detection import (
        StreamScorer,
        TrainedDetector,
        merge_incidents,
        to_groups,
    )

    row = AnomalySettings.objects.select_for_update().get(pk=anomaly_settings_get(
        vendor=vendor).pk)
    start = _scoring_start(row, since)
    result = DetectResult(version=version)
    assert version.blob is not None  # only failed runs, never active, lack a detector
    detector = TrainedDetector.from_bytes(bytes(version.blob))
    read_from, until = _read_from(detector, start), log_end(vendor=vendor)
    scorer = StreamScorer(
        detector, known_keys=known_key_hashes(vendor=vendor, since=read_from, until=until),
        scored_from=None if start is None else start.timestamp())
    for scored in scorer.score(log_chunks(vendor=vendor, since=read_from, until=until)):
        groups = to_groups(detector, scored, flagged_only=on_groups is None)
        result.groups += len(scored.windows)
        result.flagged.extend(group for group in groups if group.anomaly)
        if on_groups is not None:
            on_groups(groups)
    result.rows = scorer.rows
    if not result.rows:
        return result
    for incident in merge_incidents(result.flagged):
        finding, created = _store_incident(vendor=vendor, version=version, incident=incident)
        (result.created if created else result.updated).append(finding)
    latest = _when(scorer.latest)
    if row.scored_until is None or latest > row.scored_until:
        row.scored_until = latest
        row.save(update_fields=["scored_until", "updated"])
    unsent = [f for f in result.created + result.updated
              if f.severity == Finding.Severity.HIGH and f.notified_at is None]
    if row.email_digest and unsent:
        from ..tasks import anomaly_digest_send_task

        transaction.on_commit(lambda: anomaly_digest_send_task.delay(vendor.pk))
    return result
