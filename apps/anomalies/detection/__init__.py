"""Anomaly detection on Web API logs: plain PyTorch/NumPy, no Django imports.

The Django side (models, Celery tasks, commands) calls only the names exported here:

    frame = LogFrame.from_rows(rows)            # or LogFrame.from_csv(path)
    detector = train_detector(frame, config=DetectorConfig(seed=0),
                              exclude_groups=frozenset(marked_group_ids))
    blob = detector.to_bytes(); detector = TrainedDetector.from_bytes(blob)
    scored = score_groups(detector, new_frame, history=rows_since_training_or_None)
    incidents = merge_incidents(scored)

A log too large to hold goes in as LogChunks (rows in time order, strings as codes into
vocabularies the chunks share) and is featurised block by block (stream.py):

    data = TrainingWindows.from_chunks(chunks, known_keys=..., window_seconds=3600)
    detector = train_detector(data, config=...)
    for sw in StreamScorer(detector, known_keys=..., scored_from=t).score(chunks):
        flagged = to_groups(detector, sw, flagged_only=True)

Design in one paragraph (details in each module's docstring): rows are grouped into hourly
windows per licence key and per IP (features.py); history features (new machines,
countries, usual hours and volume) are causal and relative to a compact per-key profile the
detector stores (history.py), so `history` is only needed for rows logged between training
and the scored frame. Training drops the warm-up days, the vendor's marked findings and the
windows ECOD ranks highest as *persistent* oddities (detector.py), fits an MLP autoencoder
with a narrow bottleneck (model.py), and scores = reconstruction error + distance to the
nearest normal codes in the bottleneck. The threshold is a peaks-over-threshold (generalised
Pareto) fit to held-out training scores, at the quantile that leaves `sensitivity` false
windows a day (threshold.py). Training memory is bounded: beyond `max_windows` windows it
keeps a sample of whole keys and IPs (sample.py). `synthetic.generate_license_logs` makes
labelled test logs, `evaluation.evaluate` and `benchmark.run_benchmark` measure a detector
against them.
"""

from .chunks import LogChunk, key_hashes
from .detector import (
    DetectorConfig,
    TrainedDetector,
    TrainingError,
    TrainingWindows,
    train_detector,
)
from .frame import COLUMNS, LogFrame
from .incidents import Incident, merge_incidents
from .scoring import ScoredGroup, StreamScorer, score_groups, to_groups

__all__ = [
    "COLUMNS", "DetectorConfig", "Incident", "LogChunk", "LogFrame", "ScoredGroup",
    "StreamScorer", "TrainedDetector", "TrainingError", "TrainingWindows", "key_hashes",
    "merge_incidents", "score_groups", "to_groups", "train_detector",
]
