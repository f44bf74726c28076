"""Anomaly detection on Web API logs: plain PyTorch/NumPy, no Django imports.

The Django side (models, Celery tasks, commands) calls only the names exported here:
LogFrame.from_rows / from_csv -> train_detector -> TrainedDetector.to_bytes / from_bytes ->
score_groups -> merge_incidents. `synthetic.generate_license_logs` makes labelled test logs
and `evaluation.evaluate` measures a detector against them.
"""

from .detector import DetectorConfig, TrainedDetector, TrainingError, train_detector
from .frame import COLUMNS, LogFrame
from .incidents import Incident, merge_incidents
from .scoring import ScoredGroup, score_groups

__all__ = [
    "COLUMNS", "DetectorConfig", "Incident", "LogFrame", "ScoredGroup", "TrainedDetector",
    "TrainingError", "merge_incidents", "score_groups", "train_detector",
]
