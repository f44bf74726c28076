"""Training a vendor's detector and storing it as a new version.

Training takes seconds to minutes of CPU, so it runs outside any transaction (a transaction
held open that long would pin a connection and block the row locks of API calls). Only the
short steps around it are atomic: numbering and storing the version, switching the active one;
and the read of the log streams through a read-only transaction that locks nothing (rows.py).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from apps.accounts.models import Vendor

from ..models import AnomalySettings, DetectorVersion, Finding
from .rows import log_training_windows, training_period

logger = logging.getLogger(__name__)
ERROR_LIMIT = 4000


def anomaly_settings_get(*, vendor: Vendor) -> AnomalySettings:
    """The vendor's settings row, created with the defaults on first use."""
    row, _ = AnomalySettings.objects.get_or_create(vendor=vendor)
    return row


def excluded_groups(*, vendor: Vendor) -> frozenset[str]:
    """Windows that must not teach the detector what normal looks like: those of findings the
    vendor reviewed, whether real (confirmed: a shared key) or expected (a known one-off such
    as a load test). Both are unusual traffic; training on them would hide their kind."""
    groups: set[str] = set()
    reviewed = Finding.objects.for_vendor(vendor).exclude(status=Finding.Status.NEW)
    for finding_groups in reviewed.values_list("groups", flat=True).iterator():
        groups.update(finding_groups or [])
    return frozenset(groups)


def _config(sensitivity: float):
    from apps.anomalies.detection import DetectorConfig

    return DetectorConfig(seed=settings.ANOMALY_SEED, sensitivity=sensitivity)


def _next_number(vendor: Vendor) -> int:
    # Called with the settings row locked, so two trainings never take the same number.
    latest = DetectorVersion.objects.for_vendor(vendor).aggregate(n=Max("number"))["n"]
    return (latest or 0) + 1


@transaction.atomic
def _store(*, vendor: Vendor, status: str, rescore: bool = True, **fields) -> DetectorVersion:
    AnomalySettings.objects.select_for_update().get(vendor=vendor)
    if status == DetectorVersion.Status.ACTIVE:
        from ..tasks import anomaly_rescore_task

        DetectorVersion.objects.for_vendor(vendor).active().update(
            status=DetectorVersion.Status.SUPERSEDED)
        if rescore:
            transaction.on_commit(lambda: anomaly_rescore_task.delay(vendor.pk))
    return DetectorVersion.objects.create(vendor=vendor, number=_next_number(vendor),
                                          status=status, **fields)


def anomaly_model_train(*, vendor: Vendor, rescore: bool = True) -> DetectorVersion:
    """Train on the vendor's recent log and store the result as a new version.

    Success: the new version becomes the active one and the previous one is superseded, in one
    transaction; after commit the training period is scored again with it. Failure (too
    little data, a bug, no memory): a failed version records the error and the previous
    active version stays active, so scoring goes on with the last good detector. A
    TrainingError is an expected outcome and is returned as the failed version; anything
    else is recorded and then raised, so that the worker logs its traceback. `rescore=False`
    is for a caller that scores the training period itself right after."""
    from apps.anomalies.detection import TrainingError, train_detector

    settings_row = anomaly_settings_get(vendor=vendor)
    sensitivity, exclude = settings_row.sensitivity, excluded_groups(vendor=vendor)
    started, rows = time.monotonic(), 0
    try:
        config = _config(sensitivity)
        since, until = training_period(vendor=vendor, days=settings.ANOMALY_TRAIN_DAYS)
        data = log_training_windows(vendor=vendor, since=since, until=until,
                                    window_seconds=config.window_seconds,
                                    max_windows=config.max_windows, seed=config.seed)
        rows = len(data)
        detector = train_detector(data, config=config, exclude_groups=exclude)
        del data  # the sampled windows: not needed to store the version
        blob = detector.to_bytes()
    except Exception as error:
        failed = _store(vendor=vendor, status=DetectorVersion.Status.FAILED,
                        rows_trained=rows, excluded_groups=len(exclude),
                        sensitivity=sensitivity, seconds=time.monotonic() - started,
                        error=(str(error) or type(error).__name__)[:ERROR_LIMIT])
        logger.warning("Anomaly training for vendor %s failed: %s", vendor.pk, error)
        if isinstance(error, TrainingError):
            return failed
        raise
    return _store(vendor=vendor, status=DetectorVersion.Status.ACTIVE, rescore=rescore, blob=blob,
                  metadata=_plain(detector.metadata), rows_trained=rows,
                  excluded_groups=len(exclude), sensitivity=sensitivity,
                  seconds=time.monotonic() - started)


def _plain(value):
    """JSON-safe copy of the detector's metadata (NumPy numbers become Python numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def active_version(*, vendor: Vendor) -> DetectorVersion | None:
    return DetectorVersion.objects.for_vendor(vendor).active().first()
