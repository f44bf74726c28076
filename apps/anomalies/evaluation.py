"""The evaluation grid behind `evaluate_anomaly_detector`: the detection package's `evaluate`
(autoencoder, IsolationForest and ECOD on the same windows) over several seeds, with a clean
training period and with one contaminated by injected anomalies, printed side by side.

Clean: anomalies are injected only after the training days. Contaminated: they are injected
over the whole log, with as many instances per kind as it takes for about `contamination` of
the training windows (key-hours and IP-hours) to hold anomalous rows; the share reached is
printed, measured rather than assumed (at small scales one instance per kind is already more).
Recall is measured on the instances of the test days only: one that ended inside the training
days cannot be found by scoring the test days. No Django here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # a Monday
MAX_INSTANCES = 60


@dataclass
class GridRow:
    condition: str  # "clean" or "contaminated"
    seed: int
    contamination: float  # share of anomalous rows in the training days
    result: object  # detection.evaluation.Result


def _windows(frame, rows: np.ndarray, seconds: int) -> int:
    hour = (frame.time[rows] // seconds).astype(np.int64)
    keys = np.unique(np.stack([frame.codes["key"][rows], frame.product_id[rows], hour]), axis=1)
    ips = np.unique(np.stack([frame.codes["ip"][rows], hour]), axis=1)
    return keys.shape[1] + ips.shape[1]


def _training_share(log, train_days: float, seconds: int = 3600) -> float:
    """Share of the training days' key-hour and IP-hour windows that are windows of an
    injected instance's own subject (its key, or its IP for key guessing) holding its rows:
    the evaluation's notion of a positive window."""
    frame = log.frame
    cut = float(frame.time.min()) + train_days * 86400
    train = frame.time < cut
    if not train.any():
        return 0.0
    position = {int(row_id): i for i, row_id in enumerate(frame.ids.tolist())}
    bad = set()
    for label in log.labels:
        rows = [position[i] for i in label.row_ids if i in position]
        hours = {int(frame.time[r] // seconds) for r in rows if frame.time[r] < cut}
        bad.update((label.kind, label.key, label.ip, hour) for hour in hours)
    return len(bad) / _windows(frame, np.flatnonzero(train), seconds)


def _test_labels_only(log, train_days: float):
    from apps.anomalies.detection.synthetic import SyntheticLog

    cut = float(log.frame.time.min()) + train_days * 86400
    return SyntheticLog(log.frame, [label for label in log.labels if label.end >= cut])


def _log(*, days: int, train_days: float, customers: int, seed: int, contamination: float):
    """One generated log: clean training (contamination 0) or about `contamination` of the
    training windows anomalous."""
    from apps.anomalies.detection.synthetic import GeneratorConfig, generate_license_logs

    base = GeneratorConfig(days=days, seed=seed, customers=customers, start=START)
    if contamination <= 0:
        return generate_license_logs(GeneratorConfig(
            **{**base.__dict__, "anomaly_from_day": train_days}))
    instances, log = 1, None
    while instances <= MAX_INSTANCES:
        log = generate_license_logs(GeneratorConfig(
            **{**base.__dict__, "instances_per_kind": instances}))
        if _training_share(log, train_days) >= contamination:
            break
        instances *= 2
    return log


def evaluation_grid(*, days: int, train_days: float, customers: int, seeds: list[int],
                    contamination: float) -> list[GridRow]:
    """Every (condition, seed) run of the detection package's evaluate()."""
    from apps.anomalies.detection.evaluation import evaluate

    rows = []
    for condition, share in (("clean", 0.0), ("contaminated", contamination)):
        for seed in seeds:
            log = _log(days=days, train_days=train_days, customers=customers, seed=seed,
                       contamination=share)
            measured = _training_share(log, train_days)
            results = evaluate(_test_labels_only(log, train_days), train_days=train_days)
            rows.extend(GridRow(condition, seed, measured, result) for result in results)
    return rows


def _mean(values: list[float]) -> str:
    clean = [v for v in values if v == v]  # NaN: no instance of that kind in the test days
    if not clean:
        return "–"
    mean, spread = float(np.mean(clean)), float(np.std(clean))
    return f"{mean:.3f}±{spread:.3f}" if len(clean) > 1 else f"{mean:.3f}"


def format_tables(rows: list[GridRow]) -> str:
    """Per-run lines, then mean ± standard deviation over the seeds, then recall per kind."""
    lines = [f"{'condition':<13}{'seed':>5}{'contam.':>9}  {'detector':<12}{'ROC-AUC':>8}"
             f"{'AP':>8}{'recall':>8}{'false/day':>10}{'win FPR':>9}{'seconds':>9}"]
    for row in rows:
        r = row.result
        lines.append(f"{row.condition:<13}{row.seed:>5}{row.contamination:>9.2%}  "
                     f"{r.detector:<12}{r.roc_auc:>8.3f}{r.average_precision:>8.3f}"
                     f"{r.instance_recall:>8.3f}{r.false_findings_per_day:>10.2f}"
                     f"{r.window_fpr:>9.4f}{r.seconds:>9.1f}")
    groups: dict[tuple[str, str], list] = {}
    for row in rows:
        groups.setdefault((row.condition, row.result.detector), []).append(row.result)
    lines += ["", f"{'condition':<13}{'detector':<12}{'ROC-AUC':>14}{'AP':>14}{'recall':>14}"
                  f"{'false/day':>14}"]
    for (condition, detector), results in groups.items():
        lines.append(f"{condition:<13}{detector:<12}" + "".join(
            f"{_mean([getattr(r, name) for r in results]):>14}" for name in (
                "roc_auc", "average_precision", "instance_recall", "false_findings_per_day")))
    kinds = sorted({k for row in rows for k in row.result.recall_by_kind})
    lines += ["", "Recall per anomaly kind (mean over seeds)",
              f"{'condition':<13}{'detector':<12}" + "".join(f"{k[:13]:>14}" for k in kinds)]
    for (condition, detector), results in groups.items():
        lines.append(f"{condition:<13}{detector:<12}" + "".join(
            f"{_mean([r.recall_by_kind.get(k, float('nan')) for r in results]):>14}"
            for k in kinds))
    return "\n".join(lines)
