"""Training: featurise the vendor's history, clean it, fit the autoencoder, set the boundary.

Why this order: the history contains the very anomalies we want to find, and an autoencoder
trained on 2 % anomalous windows learns to reconstruct them (AP 0.86 -> 0.44 in the reference
runs). So windows the vendor marked as real findings and the windows a robust shallow method
(ECOD by default) ranks highest are dropped first; the threshold is then taken from windows
held out of training, so the false-positive rate it reports is measured, not assumed.

A log of more than `max_windows` windows is trained on a sample of whole keys and IPs
(sample.py): scaling, hygiene, the fit and the held-out scores of the threshold come from the
sample, the profile and the window counts (warm-up, alert budget) from every window.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np

from .baselines import fit_baseline
from .chunks import LogChunk, known_key_hashes
from .features import FEATURES, Featurised, Windows, scale_floors
from .frame import LogFrame
from .history import Profile
from .model import (
    AutoEncoder,
    RobustScaler,
    deterministic,
    encode,
    knn_distance,
    model_from_arrays,
    state_arrays,
    train_autoencoder,
)
from .sample import MAX_WINDOWS, StreamTotals, WindowSample, collect_sample
from .stream import BLOCK_ROWS, WindowBuilder
from .threshold import pot_threshold

VERSION = "ae-knn-1"
MAGIC = b"LPAD1"
ERROR_WEIGHT_RANGE = 5.0


class TrainingError(Exception):
    """Training is impossible or meaningless (too little data...); the message says why."""


@dataclass(frozen=True)
class DetectorConfig:
    """Per-vendor settings; every default is what bench/anomalies.py measured.

    `sensitivity`: the number of false-alarm *windows* a day the threshold aims at on normal
    traffic (higher = more findings; merged into incidents they are fewer). `contamination`:
    the share of training windows believed anomalous, dropped by the `hygiene` method (and
    the same share of the held-out windows the threshold is set on). `window_seconds`: the
    length of a key/IP window. `max_windows`: the most windows training keeps in memory; a
    longer log is trained on a sample of whole keys/IPs (sample.py), its threshold calibrated
    on that sample's held-out windows. The rest are model knobs (reference notes, 2.2)."""

    seed: int = 0
    sensitivity: float = 1.5
    window_seconds: int = 3600
    hidden: tuple[int, ...] = (32, 16)
    bottleneck: int = 6
    epochs: int = 20
    batch_size: int = 512
    learning_rate: float = 2e-3
    weight_decay: float = 1e-5
    hygiene: str = "ecod"  # "ecod" or "iforest": which method cleans the training windows
    contamination: float = 0.02  # fraction of training windows it drops
    hygiene_persistence: int = 3  # rank by the score sustained over +-3 windows of an entity
    clean_holdout: bool = True  # the same hygiene on the held-out (threshold) windows
    holdout_fraction: float = 0.2
    latent_weight: float = 0.5  # share of the latent kNN distance in the score
    knn_k: int = 10
    error_weighting: bool = False  # weigh per-feature errors by 1/training error (off: MSE)
    knn_reference: int = 2000
    max_train_windows: int = 60_000  # a random sample beyond this: 20 epochs stay fast
    # Windows kept in memory while the log streams in (sample.py): beyond it, a sample of
    # whole keys/IPs; training memory stops growing with the log there.
    max_windows: int = MAX_WINDOWS
    warmup_seconds: int = 3 * 86400  # first days: every machine is "new", not trained on
    min_rows: int = 500
    min_windows: int = 200
    threads: int = 1


