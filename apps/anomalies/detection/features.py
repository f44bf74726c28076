"""Web API log rows -> per-key and per-IP time windows with one feature vector each.

Why windows of two kinds: most abuse shows on a licence key (sharing, churn, hammering,
off-hours use) but key guessing never repeats a key, so it only shows on the IP the guesses
come from. Rows whose key never succeeded (typed or guessed keys) therefore belong to IP
windows only; rows of real keys belong to one key window and one IP window.

Why causal history features: "new machine", "usual hour" and "usual volume" are relative to
what the key did *before* the window (the stored profile plus earlier rows), never after, so
a training window and a live window are computed the same way.

How: stream.WindowBuilder computes the windows block by block from the rows in time order
(a frame in memory is one block, a log read from the database many); this module defines
what the windows hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

import numpy as np

from .frame import LogFrame
from .history import Profile

FEATURES = (
    "requests", "relative_volume", "failure_ratio", "unknown_key_ratio", "limit_ratio",
    "other_failure_ratio", "floating_refused_ratio", "floating_share", "overdraft_ratio",
    "failures", "failure_surprise", "machines", "ips", "countries", "keys", "new_machines",
    "new_countries", "new_ips", "recent_machines", "recent_countries", "recent_ips",
    "foreign_new_machines", "new_activations", "deactivations", "churn", "hour_typicality",
    "hour_sin", "hour_cos", "weekend", "regularity", "is_ip", "history_windows",
)
# Counts enter the model as log1p(count); their raw values stay counts for explanations.
LOG_FEATURES = frozenset({
    "requests", "failures", "machines", "ips", "countries", "keys", "new_machines",
    "new_countries", "new_ips", "recent_machines", "recent_countries", "recent_ips",
    "foreign_new_machines", "new_activations", "deactivations", "churn", "history_windows"})
# Features whose model input is log(raw) (raw is a ratio to the entity's own history).
LOG_RATIO_FEATURES = frozenset({"relative_volume", "hour_typicality", "failure_surprise"})
RATIO_FEATURES = frozenset({"failure_ratio", "unknown_key_ratio", "limit_ratio",
                            "other_failure_ratio", "floating_refused_ratio", "floating_share",
                            "overdraft_ratio"})
RECENT_SECONDS = 86400  # "recent" machines/countries/IPs: first seen for the entity < 24 h ago
HISTORY_CAP = 48  # history_windows saturates: a feature growing with time would drift
FLOATING_STATES = (2014, 2015, 2024)
HOUR_PRIOR = 5.0  # pseudo-requests of the global hour profile mixed into each entity's own
VOLUME_PRIOR = 1.0  # pseudo-windows of the global mean volume
FAIL_PRIOR = 20.0  # pseudo-requests of the global failure rate
RATIO_PRIOR = 2.0  # pseudo-requests in the denominator of every ratio
# Relative to the entity's earlier windows: final only once every earlier row is read.
HISTORY_FEATURES = ("relative_volume", "hour_typicality", "failure_surprise", "history_windows")


@dataclass
class Windows:
    """Featurised groups. Rows of group i are `order[offsets[i]:offsets[i + 1]]` (frame
    indices, time-ascending). `raw` holds human-readable values, `features` model inputs."""

    kind: np.ndarray
    subject: np.ndarray
    product_id: np.ndarray
    start: np.ndarray
    end: np.ndarray
    entity_hash: np.ndarray
    hod: np.ndarray
    order: np.ndarray
    offsets: np.ndarray
    raw: np.ndarray
    features: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def rows_of(self, i: int) -> np.ndarray:
        return self.order[self.offsets[i]:self.offsets[i + 1]]

    def group_ids(self) -> list[str]:
        """Stable ids: key:<product>:<key>:<start> or ip:<ip>:<start>."""
        return list(self.iter_group_ids())

    def iter_group_ids(self) -> Iterator[str]:
        """The group ids one by one (a list of millions of strings is hundreds of MB)."""
        for k, s, p, t in zip(self.kind, self.subject, self.product_id, self.start,
                              strict=True):
            yield f"key:{'' if p < 0 else p}:{s}:{int(t)}" if k == 0 else f"ip:{s}:{int(t)}"

    def row_group(self, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
        """(row index, group index) pairs for every membership."""
        sizes = np.diff(self.offsets)
        return self.order, np.repeat(np.arange(len(self)), sizes)

    def take(self, index: np.ndarray) -> Windows:
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        sizes = np.diff(self.offsets)[index]
        starts = self.offsets[:-1][index]
        pos = np.repeat(starts - np.r_[0, np.cumsum(sizes)[:-1]], sizes) + np.arange(sizes.sum())
        return Windows(self.kind[index], self.subject[index], self.product_id[index],
                       self.start[index], self.end[index], self.entity_hash[index],
                       self.hod[index], self.order[pos], np.r_[0, np.cumsum(sizes)],
                       self.raw[index], self.features[index])


@dataclass
class Featurised:
    """Windows plus what the profile of this frame needs (pair hashes, known keys)."""

    windows: Windows
    pairs: dict[str, np.ndarray]
    known_keys: np.ndarray


@dataclass
class HistoryInputs:
    """Per window: requests, failures, hour of day, and what its entity did before it (its
    requests, windows, failures and requests in this hour of day), from which the history
    features follow once the global volumes are known."""

    n: np.ndarray
    fails: np.ndarray
    hod: np.ndarray
    total: np.ndarray
    windows: np.ndarray
    failed: np.ndarray
    hour: np.ndarray

    def with_prior(self, prior: dict[str, np.ndarray]) -> HistoryInputs:
        """Plus the profile's totals of the same entities (see profile_values)."""
        return HistoryInputs(self.n, self.fails, self.hod, self.total + prior["total"],
                             self.windows + prior["windows"], self.failed + prior["fails"],
                             self.hour + prior["hod"])

    def take(self, index: np.ndarray) -> HistoryInputs:
        return HistoryInputs(*(getattr(self, f.name)[index] for f in fields(self)))

    @staticmethod
    def concat(parts: list[HistoryInputs]) -> HistoryInputs:
        return HistoryInputs(*(np.concatenate([getattr(p, f.name) for p in parts])
                               for f in fields(HistoryInputs)))


