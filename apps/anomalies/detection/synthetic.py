"""Synthetic Web API logs with labelled injected anomalies (`generate_license_logs`).

Why a generator: no public licence-log dataset with anomaly labels exists (see the reference
notes), so the detector is measured on logs whose normal part follows how licensed software
is used -- people start their programs during local office hours, less on weekends, servers
check in around the clock, floating licences heartbeat, laptops travel, machines get
replaced, customers mistype keys -- and whose anomalies are injected with known rows.
Everything is vectorised NumPy: 700,000 rows take a few seconds.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .frame import LogFrame
from .synthetic_normal import normal_traffic
from .synthetic_world import Events, World, build_world

ANOMALY_KINDS = ("failed_verifications", "floating_starved", "key_sharing", "brute_force",
                 "hammering", "off_hours", "seat_churn")


@dataclass(frozen=True)
class GeneratorConfig:
    """`customers` sets the scale (about 920 rows per customer over 30 days: 760 customers
    give ~700,000 rows). Anomalies are injected between `anomaly_from_day` and
    `anomaly_to_day` (default: the whole log), `instances_per_kind` of each kind."""

    days: int = 30
    seed: int = 0
    customers: int = 760
    start: dt.datetime = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # a Monday
    instances_per_kind: int = 6
    anomaly_from_day: float = 0.0
    anomaly_to_day: float | None = None
    kinds: tuple[str, ...] = ANOMALY_KINDS


@dataclass
class AnomalyLabel:
    """One injected instance: which key or IP, when, and exactly which log rows."""

    kind: str
    key: str | None
    ip: str | None
    product_id: int | None
    start: float
    end: float
    row_ids: list[int] = field(default_factory=list)


@dataclass
class SyntheticLog:
    frame: LogFrame
    labels: list[AnomalyLabel]

    def anomalous_row_mask(self) -> np.ndarray:
        return np.isin(self.frame.ids, [i for lab in self.labels for i in lab.row_ids])

    def write(self, csv_path: str | Path, labels_path: str | Path) -> None:
        """CSV in the portal's import format plus a JSON list of labels."""
        self.frame.to_csv(csv_path)
        Path(labels_path).write_text(json.dumps([asdict(lab) for lab in self.labels]))


def generate_license_logs(config: GeneratorConfig | None = None) -> SyntheticLog:
    """A labelled synthetic log, Ids ascending with time."""
    from .synthetic_anomalies import inject  # the injectors need World/Events from here

    config = config or GeneratorConfig()
    rng = np.random.default_rng(config.seed)
    t0 = config.start.timestamp()
    world = build_world(rng, customers=config.customers, days=config.days, t0=t0)
    events = Events(world)
    normal_traffic(world, events, rng)
    lo = t0 + config.anomaly_from_day * 86400
    hi = t0 + (config.days if config.anomaly_to_day is None else config.anomaly_to_day) * 86400
    specs: list[AnomalyLabel] = []
    for kind in config.kinds:
        for _ in range(config.instances_per_kind):
            specs.append(inject(kind, world, events, rng, lo, hi, label=len(specs)))
    return _assemble(world, events, specs)


def _assemble(world: World, events: Events, specs: list[AnomalyLabel]) -> SyntheticLog:
    cols = events.columns()
    order = np.argsort(cols["time"], kind="stable")
    ids = np.empty(len(order), dtype=np.int64)
    ids[order] = np.arange(1, len(order) + 1)
    label_of = cols.pop("label")
    frame = LogFrame(
        ids=ids, product_id=cols["product"], time=np.floor(cols["time"]),
        state=cols["state"].astype(np.int32), floating_expires=np.floor(cols["expires"]),
        codes={k: cols[k].astype(np.int32)
               for k in ("key", "ip", "machine", "friendly", "method", "country")},
        vocabs={k: np.array(v.values, dtype=object) for k, v in world.strings.items()})
    by_label = np.argsort(label_of, kind="stable")
    bounds = np.searchsorted(label_of[by_label], np.arange(len(specs) + 1))
    for i, spec in enumerate(specs):
        rows = by_label[bounds[i]:bounds[i + 1]]
        spec.row_ids = np.sort(ids[rows]).tolist()
        if len(rows):
            spec.start = float(np.floor(cols["time"][rows].min()))
            spec.end = float(np.floor(cols["time"][rows].max()))
    return SyntheticLog(frame, specs)
