"""Celery tasks of the licensing app. Each calls one service; retries belong here.

The beat schedule (when they run) is in settings, with the other periodic tasks."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from apps.usage.retention import weblog_prune


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=60,
             retry_backoff_max=900, max_retries=5,
             time_limit=settings.WEBAPI_LOG_RETENTION_TIME_LIMIT)
def weblog_prune_task() -> int:
    """Prune the Web API log down to WEBAPI_LOG_RETENTION_DAYS; returns the rows deleted.
    Idempotent and bounded per run (batches x batch size), so a retry or an overlapping run
    is harmless and a large backlog is worked off over several runs."""
    return weblog_prune(days=settings.WEBAPI_LOG_RETENTION_DAYS,
                        batch_size=settings.WEBAPI_LOG_RETENTION_BATCH_SIZE,
                        max_batches=settings.WEBAPI_LOG_RETENTION_MAX_BATCHES)


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=30,
             retry_backoff_max=600, max_retries=5)
def floating_sessions_refresh_task() -> int:
    """Condense every vendor's new floating calls into seat sessions, so a report never has a
    large backlog to read first. Incremental and idempotent (one run per vendor at a time,
    under a row lock); returns the seats touched."""
    from apps.accounts.models import Vendor
    from apps.usage.sessions import floating_sessions_refresh

    return sum(floating_sessions_refresh(vendor=vendor) for vendor in Vendor.objects.all())


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=60,
             retry_backoff_max=900, max_retries=5)
def weblog_partitions_task() -> list[str]:
    """Create the Web API log's partitions for this month and the next
    WEBAPI_LOG_PARTITIONS_AHEAD months (PostgreSQL; nothing on SQLite). Idempotent: a run
    that finds them all there creates nothing. Returns the partitions created."""
    from apps.usage.partitions import weblog_partitions_ahead

    return weblog_partitions_ahead(months_ahead=settings.WEBAPI_LOG_PARTITIONS_AHEAD)
