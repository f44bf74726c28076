"""The acceptance benchmark of issue #8 as a pure function plus a printed table: the
autoencoder against IsolationForest and ECOD on generated 30-day logs, several seeds, with
clean and with contaminated training history. bench/anomalies.py and the Django command
both call `run_benchmark` and `format_report`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypedDict

import numpy as np

from .detector import DetectorConfig
from .evaluation import Result, evaluate
from .synthetic import ANOMALY_KINDS, GeneratorConfig, generate_license_logs


class Scenario(TypedDict):
    instances_per_kind: int
    anomaly_from_day: float | None  # None: right after the training days


SCENARIOS: dict[str, Scenario] = {
    # Anomalies only after the training days: the history the model learns from is clean.
    "clean": {"instances_per_kind": 6, "anomaly_from_day": None},
    # Anomalies all month long: about 2 % of the training windows hold injected rows.
    "contaminated": {"instances_per_kind": 30, "anomaly_from_day": 0.0},
}


@dataclass
class BenchmarkRun:
    scenario: str
    seed: int
    rows: int
    results: list[Result]


def run_benchmark(*, seeds: tuple[int, ...] = (0, 1, 2),
                  scenarios: tuple[str, ...] = ("clean", "contaminated"), days: int = 30,
                  train_days: int = 21, customers: int | None = None,
                  config: DetectorConfig | None = None,
                  progress: Callable[[str], None] | None = None) -> list[BenchmarkRun]:
    """Generate, train on the first `train_days`, score the rest, for each seed/scenario."""
    runs = []
    for scenario in scenarios:
        for seed in seeds:
            params = SCENARIOS[scenario]
            from_day = params["anomaly_from_day"]
            gen = GeneratorConfig(days=days, seed=seed,
                                  instances_per_kind=params["instances_per_kind"],
                                  anomaly_from_day=float(train_days) if from_day is None
                                  else from_day)
            if customers:
                gen = replace(gen, customers=customers)
            log = generate_license_logs(gen)
            cfg = replace(config or DetectorConfig(), seed=seed)
            results = evaluate(log, train_days=train_days, config=cfg)
            runs.append(BenchmarkRun(scenario, seed, len(log.frame), results))
            if progress:
                progress(f"{scenario} seed {seed}: {len(log.frame):,} rows, " + ", ".join(
                    f"{r.detector} AP {r.average_precision:.3f}" for r in results))
    return runs


def _cell(values: list[float], digits: int = 3) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f}±{np.std(values):.{digits}f}"


def format_report(runs: list[BenchmarkRun], *, train_days: int = 21) -> str:
    """Mean ± std over seeds per scenario and detector, then recall per anomaly kind."""
    out = [f"Protocol: train on the first {train_days} days of each generated log, score the "
           f"rest; no labels used in training or thresholds. Groups = hourly key and IP "
           f"windows; AUC/AP over groups (ambiguous groups left out); recall per injected "
           f"instance; false findings = incidents without injected rows, per test day."]
    head = (f"{'scenario':13s} {'detector':12s} {'ROC-AUC':>13s} {'AP':>13s} {'recall':>11s} "
            f"{'false/day':>11s} {'window FPR':>15s} {'seconds':>9s}")
    for scenario in dict.fromkeys(r.scenario for r in runs):
        sruns = [r for r in runs if r.scenario == scenario]
        first = sruns[0].results[0].extra
        rows = np.mean([r.rows for r in sruns])
        dirty = 100 * np.mean([r.results[0].extra["training_contamination"] for r in sruns])
        out += ["", f"== {scenario}: {len(sruns)} seeds, {rows:,.0f} rows per log, training "
                f"windows holding injected rows: {dirty:.2f} %, test period: "
                f"{first['instances']} instances, {first['positives']} positive of "
                f"{first['groups']} groups (seed {sruns[0].seed})", head]
        names = [r.detector for r in sruns[0].results]
        for i, name in enumerate(names):
            rs = [run.results[i] for run in sruns]
            out.append(f"{scenario:13s} {name:12s} {_cell([r.roc_auc for r in rs], 4):>13s} "
                       f"{_cell([r.average_precision for r in rs]):>13s} "
                       f"{_cell([r.instance_recall for r in rs], 2):>11s} "
                       f"{_cell([r.false_findings_per_day for r in rs], 1):>11s} "
                       f"{_cell([r.window_fpr for r in rs], 5):>15s} "
                       f"{_cell([r.seconds for r in rs], 1):>9s}")
        out.append(f"{'recall by kind':26s}" + " ".join(f"{k[:12]:>12s}" for k in ANOMALY_KINDS))
        for i, name in enumerate(names):
            rs = [run.results[i] for run in sruns]
            out.append(f"  {scenario[:10]:10s} {name:13s}" + " ".join(
                f"{np.mean([r.recall_by_kind.get(k, np.nan) for r in rs]):12.2f}"
                for k in ANOMALY_KINDS))
    out += ["", "Threshold (autoencoder): " + runs[0].results[0].extra["threshold_method"],
            "Seconds: autoencoder = featurise + train on the training days + score the test "
            "days; baselines = fit + score on the autoencoder's features."]
    return "\n".join(out)
