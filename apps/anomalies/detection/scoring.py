"""Scoring new log windows with a trained detector.

History: the detector carries a compact profile of its training period (machines, countries
and IPs each key used, hourly activity, volume). Rows logged between training and the
scoring window can be passed as `history`: they are featurised with the frame so that
"new machine" means new since training, and only windows containing rows of `frame` are
returned. History rows already covered by the profile (time <= trained_until) are ignored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from .detector import TrainedDetector
from .explain import explain, window_words
from .features import Windows, featurise
from .frame import LogFrame
from .model import deterministic, encode


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class ScoredGroup:
    """One key or IP window with its score. `reasons` and `label` are filled for flagged
    groups only (explaining every normal window would cost time and say nothing)."""

    group: str
    kind: str
    key: str | None
    ip: str | None
    product_id: int | None
    start: float
    end: float
    log_ids: list[int]
    score: float
    anomaly: bool
    reasons: list[str] = field(default_factory=list)
    threshold: float = 0.0
    label: str = ""

    def as_json(self) -> dict:
        """The detect_anomalies JSONL object, exactly these fields."""
        return {"group": self.group, "kind": self.kind, "key": self.key, "ip": self.ip,
                "start": _iso(self.start), "end": _iso(self.end), "log_ids": self.log_ids,
                "score": self.score, "anomaly": self.anomaly, "reasons": self.reasons}


@dataclass
class ScoredWindows:
    """Array form of a scoring run (the evaluation works on this, not on objects)."""

    frame: LogFrame
    windows: Windows
    scores: np.ndarray
    contributions: np.ndarray  # per-feature reconstruction error / its training mean
    threshold: float

    @property
    def flagged(self) -> np.ndarray:
        return self.scores > self.threshold


def score_windows(detector: TrainedDetector, frame: LogFrame,
                  history: LogFrame | None = None) -> ScoredWindows:
    """Featurise and score every key and IP window of `frame`."""
    full = frame
    if history is not None and len(history):
        recent = history.take(history.time > detector.profile.until)
        full = frame.concat(recent) if len(recent) else frame
    cfg = detector.config
    windows = featurise(full, window_seconds=cfg.window_seconds,
                        profile=detector.profile).windows
    if full is not frame:
        in_frame = np.isin(full.ids, frame.ids)
        rows, groups = windows.row_group(len(full))
        has = np.bincount(groups, weights=in_frame[rows], minlength=len(windows)) > 0
        windows = windows.take(has)
    x = detector.scaler.transform(windows.features)
    with deterministic(cfg.seed, cfg.threads):
        latents, errors = encode(detector.model, x)
        scores = detector.combine(errors, latents)
    return ScoredWindows(full, windows, scores, errors / detector.error_scale,
                         detector.threshold)


def score_groups(detector: TrainedDetector, frame: LogFrame,
                 history: LogFrame | None = None) -> list[ScoredGroup]:
    """Every key and IP window of `frame`, flagged or not, with log row Ids."""
    sw = score_windows(detector, frame, history)
    return to_groups(detector, sw)


def to_groups(detector: TrainedDetector, sw: ScoredWindows) -> list[ScoredGroup]:
    w = sw.windows
    ids = w.group_ids()
    row_ids = sw.frame.ids
    flagged = sw.flagged
    window = window_words(detector.config.window_seconds)
    out: list[ScoredGroup] = []
    for i in range(len(w)):
        kind = int(w.kind[i])
        subject = str(w.subject[i])
        pid = int(w.product_id[i])
        g = ScoredGroup(ids[i], "ip" if kind else "key", None if kind else subject,
                        subject if kind else None, None if pid < 0 else pid,
                        float(w.start[i]), float(w.end[i]),
                        row_ids[w.rows_of(i)].tolist(), float(sw.scores[i]),
                        bool(flagged[i]), threshold=sw.threshold)
        if g.anomaly:
            found = explain(w.raw[i], sw.contributions[i], detector.usual[kind], kind=kind,
                            hour=int(w.hod[i]), window=window,
                            states=sw.frame.state[w.rows_of(i)])
            g.label, g.reasons = found.label, found.reasons
        out.append(g)
    return out