@dataclass
class TrainedDetector:
    """Everything scoring needs: model, scaler, normal latent codes, threshold, profile."""

    config: DetectorConfig
    scaler: RobustScaler
    model: AutoEncoder
    reference: np.ndarray
    error_scale: np.ndarray
    norms: np.ndarray  # (recon, knn) normalisers
    threshold: float
    profile: Profile
    usual: np.ndarray  # (2 kinds, n_features, lo/hi) raw usual ranges
    metadata: dict = field(default_factory=dict)

    def reconstruction(self, errors: np.ndarray) -> np.ndarray:
        """Weighted mean squared error. With `error_weighting`, features the model normally
        reconstructs well (rare signals: new countries, refused seats) weigh up to 5x more
        and noisy ones (request counts) down to 0.2x, relative to the median feature."""
        if not self.config.error_weighting:
            return errors.mean(axis=1)
        med = np.median(self.error_scale)
        weights = np.clip(med / self.error_scale, 1 / ERROR_WEIGHT_RANGE, ERROR_WEIGHT_RANGE)
        return (errors * weights).mean(axis=1)

    def combine(self, errors: np.ndarray, latents: np.ndarray,
                knn: np.ndarray | None = None) -> np.ndarray:
        """Anomaly score: normalised reconstruction error mixed with latent kNN distance
        (`knn`: the latents' distances when already computed)."""
        recon = self.reconstruction(errors) / self.norms[0]
        if knn is None:
            knn = knn_distance(self.reference, latents, self.config.knn_k)
        knn = knn / self.norms[1]
        w = self.config.latent_weight
        return (1 - w) * recon + w * knn

    def to_bytes(self) -> bytes:
        """One blob: magic + np.savez (weights, scaler, profile; no pickle) + JSON."""
        arrays = {"median": self.scaler.median, "scale": self.scaler.scale,
                  "reference": self.reference, "error_scale": self.error_scale,
                  "norms": self.norms, "usual": self.usual, **state_arrays(self.model),
                  **self.profile.arrays()}
        meta = {"config": asdict(self.config), "threshold": self.threshold,
                "metadata": self.metadata}
        arrays["json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        # mypy also matches **arrays against savez's keyword `allow_pickle` (a bool).
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        return MAGIC + buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> TrainedDetector:
        if not blob.startswith(MAGIC):
            raise ValueError("not a trained anomaly detector blob")
        with np.load(io.BytesIO(blob[len(MAGIC):]), allow_pickle=False) as data:
            a = {k: data[k] for k in data.files}
        meta = json.loads(a.pop("json").tobytes().decode())
        cfg = meta["config"]
        cfg["hidden"] = tuple(cfg["hidden"])
        config = DetectorConfig(**cfg)
        model = model_from_arrays(a, len(FEATURES), config.hidden, config.bottleneck)
        return cls(config, RobustScaler(a["median"], a["scale"]), model, a["reference"],
                   a["error_scale"], a["norms"], float(meta["threshold"]),
                   Profile.from_arrays(a), a["usual"], meta["metadata"])


@dataclass
class TrainingWindows:
    """A featurised training log: a sample of at most `max_windows` of its windows (all of
    them below that; see sample.py), what was summed over every window (`totals`: windows
    per time slot, and the profile of the whole log), and how many rows they came from and
    when the first and the last was logged. Featurised from a LogFrame, or block by block
    from a log read in chunks (stream.py), in which case no row was ever held whole.

    Training uses it up: train_detector scales the windows' features in place (a scaled
    copy of the windows would be the largest array of the training)."""

    featurised: Featurised
    rows: int
    first: float
    last: float
    window_seconds: int
    profile: Profile
    totals: StreamTotals
    max_windows: int

    def __len__(self) -> int:
        return self.rows

    @property
    def n_windows(self) -> int:
        """Windows of the whole log (the sample holds `len(featurised.windows)`)."""
        return self.totals.windows

    @classmethod
    def from_frame(cls, frame: LogFrame, window_seconds: int, *,
                   max_windows: int = MAX_WINDOWS, seed: int = 0) -> TrainingWindows:
        chunk = LogChunk.from_frame(frame)
        return cls.from_chunks([chunk], known_keys=known_key_hashes(chunk),
                               window_seconds=window_seconds, block_rows=len(frame) + 1,
                               max_windows=max_windows, seed=seed)

    @classmethod
    def from_chunks(cls, chunks: Iterable[LogChunk], *, known_keys: np.ndarray,
                    window_seconds: int, block_rows: int = BLOCK_ROWS,
                    max_windows: int = MAX_WINDOWS, seed: int = 0) -> TrainingWindows:
        """Featurise a log read chunk by chunk in (time, id) order; `known_keys`: see
        stream.WindowBuilder; `max_windows` and `seed`: DetectorConfig's (the sample)."""
        builder = WindowBuilder(window_seconds=window_seconds, profile=Profile(),
                                known_keys=known_keys, block_rows=block_rows)
        sample: WindowSample = collect_sample(builder, chunks, max_windows=max_windows,
                                              seed=seed)
        span = (builder.first_time, builder.last_time) if builder.rows else (0.0, 0.0)
        return cls(sample.featurised, builder.rows, *span, window_seconds, sample.profile,
                   sample.totals, max_windows)


@dataclass
class TrainingSelection:
    """Which windows (indices into the featurised training windows) play which part."""

    candidates: np.ndarray  # bool: after the warm-up and not marked by the vendor
    marked: np.ndarray  # bool: in exclude_groups
    fit: np.ndarray  # indices the autoencoder is trained on (after hygiene)
    holdout: np.ndarray  # indices the threshold is calibrated on (never trained on)
    dropped: np.ndarray  # indices removed by the hygiene method


def persistent_scores(scores: np.ndarray, entity: np.ndarray, start: np.ndarray,
                      window_seconds: int, reach: int) -> np.ndarray:
    """Each window's score capped by the highest score among the same entity's windows up
    to `reach` windows before or after it (-inf without any).

    Why: the anomalies hidden in a history are persistent -- a leaked key, a hammering client,
    seat juggling last hours or days -- while rare but benign events (a mistyped key, one
    replaced PC) are single windows. Ranking by this score lets hygiene drop the former and
    keep the latter, which the model must learn are normal."""
    _, ent = np.unique(entity, return_inverse=True)
    slot = np.floor(start / window_seconds).astype(np.int64)
    width = int(slot.max() - slot.min()) + 2 * reach + 3
    key = ent.astype(np.int64) * width + (slot - slot.min() + reach + 1)
    order = np.argsort(key, kind="stable")
    sorted_key, sorted_score = key[order], scores[order]
    best = np.full(len(scores), -np.inf)
    for d in [*range(-reach, 0), *range(1, reach + 1)]:
        pos = np.searchsorted(sorted_key, key + d).clip(0, len(key) - 1)
        found = sorted_key[pos] == key + d
        best = np.where(found, np.maximum(best, sorted_score[pos]), best)
    return np.minimum(scores, best)


def select_training_windows(span: tuple[float, float], ids: Iterable[str], start: np.ndarray,
                            x: np.ndarray, config: DetectorConfig,
                            exclude: frozenset[str],
                            entity: np.ndarray | None = None) -> TrainingSelection:
    """Warm-up and vendor-marked windows out, then a held-out share, then hygiene.

    The held-out windows are drawn *before* hygiene: they stand for the traffic the
    threshold will face, rare-but-benign windows (a mistyped key, a trip abroad) included,
    which hygiene would otherwise remove from both sides and so set the boundary too low.
    Only the fit windows are cleaned: the `contamination` share the hygiene method (ECOD or
    IsolationForest) scores highest is dropped, scores made persistent (see
    persistent_scores) when `entity` is given and `hygiene_persistence` > 0. `span`: the
    first and last log time; `ids`: the windows' group ids (only read when `exclude` is not
    empty)."""
    t0, t1 = span
    warm = start >= t0 + min(config.warmup_seconds, 0.25 * (t1 - t0))
    marked = (np.fromiter((g in exclude for g in ids), dtype=bool, count=len(start)) if exclude
              else np.zeros(len(start), dtype=bool))
    candidates = warm & ~marked
    rng = np.random.default_rng(config.seed)
    idx = rng.permutation(np.flatnonzero(candidates))
    n_hold = max(int(len(idx) * config.holdout_fraction), 1)
    hold, fit = np.sort(idx[:n_hold]), np.sort(idx[n_hold:])
    dropped = np.zeros(0, dtype=np.int64)
    n_drop = round(config.contamination * len(fit))
    if n_drop and len(fit) > n_drop:
        cand = np.flatnonzero(candidates)
        scores = np.full(len(start), -np.inf)
        baseline = fit_baseline(config.hygiene, x, rows=fit, seed=config.seed)
        scores[cand] = baseline.score(x, rows=cand)
        if config.hygiene_persistence and entity is not None:
            scores = persistent_scores(scores, entity, start, config.window_seconds,
                                       config.hygiene_persistence)
        order = np.argsort(-scores[fit], kind="stable")
        dropped, fit = np.sort(fit[order[:n_drop]]), np.sort(fit[order[n_drop:]])
        if config.clean_holdout:
            n_hold_drop = round(config.contamination * len(hold))
            order = np.argsort(-scores[hold], kind="stable")
            dropped = np.sort(np.r_[dropped, hold[order[:n_hold_drop]]])
            hold = np.sort(hold[order[n_hold_drop:]])
    if len(fit) > config.max_train_windows:
        fit = np.sort(rng.choice(fit, config.max_train_windows, replace=False))
    return TrainingSelection(candidates, marked, fit, hold, dropped)


def train_detector(log: LogFrame | TrainingWindows, *, config: DetectorConfig | None = None,
                   exclude_groups: frozenset[str] = frozenset()) -> TrainedDetector:
    """Train on `log` (the vendor's history, as rows or already featurised). Raises
    TrainingError when it cannot."""
    config = config or DetectorConfig()
    started = time.perf_counter()
    if len(log) < config.min_rows:
        raise TrainingError(f"Too little log data to learn from: {len(log)} rows, at least "
                            f"{config.min_rows} are needed.")
    data = (log if isinstance(log, TrainingWindows)
            else TrainingWindows.from_frame(log, config.window_seconds,
                                            max_windows=config.max_windows, seed=config.seed))
    if data.window_seconds != config.window_seconds:
        raise ValueError("the training windows were cut for another window length")
    w = data.featurised.windows  # every window, or a sample of whole keys / IPs
    t0, t1 = data.first, data.last
    warm_from = t0 + min(config.warmup_seconds, 0.25 * (t1 - t0))
    warm = w.start >= warm_from
    n_warm = data.totals.windows_from(warm_from)  # of the whole log
    if n_warm < config.min_windows:
        raise TrainingError(f"Too few usable log windows to learn from: {n_warm}, "
                            f"at least {config.min_windows} are needed (log more days).")
    scaler = RobustScaler.fit(w.features, floors=scale_floors(), rows=np.flatnonzero(warm))
    x = scaler.transform(w.features, out=w.features)  # in place: see TrainingWindows
    sel = select_training_windows((t0, t1), w.iter_group_ids(), w.start, x, config,
                                  frozenset(exclude_groups), w.entity_hash)
    if len(sel.fit) < config.min_windows:
        raise TrainingError(f"Too few log windows left to learn from: {len(sel.fit)} after "
                            f"excluding marked findings, at least {config.min_windows} needed.")
    detector, hold_scores, losses = _fit(x, w, sel, scaler, config)
    span_days = max((t1 - t0) / 86400, 1 / 24)
    # The windows a day of the whole log that the alert budget is spread over: the warm ones
    # less the vendor's marked ones, whose share is measured on the sample (exact without
    # one: n_warm equals the sample's warm windows then).
    n_sample_warm = max(int(warm.sum()), 1)
    marked = int(sel.marked.sum()) * n_warm / n_sample_warm
    candidates = int(sel.candidates.sum()) * n_warm / n_sample_warm
    per_day = candidates / span_days
    quantile = float(np.clip(1 - config.sensitivity / per_day, 0.9, 1 - 1e-7))
    detector.threshold, method = pot_threshold(hold_scores, quantile)
    detector.profile = data.profile
    counts, edges = np.histogram(hold_scores, bins=30)
    detector.metadata = {
        "version": VERSION, "n_rows": data.rows, "n_windows": data.n_windows,
        "n_sampled_windows": len(w), "max_windows": data.max_windows,
        "n_training_windows": len(sel.fit), "n_holdout_windows": len(sel.holdout),
        "dropped_windows": {"hygiene": len(sel.dropped), "hygiene_method": config.hygiene,
                            "hygiene_fraction": config.contamination,
                            "excluded_by_vendor": round(marked),
                            "warmup": data.n_windows - n_warm},
        "feature_names": list(FEATURES), "threshold": detector.threshold,
        "threshold_method": method, "sensitivity": config.sensitivity,
        "windows_per_day": float(per_day), "train_loss": losses,
        "score_histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        "false_positive_rate": float((hold_scores > detector.threshold).mean()),
        "trained_seconds": time.perf_counter() - started, "seed": config.seed,
        "trained_from": t0, "trained_until": t1,
    }
    return detector


def _fit(x: np.ndarray, w: Windows, sel: TrainingSelection, scaler: RobustScaler,
         config: DetectorConfig) -> tuple[TrainedDetector, np.ndarray, list[float]]:
    """Train the autoencoder on the fit windows; score the held-out ones. Both score parts
    are normalised by their held-out p90 so that neither dominates by units alone."""
    rng = np.random.default_rng(config.seed + 1)
    with deterministic(config.seed, config.threads):
        model, losses = train_autoencoder(
            x[sel.fit], seed=config.seed, hidden=config.hidden, bottleneck=config.bottleneck,
            epochs=config.epochs, batch_size=config.batch_size, lr=config.learning_rate,
            weight_decay=config.weight_decay)
        lat_fit, err_fit = encode(model, x[sel.fit])
        lat_hold, err_hold = encode(model, x[sel.holdout])
        ref_n = min(config.knn_reference, len(lat_fit))
        reference = lat_fit[np.sort(rng.choice(len(lat_fit), ref_n, replace=False))]
        knn_hold = knn_distance(reference, lat_hold, config.knn_k)
    detector = TrainedDetector(config, scaler, model, reference, err_fit.mean(0) + 1e-6,
                               np.ones(2), 0.0, Profile(), _usual(w.raw, w.kind, sel.fit))
    detector.norms = np.array([max(np.quantile(detector.reconstruction(err_hold), 0.9), 1e-9),
                               max(np.quantile(knn_hold, 0.9), 1e-9)])
    with deterministic(config.seed, config.threads):
        hold_scores = detector.combine(err_hold, lat_hold, knn_hold)
    return detector, hold_scores, [float(v) for v in losses]


def _usual(raw: np.ndarray, kind: np.ndarray, fit_idx: np.ndarray) -> np.ndarray:
    """p1-p99 of each raw feature over training windows, per kind (key / IP)."""
    usual = np.zeros((2, raw.shape[1], 2), dtype=np.float64)
    for k in (0, 1):
        sel = fit_idx[kind[fit_idx] == k]
        for j in range(raw.shape[1] if len(sel) else 0):  # a column at a time: small copies
            column = raw[sel, j]
            usual[k, j] = np.percentile(column, 1), np.percentile(column, 99)
    return usual