def history_features(h: HistoryInputs, ghod: np.ndarray, gvol: float,
                     gfail: float) -> dict[str, np.ndarray]:
    """Volume, failures and hour of day relative to the entity's earlier windows (causal:
    profile + earlier rows, never later ones), shrunk towards the global hour profile,
    volume and failure rate by a few pseudo-windows."""
    mean = (h.total + VOLUME_PRIOR * gvol) / (h.windows + VOLUME_PRIOR)
    share = (h.hour + HOUR_PRIOR * ghod[h.hod]) / (h.total + HOUR_PRIOR)
    fail_rate = (h.failed + FAIL_PRIOR * gfail) / (h.total + FAIL_PRIOR)
    return {"relative_volume": (h.n + 1.0) / (mean + 1.0), "hour_typicality": 24.0 * share,
            "failure_surprise": (h.fails + 1.0) / (fail_rate * h.n + 1.0),
            "history_windows": np.minimum(h.windows, HISTORY_CAP)}


def global_volumes(h: HistoryInputs) -> tuple[np.ndarray, float, float]:
    """Hour profile, mean volume and failure rate of all windows of one kind: what the
    history features of a log without a profile (training) are shrunk towards."""
    hist = np.bincount(h.hod, weights=h.n, minlength=24) + 1.0
    gvol = float(h.n.mean()) if len(h.n) else 1.0
    return hist / hist.sum(), gvol, float(h.fails.sum() / max(h.n.sum(), 1.0))


def profile_values(p: Profile, ghash: np.ndarray, hod: np.ndarray,
                   n: int) -> dict[str, np.ndarray]:
    """The profile's totals for each window's entity (zeros for entities it does not know)."""
    if not len(p.entity_hash):
        return {k: np.zeros(n) for k in ("total", "windows", "fails", "hod")}
    pidx = p.lookup(ghash)
    has = pidx >= 0
    safe = np.maximum(pidx, 0)
    return {"total": np.where(has, p.total[safe], 0.0),
            "windows": np.where(has, p.windows[safe], 0.0),
            "fails": np.where(has, p.fails[safe], 0.0),
            "hod": np.where(has, p.hod[safe, hod], 0.0)}


def transform(cols: dict[str, np.ndarray],
              names: tuple[str, ...] = FEATURES) -> tuple[np.ndarray, np.ndarray]:
    """(raw, model input) float32 matrices of the named columns: counts enter the model as
    log1p, history ratios as log, the rest as they are."""
    raw = np.stack([cols[name] for name in names], axis=1)
    x = raw.copy()
    for j, name in enumerate(names):
        if name in LOG_FEATURES:
            x[:, j] = np.log1p(raw[:, j])
        elif name in LOG_RATIO_FEATURES:
            x[:, j] = np.log(raw[:, j])
    return raw.astype(np.float32), x.astype(np.float32)


