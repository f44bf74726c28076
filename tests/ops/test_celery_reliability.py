"""Celery settings that keep a training alive across a dead worker (issue 10, faults (c))."""

from __future__ import annotations

from django.conf import settings

from apps.anomalies import tasks
from licensing_portal.celery import app


def test_training_is_acknowledged_late_and_requeued_when_its_worker_dies():
    task = app.tasks[tasks.anomaly_model_retrain.name]
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True


def test_the_visibility_timeout_outlasts_the_longest_training():
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert timeout > settings.ANOMALY_TRAIN_TIME_LIMIT


def test_a_worker_takes_one_message_at_a_time():
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
