"""Services of the anomaly app: training, scoring, reviewing findings, the e-mail digest.

The detection package (torch) is imported inside the functions that need it, so importing
these services from a view or the URLconf never loads torch."""

from .digest import anomaly_digest_send
from .findings import (
    anomaly_retrain_request,
    anomaly_settings_update,
    finding_block_key,
    finding_mark_expected,
)
from .rows import log_frame, log_rows
from .scoring import DetectResult, anomaly_detect, anomaly_rescore
from .training import active_version, anomaly_model_train, anomaly_settings_get, excluded_groups

__all__ = [
    "DetectResult",
    "active_version",
    "anomaly_detect",
    "anomaly_digest_send",
    "anomaly_model_train",
    "anomaly_rescore",
    "anomaly_retrain_request",
    "anomaly_settings_get",
    "anomaly_settings_update",
    "excluded_groups",
    "finding_block_key",
    "finding_mark_expected",
    "log_frame",
    "log_rows",
]