def featurise(frame: LogFrame, *, window_seconds: int, profile: Profile) -> Featurised:
    """All key and IP windows of `frame`, history features relative to `profile` + earlier
    rows of the frame; the frame is one block of a stream.WindowBuilder."""
    from .chunks import LogChunk, known_key_hashes
    from .stream import WindowBuilder, collect

    chunk = LogChunk.from_frame(frame)
    builder = WindowBuilder(window_seconds=window_seconds, profile=profile,
                            known_keys=known_key_hashes(chunk), block_rows=len(frame) + 1)
    return collect(builder, [chunk], keep_rows=True)


def counts(st: np.ndarray, known: np.ndarray, key_entity: np.ndarray, g: np.ndarray,
            n_groups: int, n: np.ndarray) -> dict[str, np.ndarray]:
    """The count and ratio features of each group g of rows (states `st`, key known or not,
    key entity), `n` rows per group."""
    fail = (st % 100) // 10 == 2

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(g, weights=mask.astype(np.float64), minlength=n_groups)

    floating = np.isin(st, FLOATING_STATES)
    n_float = count(floating)
    new_act = count((st == 2011) | (st == 2012))
    deact = count(st == 6010)
    # Ratios are shrunk towards 0 by RATIO_PRIOR pseudo-requests: one refused request
    # alone in a window is not "100 % failures", sixty out of sixty-two nearly are.
    per = n + RATIO_PRIOR
    return {
        "requests": n, "failures": count(fail), "failure_ratio": count(fail) / per,
        "unknown_key_ratio": count(~known) / per, "limit_ratio": count(st == 2021) / per,
        "other_failure_ratio": count(fail & known & (st != 2021) & (st != 2024)) / per,
        "floating_refused_ratio": count(st == 2024) / (n_float + RATIO_PRIOR),
        "floating_share": count(floating | (st == 6011)) / per,
        "overdraft_ratio": count(st == 2015) / (n_float + RATIO_PRIOR),
        "new_activations": new_act, "deactivations": deact,
        "churn": np.minimum(new_act, deact),
        "keys": distinct(g, key_entity, np.ones(len(g), bool), n_groups),
    }


def _run_starts(keys: np.ndarray) -> np.ndarray:
    """For sorted keys, the index where each element's run of equal keys starts."""
    new_run = np.r_[True, keys[1:] != keys[:-1]]
    return np.maximum.accumulate(np.where(new_run, np.arange(len(keys)), 0))


def exclusive_cumsum(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Sum of earlier values with the same key; keys sorted."""
    cs = np.cumsum(values) - values
    return cs - cs[_run_starts(keys)]


def distinct(g: np.ndarray, codes: np.ndarray, valid: np.ndarray, n_groups: int) -> np.ndarray:
    """Distinct codes among the valid rows of each group."""
    width = int(codes.max()) + 1 if len(codes) else 1
    pairs = np.unique(g[valid].astype(np.int64) * width + codes[valid])
    return np.bincount(pairs // width, minlength=n_groups).astype(np.float64)


def timing(time: np.ndarray, order: np.ndarray, g: np.ndarray, n_groups: int,
            start: np.ndarray, hod: np.ndarray) -> dict[str, np.ndarray]:
    """Hour/weekday of the window and regularity (CV of inter-arrival times; a replaying
    client is near 0, people near 1)."""
    t = time[order]
    gg = np.sort(g, kind="stable")
    same = gg[1:] == gg[:-1]
    d, dg = np.diff(t)[same], gg[1:][same]
    cnt = np.bincount(dg, minlength=n_groups)
    s1 = np.bincount(dg, weights=d, minlength=n_groups)
    s2 = np.bincount(dg, weights=d * d, minlength=n_groups)
    mean = s1 / np.maximum(cnt, 1)
    std = np.sqrt(np.maximum(s2 / np.maximum(cnt, 1) - mean**2, 0.0))
    cv = np.where((cnt >= 2) & (mean > 0), std / np.maximum(mean, 1e-9), 1.0).clip(0, 3)
    angle = 2 * np.pi * hod / 24
    weekday = ((start // 86400).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    return {"hour_sin": np.sin(angle), "hour_cos": np.cos(angle),
            "weekend": (weekday >= 5).astype(np.float64), "regularity": cv}


def scale_floors() -> np.ndarray:
    """Smallest robust-scaling unit per feature: a 10 % change of a ratio, a factor 1.35
    of a count (log1p units) or of a history ratio, a quarter of a circle-coordinate."""
    floors = {name: 0.3 for name in FEATURES}
    floors.update({name: 0.1 for name in RATIO_FEATURES})
    floors.update({"hour_sin": 0.5, "hour_cos": 0.5, "weekend": 1.0, "is_ip": 1.0,
                   "regularity": 0.3, "history_windows": 1.0, "foreign_new_machines": 0.1})
    return np.array([floors[name] for name in FEATURES])
