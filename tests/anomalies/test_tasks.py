"""Celery tasks (eager in tests) and the beat schedule."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from apps.anomalies import tasks
from apps.anomalies.models import AnomalySettings, DetectorVersion, Finding

from .conftest import load_log


def test_retraining_through_celery_stores_a_new_version(loaded, tenant):
    """A real training, run by the task as the nightly schedule would."""
    first = tasks.anomaly_model_retrain.delay(tenant.vendor.pk).get()
    second = tasks.anomaly_model_retrain.delay(tenant.vendor.pk).get()

    versions = DetectorVersion.objects.for_vendor(tenant.vendor).order_by("number")
    assert [v.pk for v in versions] == [first, second]
    assert [v.status for v in versions] == ["superseded", "active"]
    assert versions[1].rows_trained == len(loaded.frame)


def test_a_failing_retraining_task_keeps_the_model(some_rows, tenant, fake_training,
                                                   monkeypatch):
    import apps.anomalies.detection as detection

    good = tasks.anomaly_model_retrain.delay(tenant.vendor.pk).get()

    def fail(*args, **kwargs):
        raise detection.TrainingError("Too little data: 12 windows")

    monkeypatch.setattr(detection, "train_detector", fail)
    failed = tasks.anomaly_model_retrain.delay(tenant.vendor.pk).get()

    assert DetectorVersion.objects.get(pk=failed).status == "failed"
    assert DetectorVersion.objects.for_vendor(tenant.vendor).active().get().pk == good


def test_detect_task_scores_and_is_idempotent(loaded, tenant, fake_training):
    tasks.anomaly_model_retrain.delay(tenant.vendor.pk)

    created = tasks.anomaly_detect_recent.delay(tenant.vendor.pk).get()
    again = tasks.anomaly_detect_recent.delay(tenant.vendor.pk).get()

    assert created == Finding.objects.for_vendor(tenant.vendor).count() > 0
    assert again == 0


def test_tasks_for_a_deleted_vendor_do_nothing(db):
    assert tasks.anomaly_model_retrain.delay(999_999).get() is None
    assert tasks.anomaly_detect_recent.delay(999_999).get() == 0
    assert tasks.anomaly_digest_send_task.delay(999_999).get() == 0
    assert tasks.anomaly_rescore_task.delay(999_999).get() == 0


def test_fan_out_covers_vendors_with_a_log_that_want_it(tenant, other_tenant, monkeypatch):
    load_log(other_tenant.vendor, rows=5)
    load_log(tenant.vendor, rows=5)
    AnomalySettings.objects.create(vendor=other_tenant.vendor, retrain_nightly=False)
    retrained, scored = [], []
    monkeypatch.setattr(tasks.anomaly_model_retrain, "delay", retrained.append)
    monkeypatch.setattr(tasks.anomaly_detect_recent, "delay", scored.append)

    assert tasks.anomaly_retrain_all.delay().get() == 1
    assert tasks.anomaly_detect_all.delay().get() == 2

    assert retrained == [tenant.vendor.pk]
    assert sorted(scored) == sorted([tenant.vendor.pk, other_tenant.vendor.pk])


def test_disabled_vendors_are_not_scored(tenant, monkeypatch):
    load_log(tenant.vendor, rows=5)
    AnomalySettings.objects.create(vendor=tenant.vendor, enabled=False)
    scored = []
    monkeypatch.setattr(tasks.anomaly_detect_recent, "delay", scored.append)

    assert tasks.anomaly_detect_all.delay().get() == 0
    assert scored == []


def test_beat_runs_nightly_retraining_and_frequent_scoring():
    schedule = settings.CELERY_BEAT_SCHEDULE
    nightly = schedule["anomaly-retrain-nightly"]
    scoring = schedule["anomaly-detect-recent"]
    assert nightly["task"] == "apps.anomalies.tasks.anomaly_retrain_all"
    assert nightly["schedule"].hour == {settings.ANOMALY_RETRAIN_HOUR}
    assert scoring["task"] == "apps.anomalies.tasks.anomaly_detect_all"
    assert scoring["schedule"].minute == set(range(0, 60, settings.ANOMALY_DETECT_EVERY_MINUTES))
    assert scoring["schedule"].is_due(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))[1] > 0


def test_training_has_its_own_queue():
    for task in ("anomaly_model_retrain", "anomaly_rescore_task"):
        assert settings.CELERY_TASK_ROUTES[f"apps.anomalies.tasks.{task}"] == {
            "queue": "anomalies"}
