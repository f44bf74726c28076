"""Celery settings that keep a training alive across a dead worker (issue 10, faults (c))."""

from __future__ import annotations

import pytest
from django.conf import settings

from apps.anomalies import tasks
from licensing_portal.celery import app


@pytest.mark.parametrize("task", [tasks.anomaly_model_retrain, tasks.anomaly_rescore_task])
def test_training_work_is_acknowledged_late_and_requeued_when_its_worker_dies(task):
    registered = app.tasks[task.name]
    assert registered.acks_late is True
    assert registered.reject_on_worker_lost is True


def test_the_visibility_timeout_outlasts_the_longest_training():
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert timeout > settings.ANOMALY_TRAIN_TIME_LIMIT


def test_a_worker_takes_one_message_at_a_time():
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
