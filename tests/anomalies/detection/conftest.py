"""Shared fixtures: one small generated log and one detector trained on it, reused by the
tests that only read them (training is the slow part)."""

from __future__ import annotations

import pytest

from apps.anomalies.detection import DetectorConfig, LogFrame, TrainedDetector, train_detector
from apps.anomalies.detection.synthetic import GeneratorConfig, SyntheticLog, generate_license_logs

TRAIN_DAYS = 7
SMALL = DetectorConfig(seed=0, epochs=10, knn_reference=1000, warmup_seconds=86400)


def small_log(**kwargs: object) -> SyntheticLog:
    """About 25,000 rows over 10 days; anomalies (if any) only after the training days."""
    params: dict = {"days": 10, "customers": 80, "seed": 3, "instances_per_kind": 0,
                    "anomaly_from_day": TRAIN_DAYS + 0.5}
    params.update(kwargs)
    return generate_license_logs(GeneratorConfig(**params))


def split(frame: LogFrame) -> tuple[LogFrame, LogFrame]:
    cut = float(frame.time.min()) + TRAIN_DAYS * 86400
    return frame.take(frame.time < cut), frame.take(frame.time >= cut)


@pytest.fixture(scope="session")
def sharing_log() -> SyntheticLog:
    return small_log(kinds=("key_sharing",), instances_per_kind=1)


@pytest.fixture(scope="session")
def trained(sharing_log: SyntheticLog) -> TrainedDetector:
    train, _ = split(sharing_log.frame)
    return train_detector(train, config=SMALL)
