"""Compact per-entity history (the "profile") that novelty and typicality features compare to.

Why a profile instead of raw rows: scoring tomorrow's windows needs to know which machines,
countries and IPs a key has used before and at which hours it is usually active. Keeping that
as sorted 64-bit hashes and a 24-bin hour histogram per entity makes it a few MB for a vendor
with thousands of keys, storable inside the detector blob and checkable with searchsorted.
Hashes are blake2b (stable across processes, unlike Python's hash()).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

MIX = np.uint64(0x9E3779B97F4A7C15)
PAIR_KINDS = ("machine", "country", "ip")


def hash_strings(values: np.ndarray) -> np.ndarray:
    """Stable 64-bit hash of each string (object array)."""
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(str(v).encode(), digest_size=8).digest(), "little")
         for v in values), dtype=np.uint64, count=len(values))


def mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hash of an (entity, attribute) pair; wrapping uint64 arithmetic is intended."""
    with np.errstate(over="ignore"):
        return (a * MIX) ^ b


def contains(sorted_set: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Vectorised membership in a sorted uint64 array."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.searchsorted(sorted_set, values).clip(0, len(sorted_set) - 1)
    return sorted_set[pos] == values


@dataclass
class Profile:
    """What the detector remembers of the training period, per entity (key or IP).

    `until` is the last log time it covers: rows up to then are already counted, so a
    scoring `history` frame only adds rows after it.
    """

    entity_hash: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    total: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    windows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    hod: np.ndarray = field(default_factory=lambda: np.zeros((0, 24), np.float64))
    fails: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    pairs: dict[str, np.ndarray] = field(
        default_factory=lambda: {k: np.zeros(0, np.uint64) for k in PAIR_KINDS})
    known_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    global_hod: np.ndarray = field(default_factory=lambda: np.full((2, 24), 1 / 24))
    global_volume: np.ndarray = field(default_factory=lambda: np.ones(2))
    global_fail: np.ndarray = field(default_factory=lambda: np.full(2, 0.01))
    until: float = float("-inf")

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """Index of each entity hash in this profile, -1 when unknown."""
        if len(self.entity_hash) == 0:
            return np.full(len(hashes), -1, dtype=np.int64)
        pos = np.searchsorted(self.entity_hash, hashes).clip(0, len(self.entity_hash) - 1)
        return np.where(self.entity_hash[pos] == hashes, pos, -1)

    def arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays for the detector blob (np.savez, no pickle)."""
        out = {"p_entity_hash": self.entity_hash, "p_total": self.total,
               "p_windows": self.windows, "p_hod": self.hod, "p_fails": self.fails,
               "p_known_keys": self.known_keys, "p_global_fail": self.global_fail,
               "p_global_hod": self.global_hod, "p_global_volume": self.global_volume,
               "p_until": np.array([self.until])}
        out.update({f"p_pair_{k}": v for k, v in self.pairs.items()})
        return out

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> Profile:
        return cls(a["p_entity_hash"], a["p_total"], a["p_windows"], a["p_hod"], a["p_fails"],
                   {k: a[f"p_pair_{k}"] for k in PAIR_KINDS}, a["p_known_keys"],
                   a["p_global_hod"], a["p_global_volume"], a["p_global_fail"],
                   float(a["p_until"][0]))


def build_profile(*, entity_hash: np.ndarray, n: np.ndarray, fails: np.ndarray,
                  hod: np.ndarray, kind: np.ndarray, pairs: dict[str, np.ndarray],
                  known_keys: np.ndarray, until: float) -> Profile:
    """Profile from featurised windows (one entry per window) and the pair hashes seen."""
    uniq, inv = np.unique(entity_hash, return_inverse=True)
    total = np.bincount(inv, weights=n, minlength=len(uniq))
    windows = np.bincount(inv, minlength=len(uniq)).astype(np.float64)
    fail_totals = np.bincount(inv, weights=fails, minlength=len(uniq))
    global_fail = np.full(2, 0.01)
    hod_counts = np.zeros((len(uniq), 24))
    np.add.at(hod_counts, (inv, hod), n)
    global_hod = np.full((2, 24), 1 / 24)
    global_volume = np.ones(2)
    for k in (0, 1):
        sel = kind == k
        if sel.any():
            h = np.bincount(hod[sel], weights=n[sel], minlength=24) + 1.0
            global_hod[k] = h / h.sum()
            global_volume[k] = float(n[sel].mean())
            global_fail[k] = float(fails[sel].sum() / max(n[sel].sum(), 1.0))
    return Profile(uniq, total, windows, hod_counts, fail_totals,
                   {k: np.unique(v) for k, v in pairs.items()}, np.unique(known_keys),
                   global_hod, global_volume, global_fail, until)
