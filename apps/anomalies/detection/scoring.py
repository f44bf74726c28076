"""Scoring new log windows with a trained detector.

History: the detector carries a compact profile of its training period (machines, countries
and IPs each key used, hourly activity, volume). Rows logged between training and the
scoring window can be passed as `history`: they are featurised with the frame so that
"new machine" means new since training, and only windows containing rows of `frame` are
returned. History rows already covered by the profile (time <= trained_until) are ignored.

`score_windows` scores a frame in memory; `StreamScorer` the same rows read chunk by chunk
(history first), block by block, holding one block's rows and windows at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from .chunks import LogChunk
from .detector import TrainedDetector
from .explain import explain, window_words
from .features import Windows, featurise
from .frame import LogFrame
from .model import deterministic, encode
from .stream import BLOCK_ROWS, BlockWindows, WindowBuilder


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

    frame: LogFrame | LogChunk  # the rows `windows.order` indexes
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
    return _scored(detector, full, windows)


def _scored(detector: TrainedDetector, rows: LogFrame | LogChunk,
            windows: Windows) -> ScoredWindows:
    cfg = detector.config
    x = detector.scaler.transform(windows.features)
    with deterministic(cfg.seed, cfg.threads):
        latents, errors = encode(detector.model, x)
        scores = detector.combine(errors, latents)
    return ScoredWindows(rows, windows, scores, errors / detector.error_scale,
                         detector.threshold)


class StreamScorer:
    """What score_windows does, for a log read chunk by chunk in (time, id) order.

    Rows logged before `scored_from` are history: they shape the features of later windows,
    and only those of them after the end of the detector's profile count (the profile holds
    the older ones); a window without a row from `scored_from` on is not scored. Without
    `scored_from` every row is scored. `known_keys`: the sorted hashes of the keys that
    succeed in the rows read (stream.known_key_hashes). `rows` and `latest` count the scored
    rows and their newest time as the chunks go by."""

    def __init__(self, detector: TrainedDetector, *, known_keys: np.ndarray,
                 scored_from: float | None = None, block_rows: int = BLOCK_ROWS) -> None:
        if not len(detector.profile.entity_hash):
            raise ValueError("a detector without a profile cannot score a stream")
        self.detector, self.known_keys, self.scored_from = detector, known_keys, scored_from
        self.block_rows = block_rows
        self.rows, self.latest = 0, float("-inf")

    def score(self, chunks: Iterable[LogChunk]) -> Iterator[ScoredWindows]:
        """The scored windows of each block, in time order of the blocks."""
        builder = WindowBuilder(window_seconds=self.detector.config.window_seconds,
                                profile=self.detector.profile, known_keys=self.known_keys,
                                block_rows=self.block_rows)
        for block in builder.blocks(self._counted(chunks)):
            windows = self._scored_windows(block)
            if len(windows):
                yield _scored(self.detector, block.rows, windows)

    def _counted(self, chunks: Iterable[LogChunk]) -> Iterator[LogChunk]:
        for chunk in chunks:
            if not len(chunk):
                continue
            scored = (np.ones(len(chunk), bool) if self.scored_from is None
                      else chunk.time >= self.scored_from)
            if scored.any():
                self.rows += int(scored.sum())
                self.latest = max(self.latest, float(chunk.time[scored][-1]))
            keep = scored | (chunk.time > self.detector.profile.until)
            yield chunk if keep.all() else chunk.take(keep)

    def _scored_windows(self, block: BlockWindows) -> Windows:
        w = block.windows
        if self.scored_from is None:
            return w
        scored = block.rows.time >= self.scored_from
        if scored.all():
            return w
        rows, groups = w.row_group(len(block.rows))
        return w.take(np.bincount(groups, weights=scored[rows], minlength=len(w)) > 0)


def score_groups(detector: TrainedDetector, frame: LogFrame,
                 history: LogFrame | None = None) -> list[ScoredGroup]:
    """Every key and IP window of `frame`, flagged or not, with log row Ids."""
    sw = score_windows(detector, frame, history)
    return to_groups(detector, sw)


def to_groups(detector: TrainedDetector, sw: ScoredWindows, *,
              flagged_only: bool = False) -> list[ScoredGroup]:
    """The windows as ScoredGroups, the flagged ones explained (only those with
    `flagged_only`)."""
    w = sw.windows
    flagged = sw.flagged
    if flagged_only:
        w = w.take(flagged)
        sw = ScoredWindows(sw.frame, w, sw.scores[flagged], sw.contributions[flagged],
                           sw.threshold)
        flagged = sw.flagged
    ids = w.group_ids()
    row_ids = sw.frame.ids
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
