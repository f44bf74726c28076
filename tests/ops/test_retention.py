"""Web API log retention: old rows go, in bounded batches, per vendor; recent rows stay."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from apps.usage.models import WebApiLog
from apps.usage.retention import weblog_prune
from apps.usage.tasks import weblog_prune_task
from tests.factories import make_vendor

NOW = timezone.now()


def _rows(vendor, *ages_in_days: float) -> None:
    WebApiLog.objects.bulk_create(
        WebApiLog(vendor=vendor, method="key.Activate", state=2010,
                  time=NOW - dt.timedelta(days=age)) for age in ages_in_days)


def _ages(vendor) -> list[int]:
    return sorted(round((NOW - t).total_seconds() / 86400) for t in
                  WebApiLog.objects.filter(vendor=vendor).values_list("time", flat=True))


def test_rows_older_than_the_retention_are_deleted_for_every_vendor(db):
    first, second = make_vendor("First"), make_vendor("Second")
    _rows(first, 1, 29, 31, 45, 400)
    _rows(second, 0, 90)

    deleted = weblog_prune(days=30, batch_size=2, max_batches=100, now=NOW)

    assert deleted == 4
    assert _ages(first) == [1, 29]
    assert _ages(second) == [0]


def test_a_run_stops_after_its_batch_budget_and_the_next_run_goes_on(db):
    vendor = make_vendor()
    _rows(vendor, 5, 40, 41, 42, 43, 44)

    assert weblog_prune(days=30, batch_size=2, max_batches=1, now=NOW) == 2
    assert _ages(vendor) == [5, 40, 41, 42]  # the oldest went first
    assert weblog_prune(days=30, batch_size=2, max_batches=10, now=NOW) == 3
    assert _ages(vendor) == [5]


def test_pruning_again_deletes_nothing_more(db):
    vendor = make_vendor()
    _rows(vendor, 2, 60)
    weblog_prune(days=30, batch_size=10, max_batches=10, now=NOW)

    assert weblog_prune(days=30, batch_size=10, max_batches=10, now=NOW) == 0
    assert _ages(vendor) == [2]


def test_zero_days_keeps_the_log_forever(db):
    vendor = make_vendor()
    _rows(vendor, 1, 5000)

    assert weblog_prune(days=0, batch_size=10, max_batches=10, now=NOW) == 0
    assert WebApiLog.objects.count() == 2


@override_settings(WEBAPI_LOG_RETENTION_DAYS=10, WEBAPI_LOG_RETENTION_BATCH_SIZE=1,
                   WEBAPI_LOG_RETENTION_MAX_BATCHES=50)
def test_the_celery_task_prunes_with_the_settings(db):
    vendor = make_vendor()
    _rows(vendor, 3, 11, 12)

    assert weblog_prune_task.apply().get() == 2
    assert _ages(vendor) == [3]


def test_the_task_is_in_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["weblog-retention-daily"]
    assert entry["task"] == weblog_prune_task.name == "apps.usage.tasks.weblog_prune_task"
