"""Training windows in bounded memory: every window of the log is featurised as it streams in,
but only a deterministic sample of at most `max_windows` of them is kept.

Why: a month of a busy vendor's log is millions of key/IP windows, and keeping every one's
feature vector made training memory grow with the log (about 850 bytes a window, 3.4 GB at
5 million rows) although the autoencoder is fitted on at most `max_train_windows` of them.
What training needs of *every* window is a few sums, kept exactly as the windows stream by
(`StreamTotals`): the global volumes the history features of a profile-less log are relative
to, the per-entity totals of the stored profile, and the number of windows per time slot (the
warm-up cut and the alert budget count windows). The rest -- robust scaling, hygiene, the
fit, the held-out scores the threshold is calibrated on -- works on the sample.

Why whole entities: hygiene ranks a window by the score its entity sustains over neighbouring
windows (detector.persistent_scores), so a sample must keep an entity's windows together. Each
entity (a key, an IP) gets a pseudo-random priority from its hash and the seed; the sample is
every window of the entities with the lowest priorities whose windows fit in `max_windows`.
Counts only grow as the log streams in, so evicting the highest priorities whenever the kept
windows exceed the cap ends on the same entities as choosing them on the whole log: the sample
does not depend on how the log was cut into chunks. Below the cap nothing is evicted and the
windows are those of stream.collect, bit for bit, and so is the trained detector.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .chunks import LogChunk
from .features import (
    FEATURES,
    HISTORY_FEATURES,
    Featurised,
    HistoryInputs,
    Windows,
    history_features,
    transform,
)
from .history import Profile
from .stream import WindowBuilder, _concat, _empty_windows, _reorder

# Default of DetectorConfig.max_windows: about 150 MB of windows; the threshold's held-out
# share of it (20 %) is still ~100,000 windows, the autoencoder fits on 60,000.
MAX_WINDOWS = 500_000
_REQUESTS, _FAILURE_RATIO = FEATURES.index("requests"), FEATURES.index("failure_ratio")
_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), \
    np.uint64(0x9E3779B97F4A7C15)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection of uint64 that scatters nearby inputs."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def entity_priority(entity_hash: np.ndarray, seed: int) -> np.ndarray:
    """Each entity's place in the sample order: lower is kept first. Another seed draws
    other entities."""
    with np.errstate(over="ignore"):
        salt = _splitmix(np.array([seed], dtype=np.uint64) + _GOLDEN)[0]
    return _splitmix(np.asarray(entity_hash, dtype=np.uint64) ^ salt)


def profile_fails(raw: np.ndarray) -> np.ndarray:
    """The failures the stored profile counts per window: requests x failure ratio, in
    float32, as the profile has always been built (note: the ratio is shrunk by
    features.RATIO_PRIOR, so this is below the failure count)."""
    return (raw[:, _REQUESTS] * raw[:, _FAILURE_RATIO]).astype(np.float64)


@dataclass
class StreamTotals:
    """What training needs of every window, summed as the windows stream by. Counts and
    request sums are integers held in float64, so their sums are exact in any order."""

    windows: int = 0
    slots: dict[float, int] = field(default_factory=dict)  # window start -> windows
    count: np.ndarray = field(default_factory=lambda: np.zeros(2, np.int64))  # per kind
    requests: np.ndarray = field(default_factory=lambda: np.zeros(2))
    failures: np.ndarray = field(default_factory=lambda: np.zeros(2))
    hod_requests: np.ndarray = field(default_factory=lambda: np.zeros((2, 24)))
    # Profile failures (profile_fails) per entity of each kind, and summed over the windows
    # that are not in the sample (the sample's own are summed at the end, in window order).
    entity_fails: list[np.ndarray] = field(default_factory=lambda: [np.zeros(0), np.zeros(0)])
    outside_fails: np.ndarray = field(default_factory=lambda: np.zeros(2))

    def add(self, w: Windows, entity: np.ndarray, history: HistoryInputs,
            fails: np.ndarray, sizes: tuple[int, int]) -> None:
        """A block's windows, their entity ids (per kind) and history inputs; `sizes`: the
        builder's number of entities of each kind so far."""
        self.windows += len(w)
        starts, counts = np.unique(w.start, return_counts=True)
        for s, c in zip(starts.tolist(), counts.tolist(), strict=True):
            self.slots[s] = self.slots.get(s, 0) + c
        for kind in (0, 1):
            sel = w.kind == kind
            h = history.take(sel)
            self.count[kind] += len(h.n)
            self.requests[kind] += float(h.n.sum())
            self.failures[kind] += float(h.fails.sum())
            self.hod_requests[kind] += np.bincount(h.hod, weights=h.n, minlength=24)
            acc = self.entity_fails[kind]
            if len(acc) < sizes[kind]:
                acc = self.entity_fails[kind] = np.concatenate(
                    [acc, np.zeros(max(sizes[kind], 2 * len(acc)) - len(acc))])
            np.add.at(acc, entity[sel], fails[sel])

    def global_volumes(self, kind: int) -> tuple[np.ndarray, float, float]:
        """features.global_volumes of all windows of one kind."""
        hist = self.hod_requests[kind] + 1.0
        n = int(self.count[kind])
        gvol = float(self.requests[kind] / n) if n else 1.0
        return hist / hist.sum(), gvol, float(self.failures[kind] / max(self.requests[kind], 1.0))

    def windows_from(self, start: float) -> int:
        """Windows starting at `start` or later."""
        return sum(c for s, c in self.slots.items() if s >= start)


