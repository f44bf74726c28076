"""What the stream featuriser carries from one block of rows to the next, per window kind:
each entity's first sighting and running totals, and every (entity, attribute) pair seen with
its first time. Sized by entities and pairs, never by rows."""

from __future__ import annotations

import numpy as np

from .history import PAIR_KINDS, Profile


class SortedIndex:
    """Integer keys -> dense ids 0, 1, 2... in order of registration; lookups by binary
    search in the sorted keys (NumPy over a block's keys at once, no per-key Python)."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, np.int64)  # sorted
        self.ids = np.zeros(0, np.int64)  # id of each sorted key
        self.count = 0

    def find(self, uniq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(id or -1, position to insert at) of each of the sorted unique `uniq`."""
        pos = np.searchsorted(self.keys, uniq)
        ids = np.full(len(uniq), -1, dtype=np.int64)
        if len(self.keys):
            safe = np.minimum(pos, len(self.keys) - 1)
            hit = self.keys[safe] == uniq
            ids[hit] = self.ids[safe[hit]]
        return ids, pos

    def add(self, new: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Register the sorted unique `new` keys (absent so far; `pos` from find); their ids."""
        ids = np.arange(self.count, self.count + len(new), dtype=np.int64)
        self.keys = np.insert(self.keys, pos, new)
        self.ids = np.insert(self.ids, pos, ids)
        self.count += len(new)
        return ids


def grow(array: np.ndarray, size: int, fill: object) -> np.ndarray:
    if len(array) >= size:
        return array
    extra = np.full((max(size, 2 * len(array)) - len(array), *array.shape[1:]), fill,
                    dtype=array.dtype)
    return np.concatenate([array, extra])


class Pairs:
    """(entity, attribute) pairs of one kind seen so far: when first, and new to the profile."""

    def __init__(self) -> None:
        self.index = SortedIndex()
        self.first = np.zeros(0)
        self.new = np.zeros(0, bool)
        self.hash = np.zeros(0, np.uint64)


class Entities:
    """What one window kind (0 key, 1 IP) carries per entity from block to block."""

    def __init__(self) -> None:
        self.hash = np.zeros(0, np.uint64)
        self.start = np.zeros(0)  # first time seen; -inf when the profile knows the entity
        self.total = np.zeros(0)  # requests, windows, failures, requests per hour of day
        self.windows = np.zeros(0)
        self.fails = np.zeros(0)
        self.hod = np.zeros((0, 24))
        self.pairs = {name: Pairs() for name in PAIR_KINDS}

    def extend(self, size: int, hashes: np.ndarray, profile: Profile) -> None:
        """Entities len(hash)..size-1 are new, with these hashes."""
        old = len(self.hash)
        self.hash = np.concatenate([self.hash, hashes])
        start = np.full(size - old, np.inf)
        start[profile.lookup(hashes) >= 0] = -np.inf
        self.start = np.concatenate([self.start, start])
        self.total, self.windows, self.fails = (grow(a, size, 0.0) for a in
                                                (self.total, self.windows, self.fails))
        self.hod = grow(self.hod, size, 0.0)
