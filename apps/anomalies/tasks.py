"""Celery tasks of anomaly detection. Each takes ids, loads, and calls one service.

Training and the rescoring after it run on their own queue ("anomalies", see
CELERY_TASK_ROUTES) so a long training never delays mail or other short tasks; a worker for
it: `celery -A licensing_portal worker -Q anomalies --concurrency 1`. The beat schedule
(nightly retraining, scoring every few minutes) is in settings. Retries with backoff cover
lost database connections and mail servers, not training errors: a TrainingError is recorded
as a failed version and retrying cannot fix it.
"""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import Exists, OuterRef

from apps.accounts.models import Vendor
from apps.usage.models import WebApiLog

from . import services

TRANSIENT = (OperationalError, InterfaceError)


def _vendor(vendor_id: int) -> Vendor | None:
    return Vendor.objects.filter(pk=vendor_id).first()


def _vendors_with_log(**settings_filter) -> list[int]:
    vendors = (Vendor.objects.filter(Exists(WebApiLog.objects.filter(vendor=OuterRef("pk"))))
               .exclude(anomaly_settings__enabled=False))
    for name, value in settings_filter.items():
        vendors = vendors.exclude(**{f"anomaly_settings__{name}": not value})
    return list(vendors.order_by("pk").values_list("pk", flat=True))


@shared_task(autoretry_for=TRANSIENT, retry_backoff=30, retry_backoff_max=600, max_retries=5,
             acks_late=True, time_limit=settings.ANOMALY_TRAIN_TIME_LIMIT,
             soft_time_limit=max(settings.ANOMALY_TRAIN_TIME_LIMIT - 30, 1))
def anomaly_model_retrain(vendor_id: int) -> int | None:
    """Train a new detector version for one vendor; returns its id (active or failed). Safe to
    run twice: each run stores its own version and the newest success is the active one."""
    vendor = _vendor(vendor_id)
    if vendor is None:
        return None
    return services.anomaly_model_train(vendor=vendor).pk


@shared_task(autoretry_for=TRANSIENT, retry_backoff=10, retry_backoff_max=300, max_retries=5,
             time_limit=settings.ANOMALY_DETECT_TIME_LIMIT)
def anomaly_detect_recent(vendor_id: int) -> int:
    """Score one vendor's log rows since the last run; returns the number of new findings.
    Idempotent: a repeated run updates the same findings."""
    vendor = _vendor(vendor_id)
    if vendor is None:
        return 0
    return len(services.anomaly_detect(vendor=vendor).created)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=30, retry_backoff_max=600, max_retries=5,
             time_limit=settings.ANOMALY_TRAIN_TIME_LIMIT)
def anomaly_rescore_task(vendor_id: int) -> int:
    """After a new detector became active: score its whole training period again (queued by
    the training service on commit). Returns the number of new findings."""
    vendor = _vendor(vendor_id)
    if vendor is None:
        return 0
    return len(services.anomaly_rescore(vendor=vendor).created)


@shared_task(autoretry_for=(*TRANSIENT, smtplib.SMTPException, OSError), retry_backoff=60,
             retry_backoff_max=3600, max_retries=8)
def anomaly_digest_send_task(vendor_id: int) -> int:
    """Mail one vendor's digest of new high-severity findings. A failed send marks nothing, so
    the retry (or the next run) sends the same findings once."""
    vendor = _vendor(vendor_id)
    if vendor is None:
        return 0
    return services.anomaly_digest_send(vendor=vendor)


@shared_task
def anomaly_retrain_all() -> int:
    """Nightly: queue one retraining per vendor that has a log and wants nightly training."""
    ids = _vendors_with_log(retrain_nightly=True)
    for vendor_id in ids:
        anomaly_model_retrain.delay(vendor_id)
    return len(ids)


@shared_task
def anomaly_detect_all() -> int:
    """Every few minutes: queue the scoring of each enabled vendor's new log rows."""
    ids = _vendors_with_log()
    for vendor_id in ids:
        anomaly_detect_recent.delay(vendor_id)
    return len(ids)