@dataclass
class WindowSample:
    """The kept windows (in the order of stream.collect) and what was summed over all."""

    featurised: Featurised
    profile: Profile  # the profile of the whole log (history.build_profile of every window)
    totals: StreamTotals


class _Pool:
    """The windows kept so far, as blocks; evicts whole entities past the cap."""

    def __init__(self, max_windows: int, seed: int, totals: StreamTotals) -> None:
        self.max_windows, self.seed, self.totals = max_windows, seed, totals
        self.limit: np.uint64 | None = None  # priorities >= limit are out of the sample
        self.parts: list[tuple[Windows, np.ndarray, HistoryInputs, np.ndarray, np.ndarray]] = []
        self.size = 0

    def add(self, w: Windows, code: np.ndarray, history: HistoryInputs,
            fails: np.ndarray) -> None:
        prio = entity_priority(w.entity_hash, self.seed)
        if self.limit is not None:
            self._drop_outside(w.kind, fails, prio >= self.limit)
            keep = np.flatnonzero(prio < self.limit)
            if len(keep) < len(w):
                w, code, history = w.take(keep), code[keep], history.take(keep)
                fails, prio = fails[keep], prio[keep]
        self.parts.append((w, code, history, fails, prio))
        self.size += len(w)
        if self.size > self.max_windows:
            self._evict()

    def _drop_outside(self, kind: np.ndarray, fails: np.ndarray, out: np.ndarray) -> None:
        for k in (0, 1):
            self.totals.outside_fails[k] += float(fails[out & (kind == k)].sum())

    def merged(self) -> tuple[Windows, np.ndarray, HistoryInputs, np.ndarray, np.ndarray]:
        """The kept windows as one part (the parts are emptied on the way)."""
        parts, self.parts = self.parts, []
        if len(parts) == 1:
            return parts[0]
        codes = np.concatenate([p[1] for p in parts])
        history = HistoryInputs.concat([p[2] for p in parts])
        fails = np.concatenate([p[3] for p in parts])
        prio = np.concatenate([p[4] for p in parts])
        return _concat([p[0] for p in parts]), codes, history, fails, prio

    def _evict(self) -> None:
        """Keep the entities of lowest priority whose windows fit in the cap; the parts are
        filtered one by one (a merged copy of the kept windows would double the peak)."""
        levels, per_level = np.unique(np.concatenate([p[4] for p in self.parts]),
                                      return_counts=True)
        fit = int(np.searchsorted(np.cumsum(per_level), self.max_windows, side="right"))
        self.limit = levels[fit]
        del levels, per_level
        for i, (w, code, history, fails, prio) in enumerate(self.parts):
            out = prio >= self.limit
            if not out.any():
                continue
            self._drop_outside(w.kind, fails, out)
            keep = np.flatnonzero(~out)
            self.parts[i] = (w.take(keep), code[keep], history.take(keep), fails[keep],
                             prio[keep])
        self.parts = [p for p in self.parts if len(p[0])]
        self.size = sum(len(p[0]) for p in self.parts)


