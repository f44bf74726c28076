"""Web API log rows -> per-key and per-IP time windows with one feature vector each.

Why windows of two kinds: most abuse shows on a licence key (sharing, churn, hammering,
off-hours use) but key guessing never repeats a key, so it only shows on the IP the guesses
come from. Rows whose key never succeeded (typed or guessed keys) therefore belong to IP
windows only; rows of real keys belong to one key window and one IP window.

Why causal history features: "new machine", "usual hour" and "usual volume" are relative to
what the key did *before* the window (the stored profile plus earlier rows), never after, so
a training window and a live window are computed the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frame import LogFrame
from .history import Profile, contains, hash_strings, mix

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
        return [f"key:{'' if p < 0 else p}:{s}:{int(t)}" if k == 0 else f"ip:{s}:{int(t)}"
                for k, s, p, t in zip(self.kind, self.subject, self.product_id, self.start,
                                      strict=True)]

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


def _run_starts(keys: np.ndarray) -> np.ndarray:
    """For sorted keys, the index where each element's run of equal keys starts."""
    new_run = np.r_[True, keys[1:] != keys[:-1]]
    return np.maximum.accumulate(np.where(new_run, np.arange(len(keys)), 0))


def _exclusive_cumsum(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Sum of earlier values with the same key; keys sorted."""
    cs = np.cumsum(values) - values
    return cs - cs[_run_starts(keys)]


def _distinct(g: np.ndarray, codes: np.ndarray, valid: np.ndarray, n_groups: int) -> np.ndarray:
    width = int(codes.max()) + 1 if len(codes) else 1
    pairs = np.unique(g[valid].astype(np.int64) * width + codes[valid])
    return np.bincount(pairs // width, minlength=n_groups).astype(np.float64)


def featurise(frame: LogFrame, *, window_seconds: int, profile: Profile) -> Featurised:
    """All key and IP windows of `frame`, history features relative to `profile` + earlier
    rows of the frame."""
    succ = (frame.state % 100) // 10 == 1
    pid_u, pid_inv = np.unique(frame.product_id, return_inverse=True)
    n_keys = max(len(frame.vocabs["key"]), 1)
    kent_u, kent_inv = np.unique(pid_inv.astype(np.int64) * n_keys + frame.codes["key"],
                                 return_inverse=True)
    key_vocab = frame.vocabs["key"]
    kpid = pid_u[kent_u // n_keys]
    kstr = key_vocab[kent_u % n_keys]
    khash = hash_strings(np.array([f"k:{p}:{k}" for p, k in zip(kpid, kstr, strict=True)]))
    known = np.bincount(kent_inv, weights=succ, minlength=len(kent_u)) > 0
    known |= contains(profile.known_keys, khash)
    row_known = known[kent_inv]
    ctx = _Context(frame, window_seconds, profile, kent_inv, row_known)
    ip_vocab = frame.vocabs["ip"]
    ip_hash = hash_strings(np.array(["i:" + s for s in ip_vocab], dtype=object))
    ip_rows = np.flatnonzero(ip_vocab[frame.codes["ip"]] != "")
    key_part = ctx.aggregate(np.flatnonzero(row_known), kent_inv, khash, kstr, kpid, kind=0)
    ip_part = ctx.aggregate(ip_rows, frame.codes["ip"], ip_hash, ip_vocab,
                            np.full(len(ip_vocab), -1, np.int64), kind=1)
    windows = _concat(key_part, ip_part)
    pairs = {k: np.concatenate([ctx.pairs[0][k], ctx.pairs[1][k]]) for k in ctx.pairs[0]}
    return Featurised(windows, pairs, khash[known])


def _concat(a: Windows, b: Windows) -> Windows:
    def both(name: str) -> np.ndarray:
        return np.concatenate([getattr(a, name), getattr(b, name)])

    return Windows(kind=both("kind"), subject=both("subject"), product_id=both("product_id"),
                   start=both("start"), end=both("end"), entity_hash=both("entity_hash"),
                   hod=both("hod"), order=both("order"),
                   offsets=np.r_[a.offsets, a.offsets[-1] + b.offsets[1:]],
                   raw=both("raw"), features=both("features"))


class _Context:
    """Per-frame state shared by the key and the IP aggregation."""

    def __init__(self, frame: LogFrame, window_seconds: int, profile: Profile,
                 key_entity: np.ndarray, row_known: np.ndarray) -> None:
        self.frame, self.ws, self.profile = frame, window_seconds, profile
        self.key_entity, self.row_known = key_entity, row_known
        self.attr_hash = {k: hash_strings(frame.vocabs[k]) for k in ("machine", "country", "ip")}
        self.pairs: list[dict[str, np.ndarray]] = []

    def aggregate(self, rows: np.ndarray, entity_of_row: np.ndarray, entity_hash: np.ndarray,
                  subject: np.ndarray, product: np.ndarray, *, kind: int) -> Windows:
        f, ws = self.frame, self.ws
        ent = entity_of_row[rows].astype(np.int64)
        w = np.floor(f.time[rows] / ws).astype(np.int64)
        w0 = int(w.min()) if len(w) else 0
        span = int(w.max()) - w0 + 1 if len(w) else 1
        guniq, g = np.unique(ent * span + (w - w0), return_inverse=True)
        n_groups = len(guniq)
        gent = guniq // span
        start = ((guniq % span) + w0).astype(np.float64) * ws
        order = rows[np.argsort(g, kind="stable")]
        n = np.bincount(g, minlength=n_groups).astype(np.float64)
        cols = self._counts(rows, g, n_groups, n)
        cols.update(self._novelty(rows, g, n_groups, ent, entity_hash))
        hod = ((start % 86400) // 3600).astype(np.int64)
        fails = np.bincount(g, weights=((f.state[rows] % 100) // 10 == 2).astype(np.float64),
                            minlength=n_groups)
        cols.update(self._history(gent, entity_hash[gent], hod, n, fails, kind))
        cols.update(_timing(f.time, order, g, n_groups, start, hod))
        cols["is_ip"] = np.full(n_groups, float(kind))
        raw = np.stack([cols[name] for name in FEATURES], axis=1)
        x = raw.copy()
        for j, name in enumerate(FEATURES):
            if name in LOG_FEATURES:
                x[:, j] = np.log1p(raw[:, j])
            elif name in LOG_RATIO_FEATURES:
                x[:, j] = np.log(raw[:, j])
        return Windows(np.full(n_groups, kind, np.int8), subject[gent], product[gent], start,
                       start + ws, entity_hash[gent], hod, order,
                       np.r_[0, np.cumsum(n)].astype(np.int64), raw.astype(np.float32),
                       x.astype(np.float32))

    def _counts(self, rows: np.ndarray, g: np.ndarray, n_groups: int,
                n: np.ndarray) -> dict[str, np.ndarray]:
        st = self.frame.state[rows]
        fail = (st % 100) // 10 == 2
        known = self.row_known[rows]

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
            "keys": _distinct(g, self.key_entity[rows], np.ones(len(rows), bool), n_groups),
        }

    def _novelty(self, rows: np.ndarray, g: np.ndarray, n_groups: int, ent: np.ndarray,
                 entity_hash: np.ndarray) -> dict[str, np.ndarray]:
        """Distinct and first-seen machines, countries, IPs per window."""
        out: dict[str, np.ndarray] = {}
        seen: dict[str, np.ndarray] = {}
        recent_rows: dict[str, np.ndarray] = {}
        # "Recent" = first seen for the entity in the last 24 h, but not on the entity's own
        # first day: a brand-new customer's machines and country are all new, and normal.
        entity_start = np.full(len(entity_hash), np.inf)
        np.minimum.at(entity_start, ent, self.frame.time[rows])
        entity_start[self.profile.lookup(entity_hash) >= 0] = -np.inf
        for name, label in (("machine", "machines"), ("country", "countries"), ("ip", "ips")):
            vocab = self.frame.vocabs[name]
            codes = self.frame.codes[name][rows].astype(np.int64)
            valid = vocab[codes] != "" if len(codes) else np.zeros(0, bool)
            out[label] = _distinct(g, codes, valid, n_groups)
            width = max(len(vocab), 1)
            pu, first, inv = np.unique(ent[valid] * width + codes[valid], return_index=True,
                                       return_inverse=True)
            ph = mix(entity_hash[pu // width], self.attr_hash[name][pu % width])
            is_new = ~contains(self.profile.pairs[name], ph)
            out["new_" + label] = np.bincount(g[valid][first][is_new], minlength=n_groups)
            t = self.frame.time[rows][valid]
            recent = np.zeros(len(codes), bool)
            since = t[first][inv]
            recent[valid] = (is_new[inv] & (t - since < RECENT_SECONDS)
                             & (since - entity_start[ent[valid]] >= RECENT_SECONDS))
            out["recent_" + label] = _distinct(g, codes, recent, n_groups)
            recent_rows[name] = recent
            seen[name] = ph
        # A recent machine used from a recent country: a stolen or leaked key. A traveller
        # (known machine) or a replaced PC (known country) has only one of the two.
        both = recent_rows["machine"] & recent_rows["country"]
        out["foreign_new_machines"] = _distinct(g, self.frame.codes["machine"][rows], both,
                                                n_groups)
        self.pairs.append(seen)
        return {k: v.astype(np.float64) for k, v in out.items()}

    def _history(self, gent: np.ndarray, ghash: np.ndarray, hod: np.ndarray, n: np.ndarray,
                 fails: np.ndarray, kind: int) -> dict[str, np.ndarray]:
        """Volume, failures and hour of day relative to the entity's earlier windows
        (causal: profile + earlier windows of this frame, never later ones)."""
        p = self.profile
        prior = _profile_values(p, ghash, hod, len(n))
        prev_total = _exclusive_cumsum(n, gent) + prior["total"]
        prev_windows = _exclusive_cumsum(np.ones(len(n)), gent) + prior["windows"]
        prev_fails = _exclusive_cumsum(fails, gent) + prior["fails"]
        order = np.lexsort((np.arange(len(n)), hod, gent))
        prev_hod = np.empty(len(n))
        prev_hod[order] = _exclusive_cumsum(n[order], gent[order] * 24 + hod[order])
        prev_hod += prior["hod"]
        if len(p.entity_hash):
            ghod, gvol, gfail = p.global_hod[kind], p.global_volume[kind], p.global_fail[kind]
        else:
            h = np.bincount(hod, weights=n, minlength=24) + 1.0
            ghod = h / h.sum()
            gvol = float(n.mean()) if len(n) else 1.0
            gfail = float(fails.sum() / max(n.sum(), 1.0))
        mean = (prev_total + VOLUME_PRIOR * gvol) / (prev_windows + VOLUME_PRIOR)
        share = (prev_hod + HOUR_PRIOR * ghod[hod]) / (prev_total + HOUR_PRIOR)
        fail_rate = (prev_fails + FAIL_PRIOR * gfail) / (prev_total + FAIL_PRIOR)
        return {"relative_volume": (n + 1.0) / (mean + 1.0), "hour_typicality": 24.0 * share,
                "failure_surprise": (fails + 1.0) / (fail_rate * n + 1.0),
                "history_windows": np.minimum(prev_windows, HISTORY_CAP)}


def _profile_values(p: Profile, ghash: np.ndarray, hod: np.ndarray,
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


def _timing(time: np.ndarray, order: np.ndarray, g: np.ndarray, n_groups: int,
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
