"""Evaluation against labelled synthetic logs: the autoencoder and the shallow baselines on the
same windows, features and scaling.

Protocol (reference notes, section 4.3): train on the first `train_days`, score the rest,
never look at labels while training. The baselines are fitted on the same windows and
features; their thresholds come from their own training scores the same way (POT at the same
quantile, after the same persistence-ranked hygiene share). A group is positive when it holds
rows of an injected instance *and* is a window of that instance's subject (its key, or its IP
for key guessing); windows that merely contain such rows under another subject (the IP
windows of a leaked key) are left out of ROC-AUC / AP rather than counted either way.
Instance recall: an instance is found when any flagged window holds one of its rows. A false
finding is an incident (flagged windows of one subject merged) with no injected row in it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from .baselines import fit_baseline
from .detector import DetectorConfig, TrainedDetector, persistent_scores, train_detector
from .features import Windows, featurise
from .frame import LogFrame
from .history import Profile
from .incidents import MERGE_GAP_SECONDS
from .scoring import ScoredWindows, score_windows
from .synthetic import AnomalyLabel, SyntheticLog
from .threshold import pot_threshold


@dataclass
class Truth:
    """Per test window: 1 positive, 0 negative, -1 ambiguous; and which instance rows."""

    label: np.ndarray
    has_anomalous_rows: np.ndarray
    instance_windows: list[np.ndarray]


@dataclass
class Result:
    detector: str
    roc_auc: float
    average_precision: float
    instance_recall: float
    recall_by_kind: dict[str, float]
    false_findings_per_day: float
    window_fpr: float
    seconds: float
    extra: dict = field(default_factory=dict)


def split(log: SyntheticLog, train_days: float) -> tuple[LogFrame, LogFrame]:
    f = log.frame
    cut = float(f.time.min()) + train_days * 86400
    return f.take(f.time < cut), f.take(f.time >= cut)


def truth(sw: ScoredWindows, labels: list[AnomalyLabel]) -> Truth:
    w = sw.windows
    ids = sw.frame.ids
    row_label = np.full(len(ids), -1)
    lab_of_id = {i: n for n, lab in enumerate(labels) for i in lab.row_ids}
    row_label = np.fromiter((lab_of_id.get(int(i), -1) for i in ids), dtype=np.int64,
                            count=len(ids))
    rows, groups = w.row_group(len(ids))
    lab = row_label[rows]
    sel = lab >= 0
    g, lb = groups[sel], lab[sel]
    subj = np.array([x.key if x.key is not None else x.ip for x in labels] or [""], dtype=object)
    kind = np.array([0 if x.key is not None else 1 for x in labels] or [0])
    match = (w.subject[g] == subj[lb]) & (w.kind[g] == kind[lb])
    has = np.zeros(len(w), bool)
    has[g] = True
    label = np.where(has, -1, 0)
    label[g[match]] = 1
    inst = [np.unique(g[lb == n]) for n in range(len(labels))]
    return Truth(label, has, inst)


def incidents_of(sw_kind: np.ndarray, entity: np.ndarray, start: np.ndarray, end: np.ndarray,
                 flagged: np.ndarray, gap: float = MERGE_GAP_SECONDS) -> np.ndarray:
    """Incident number of each flagged window (same merge rule as merge_incidents)."""
    idx = np.flatnonzero(flagged)
    order = idx[np.lexsort((start[idx], entity[idx], sw_kind[idx]))]
    inc = np.full(len(flagged), -1)
    n, prev, prev_end = -1, None, -np.inf
    for i in order:
        key = (sw_kind[i], entity[i])
        if key != prev or start[i] > prev_end + gap:
            n += 1
            prev_end = -np.inf
        inc[i] = n
        prev, prev_end = key, max(prev_end, end[i])
    return inc


def measure(name: str, scores: np.ndarray, threshold: float, sw: ScoredWindows, t: Truth,
            labels: list[AnomalyLabel], days: float, seconds: float) -> Result:
    keep = t.label >= 0
    y, s = t.label[keep], scores[keep]
    flagged = scores > threshold
    w = sw.windows
    inc = incidents_of(w.kind, w.entity_hash, w.start, w.end, flagged)
    n_inc = inc.max() + 1 if flagged.any() else 0
    true_inc = np.zeros(max(n_inc, 1), bool)
    true_inc[inc[flagged & t.has_anomalous_rows]] = True
    # Only instances with rows in the scored period can be found (the contaminated
    # scenario also injects into the training days).
    present = [n for n, g in enumerate(t.instance_windows) if len(g)]
    found = np.array([flagged[t.instance_windows[n]].any() for n in present], dtype=bool)
    kinds = sorted({labels[n].kind for n in present})
    by_kind = {k: float(np.mean([f for f, n in zip(found, present, strict=True)
                                 if labels[n].kind == k])) for k in kinds}
    negatives = t.label == 0
    return Result(name, float(roc_auc_score(y, s)), float(average_precision_score(y, s)),
                  float(found.mean()) if len(found) else float("nan"), by_kind,
                  float((n_inc - true_inc[:n_inc].sum()) / days),
                  float(flagged[negatives].mean()), seconds,
                  {"incidents": int(n_inc), "positives": int(y.sum()), "groups": len(y),
                   "instances": len(present)})


def evaluate(log: SyntheticLog, *, train_days: float = 21, config: DetectorConfig | None = None,
             baselines: tuple[str, ...] = ("iforest", "ecod")) -> list[Result]:
    """Train on the first `train_days` of `log`, score the rest; one Result per detector."""
    config = config or DetectorConfig()
    train, test = split(log, train_days)
    days = (float(test.time.max()) - float(test.time.min())) / 86400
    started = time.perf_counter()
    detector = train_detector(train, config=config)
    sw = score_windows(detector, test)
    seconds = time.perf_counter() - started
    t = truth(sw, log.labels)
    results = [measure("autoencoder", sw.scores, detector.threshold, sw, t, log.labels, days,
                       seconds)]
    results[0].extra.update({"threshold_method": detector.metadata["threshold_method"],
                             "holdout_fpr": detector.metadata["false_positive_rate"]})
    x_train, contaminated, warm_windows = _baseline_training(detector, train, log)
    for r in results:
        r.extra["training_contamination"] = contaminated
    x_test = detector.scaler.transform(sw.windows.features)
    quantile = 1 - config.sensitivity / detector.metadata["windows_per_day"]
    for name in baselines:
        started = time.perf_counter()
        model = fit_baseline(name, x_train, seed=config.seed)
        thr, _ = pot_threshold(_cleaned(model.score(x_train), warm_windows, config), quantile)
        scores = model.score(x_test)
        results.append(measure(name, scores, thr, sw, t, log.labels, days,
                               time.perf_counter() - started))
        results[-1].extra["training_contamination"] = contaminated
    return results


def _cleaned(scores: np.ndarray, w: Windows, config: DetectorConfig) -> np.ndarray:
    """A baseline's training scores without the share the detector's own hygiene would drop
    (same persistence ranking), so its threshold is calibrated the same way."""
    if not config.contamination:
        return scores
    ranked = persistent_scores(scores, w.entity_hash, w.start, config.window_seconds,
                               config.hygiene_persistence) if config.hygiene_persistence \
        else scores
    n_drop = round(config.contamination * len(scores))
    return scores[np.sort(np.argsort(-ranked, kind="stable")[n_drop:])]


def _baseline_training(detector: TrainedDetector, train: LogFrame,
                       log: SyntheticLog) -> tuple[np.ndarray, float, Windows]:
    """The autoencoder's candidate windows (after warm-up), same scaling, for the shallow
    baselines (no hygiene: they are robust to it by design); the share of those windows
    holding injected rows (the training contamination actually reached); the windows."""
    cfg = detector.config
    w = featurise(train, window_seconds=cfg.window_seconds, profile=Profile()).windows
    t0, t1 = float(train.time.min()), float(train.time.max())
    warm = w.start >= t0 + min(cfg.warmup_seconds, 0.25 * (t1 - t0))
    bad = np.isin(train.ids, [i for lab in log.labels for i in lab.row_ids])
    rows, groups = w.row_group(len(train))
    has = np.bincount(groups, weights=bad[rows], minlength=len(w)) > 0
    return detector.scaler.transform(w.features[warm]), float(has[warm].mean()), w.take(warm)