def collect_sample(builder: WindowBuilder, chunks: Iterable[LogChunk], *, max_windows: int,
                   seed: int) -> WindowSample:
    """stream.collect for training (a builder without a profile), keeping at most
    `max_windows` windows (see the module docstring), plus the profile of the whole log."""
    if builder.final:
        raise ValueError("a training sample is taken from a log featurised without a profile")
    if max_windows < 1:
        raise ValueError("max_windows must be at least 1")
    totals = StreamTotals()
    pool = _Pool(max_windows, seed, totals)
    for block in builder.blocks(chunks):
        w = block.windows
        assert block.history is not None and block.entity is not None  # not final: see above
        w.order, w.offsets = np.zeros(0, np.int64), np.zeros(len(w) + 1, np.int64)
        fails = profile_fails(w.raw)
        totals.add(w, block.entity, block.history, fails, builder.entity_counts())
        pool.add(w, block.code, block.history, fails)
    if not pool.parts:
        windows = _empty_windows()
        sample_fails, sample_kind = np.zeros(0), windows.kind
    else:
        windows, codes, history, sample_fails, _ = pool.merged()
        _finish_history(windows, history, totals)
        del history
        order = np.lexsort((windows.start, codes, windows.product_id, windows.kind))
        if not np.array_equal(order, np.arange(len(order))):
            _reorder(windows, order)
            sample_fails = sample_fails[order]
        sample_kind = windows.kind
    profile = _profile(builder, totals, sample_fails, sample_kind)
    feat = Featurised(windows, builder.pairs(), builder.seen_known_keys())
    return WindowSample(feat, profile, totals)


def _finish_history(w: Windows, inputs: HistoryInputs, totals: StreamTotals) -> None:
    """stream._finish_history with the global volumes of every window, not just the kept."""
    for kind in (0, 1):
        sel = np.flatnonzero(w.kind == kind)
        cols = history_features(inputs.take(sel), *totals.global_volumes(kind))
        raw, x = transform(cols, names=HISTORY_FEATURES)
        for j, name in enumerate(HISTORY_FEATURES):
            col = FEATURES.index(name)
            w.raw[sel, col] = raw[:, j]
            w.features[sel, col] = x[:, j]


def _profile(builder: WindowBuilder, totals: StreamTotals, sample_fails: np.ndarray,
             sample_kind: np.ndarray) -> Profile:
    """history.build_profile of every window of the stream, from the builder's per-entity
    totals (every window of an entity is counted there) instead of the windows."""
    hashes, total, windows, hod, fails = [], [], [], [], []
    for kind, ents in enumerate(builder.entities()):
        m = len(ents.hash)
        has = np.flatnonzero(ents.windows[:m] > 0)
        hashes.append(ents.hash[has])
        total.append(ents.total[has])
        windows.append(ents.windows[has])
        hod.append(ents.hod[has])
        acc = totals.entity_fails[kind]
        fails.append(np.r_[acc, np.zeros(max(m - len(acc), 0))][has])
    uniq, inv = np.unique(np.concatenate(hashes), return_inverse=True)
    hod_counts = np.zeros((len(uniq), 24))
    np.add.at(hod_counts, inv, np.concatenate(hod))
    global_hod = np.full((2, 24), 1 / 24)
    global_volume = np.ones(2)
    global_fail = np.full(2, 0.01)
    for k in (0, 1):
        if totals.count[k]:
            global_hod[k], global_volume[k], _ = totals.global_volumes(k)
            # Sum of the sample's windows in window order, as build_profile summed them all.
            failed = totals.outside_fails[k] + sample_fails[sample_kind == k].sum()
            global_fail[k] = float(failed / max(totals.requests[k], 1.0))
    pairs = builder.pairs()
    return Profile(uniq, np.bincount(inv, weights=np.concatenate(total), minlength=len(uniq)),
                   np.bincount(inv, weights=np.concatenate(windows), minlength=len(uniq)),
                   hod_counts,
                   np.bincount(inv, weights=np.concatenate(fails), minlength=len(uniq)),
                   {k: np.unique(v) for k, v in pairs.items()},
                   np.unique(builder.seen_known_keys()), global_hod, global_volume, global_fail,
                   builder.last_time)
