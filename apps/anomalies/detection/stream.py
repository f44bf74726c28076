"""Featurising a log that arrives in chunks, in memory bounded by its windows, not its rows.

Why: a month of a busy vendor's log is millions of rows, and the whole-frame arrays of
features.py (a dozen per row, plus the frame itself) grew with every one of them. The windows
only ever need the rows of their own hour, and what the rows before them left behind: the
first time each entity and each (entity, machine / country / IP) pair was seen, and each
entity's running totals. So `WindowBuilder` takes the rows in (time, id) order, cuts them into
blocks of whole window slots, featurises each block with that carried state, and keeps only
the windows. The carried state is exact (first times, integer counts), so a log fed in one
block or in a thousand gives the same windows, bit for bit, in the same order.

The string columns come dictionary-encoded against vocabularies shared by every chunk of one
stream (`LogChunk.vocabs`, growing as new strings arrive): a code means the same string in
every chunk, and the order of first appearance decides the order of the windows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .chunks import STRINGS, LogChunk, key_hashes
from .features import (
    FEATURES,
    HISTORY_FEATURES,
    RECENT_SECONDS,
    Featurised,
    HistoryInputs,
    Windows,
    counts,
    distinct,
    exclusive_cumsum,
    global_volumes,
    history_features,
    profile_values,
    timing,
    transform,
)
from .history import PAIR_KINDS, Profile, contains, hash_strings, mix
from .state import Entities, SortedIndex

BLOCK_ROWS = 200_000  # rows featurised together (a block grows to hold a whole slot)
LOW32 = np.int64(0xFFFFFFFF)


@dataclass
class BlockWindows:
    """The windows of one block: `windows.order` indexes `rows`; `history` is set while the
    history features still wait for the stream's global volumes (training)."""

    rows: LogChunk
    windows: Windows
    code: np.ndarray  # key or IP code of each window's entity: its place in the window order
    history: HistoryInputs | None
    entity: np.ndarray | None = None  # each window's entity id (per kind), with `history`


class WindowBuilder:
    """Featurise a stream of LogChunks into key and IP windows (see the module docstring).

    `known_keys`: sorted hashes of the keys that succeed somewhere in the stream (a key's rows
    are key windows only then: read them first, see known_key_hashes); the profile's known
    keys count too. Chunks must come in (time, id) order."""

    def __init__(self, *, window_seconds: int, profile: Profile, known_keys: np.ndarray,
                 block_rows: int = BLOCK_ROWS) -> None:
        self.ws, self.profile, self.block_rows = window_seconds, profile, block_rows
        self.known_keys = np.union1d(known_keys, profile.known_keys)
        self.final = len(profile.entity_hash) > 0  # history features need no global volumes
        self.rows = 0
        self.first_time, self.last_time = np.inf, -np.inf
        self._pending: list[LogChunk] = []  # rows waiting for a block, oldest first
        self._pending_rows = 0
        self._strings: dict[str, np.ndarray] = {n: np.zeros(0, object) for n in STRINGS}
        self._empty: dict[str, np.ndarray] = {n: np.zeros(0, bool) for n in STRINGS}
        self._attr: dict[str, np.ndarray] = {n: np.zeros(0, np.uint64) for n in PAIR_KINDS}
        self._ip_hash = np.zeros(0, np.uint64)
        self._products: dict[int, int] = {}
        self._keys = SortedIndex()  # (product, key code) -> key entity id
        self._key_product = np.zeros(0, np.int64)
        self._key_code = np.zeros(0, np.int64)
        self._known = np.zeros(0, bool)
        self._entities = (Entities(), Entities())

    # --- feeding ----------------------------------------------------------------------------

    def blocks(self, chunks: Iterable[LogChunk]) -> Iterator[BlockWindows]:
        """Featurise every chunk; yield the windows block by block, each once its slots are
        complete (the last at the end of the stream)."""
        for chunk in chunks:
            yield from self._feed(chunk)
        if self._pending_rows:
            yield self._block(LogChunk.concat(self._pending))
            self._pending, self._pending_rows = [], 0

    def _feed(self, chunk: LogChunk) -> Iterator[BlockWindows]:
        if not len(chunk):
            return
        if np.any(np.diff(chunk.time) < 0) or chunk.time[0] < self.last_time:
            raise ValueError("log chunks must come in time order")
        self.rows += len(chunk)
        self.first_time = min(self.first_time, float(chunk.time[0]))
        self.last_time = float(chunk.time[-1])
        self._pending.append(chunk)
        self._pending_rows += len(chunk)
        if self._pending_rows < self.block_rows:
            return
        rows = LogChunk.concat(self._pending)
        # Cut before the last slot: its rows may go on in the next chunk.
        slot = np.floor(rows.time / self.ws)
        cut = int(np.searchsorted(slot, slot[-1], side="left"))
        self._pending = [rows.part(cut, len(rows))]
        self._pending_rows = len(rows) - cut
        if cut:
            yield self._block(rows.part(0, cut))

    # --- vocabularies and entities -----------------------------------------------------------

    def _learn_strings(self, vocabs: Mapping[str, Sequence[str] | np.ndarray]) -> None:
        for name in STRINGS:
            seen = len(self._strings[name])
            vocab = vocabs[name]
            if len(vocab) <= seen:
                continue
            new = np.array(list(vocab[seen:]), dtype=object)
            self._strings[name] = np.concatenate([self._strings[name], new])
            self._empty[name] = np.concatenate([self._empty[name], new == ""])
            if name in self._attr:
                self._attr[name] = np.concatenate([self._attr[name], hash_strings(new)])
            if name == "ip":
                self._ip_hash = np.concatenate([self._ip_hash, hash_strings(
                    np.array(["i:" + s for s in new], dtype=object))])

    def _key_entities(self, c: LogChunk) -> np.ndarray:
        """The key entity (product, key) id of each row, registering the new ones."""
        pu, pinv = np.unique(c.product_id, return_inverse=True)
        pidx = np.array([self._products.setdefault(int(p), len(self._products)) for p in pu],
                        dtype=np.int64)[pinv]
        combined = (pidx << 32) | c.codes["key"].astype(np.int64)
        uniq, inv = np.unique(combined, return_inverse=True)
        ids, pos = self._keys.find(uniq)
        fresh = ids < 0
        if fresh.any():
            ids[fresh] = self._keys.add(uniq[fresh], pos[fresh])
            products = np.array(list(self._products), dtype=np.int64)
            product = products[uniq[fresh] >> 32]
            code = uniq[fresh] & LOW32
            hashes = key_hashes(product.tolist(), self._strings["key"][code].tolist())
            self._key_product = np.concatenate([self._key_product, product])
            self._key_code = np.concatenate([self._key_code, code])
            self._known = np.concatenate([self._known, contains(self.known_keys, hashes)])
            self._entities[0].extend(self._keys.count, hashes, self.profile)
        return ids[inv]

    def _ip_entities(self) -> None:
        ents = self._entities[1]
        if len(ents.hash) < len(self._ip_hash):
            ents.extend(len(self._ip_hash), self._ip_hash[len(ents.hash):], self.profile)

    # --- one block ------------------------------------------------------------------------------

    def _block(self, c: LogChunk) -> BlockWindows:
        self._learn_strings(c.vocabs)
        kent = self._key_entities(c)
        self._ip_entities()
        late = (c.state % 100) // 10 == 1
        late &= ~self._known[kent]
        if late.any():  # succeeded in rows written after the known keys were read
            self._known[kent[late]] = True
        row_known = self._known[kent]
        ip = c.codes["ip"].astype(np.int64)
        parts = [self._aggregate(0, c, np.flatnonzero(row_known), kent, kent, row_known),
                 self._aggregate(1, c, np.flatnonzero(~self._empty["ip"][ip]), ip, kent,
                                 row_known)]
        windows = _concat([p[0] for p in parts])
        code = np.concatenate([p[1] for p in parts])
        pending = [p[2] for p in parts if p[2] is not None]
        history = HistoryInputs.concat(pending) if len(pending) == 2 else None
        entity = np.concatenate([p[3] for p in parts]) if history is not None else None
        return BlockWindows(c, windows, code, history, entity)

    def _aggregate(self, kind: int, c: LogChunk, rows: np.ndarray, entity_of_row: np.ndarray,
                   kent: np.ndarray, row_known: np.ndarray
                   ) -> tuple[Windows, np.ndarray, HistoryInputs | None, np.ndarray]:
        ws, ents = self.ws, self._entities[kind]
        ent = entity_of_row[rows].astype(np.int64)
        w = np.floor(c.time[rows] / ws).astype(np.int64)
        w0 = int(w.min()) if len(w) else 0
        span = int(w.max()) - w0 + 1 if len(w) else 1
        guniq, g = np.unique(ent * span + (w - w0), return_inverse=True)
        n_groups = len(guniq)
        gent = guniq // span
        start = ((guniq % span) + w0).astype(np.float64) * ws
        order = rows[np.argsort(g, kind="stable")]
        n = np.bincount(g, minlength=n_groups).astype(np.float64)
        cols = counts(c.state[rows], row_known[rows], kent[rows], g, n_groups, n)
        cols.update(self._novelty(kind, c, rows, g, n_groups, ent))
        hod = ((start % 86400) // 3600).astype(np.int64)
        fails = np.bincount(g, weights=((c.state[rows] % 100) // 10 == 2).astype(np.float64),
                            minlength=n_groups)
        inputs = self._carry(ents, gent, hod, n, fails)
        cols.update(timing(c.time, order, g, n_groups, start, hod))
        cols["is_ip"] = np.full(n_groups, float(kind))
        ghash = ents.hash[gent]
        if self.final:
            prior = profile_values(self.profile, ghash, hod, n_groups)
            cols.update(history_features(inputs.with_prior(prior), self.profile.global_hod[kind],
                                         float(self.profile.global_volume[kind]),
                                         float(self.profile.global_fail[kind])))
        else:
            # Placeholders (log(1) = 0) until collect() knows the global volumes.
            cols.update({name: np.ones(n_groups) for name in HISTORY_FEATURES})
        raw, x = transform(cols)
        if kind == 0:
            subject, product = self._strings["key"][self._key_code[gent]], self._key_product[gent]
            code = self._key_code[gent]
        else:
            subject, product = self._strings["ip"][gent], np.full(n_groups, -1, np.int64)
            code = gent
        windows = Windows(np.full(n_groups, kind, np.int8), subject, product, start, start + ws,
                          ghash, hod, order, np.r_[0, np.cumsum(n)].astype(np.int64), raw, x)
        return windows, code, None if self.final else inputs, gent

    def _carry(self, ents: Entities, gent: np.ndarray, hod: np.ndarray, n: np.ndarray,
               fails: np.ndarray) -> HistoryInputs:
        """Each window's entity totals before it (earlier blocks + earlier windows of this
        block: windows come sorted by entity, then time), and the totals carried on."""
        ones = np.ones(len(n))
        order = np.lexsort((np.arange(len(n)), hod, gent))
        prev_hod = np.empty(len(n))
        prev_hod[order] = exclusive_cumsum(n[order], gent[order] * 24 + hod[order])
        inputs = HistoryInputs(
            n=n, fails=fails, hod=hod,
            total=exclusive_cumsum(n, gent) + ents.total[gent],
            windows=exclusive_cumsum(ones, gent) + ents.windows[gent],
            failed=exclusive_cumsum(fails, gent) + ents.fails[gent],
            hour=prev_hod + ents.hod[gent, hod])
        np.add.at(ents.total, gent, n)
        np.add.at(ents.windows, gent, ones)
        np.add.at(ents.fails, gent, fails)
        np.add.at(ents.hod, (gent, hod), n)
        return inputs

    def _novelty(self, kind: int, c: LogChunk, rows: np.ndarray, g: np.ndarray, n_groups: int,
                 ent: np.ndarray) -> dict[str, np.ndarray]:
        """Distinct and first-seen machines, countries, IPs per window (features.py explains
        "new" and "recent"); first sightings carry over from earlier blocks."""
        ents = self._entities[kind]
        t_all = c.time[rows]
        np.minimum.at(ents.start, ent, t_all)
        out: dict[str, np.ndarray] = {}
        recent_rows: dict[str, np.ndarray] = {}
        for name, label in (("machine", "machines"), ("country", "countries"), ("ip", "ips")):
            codes = c.codes[name][rows].astype(np.int64)
            valid = ~self._empty[name][codes]
            out[label] = distinct(g, codes, valid, n_groups)
            e, t = ent[valid], t_all[valid]
            pu, first, inv = np.unique((e << 32) | codes[valid], return_index=True,
                                       return_inverse=True)
            since_u, new_u, fresh = self._sightings(ents, name, pu, t[first])
            out["new_" + label] = np.bincount(g[valid][first][fresh & new_u],
                                              minlength=n_groups)
            since = since_u[inv]
            recent = np.zeros(len(codes), bool)
            recent[valid] = (new_u[inv] & (t - since < RECENT_SECONDS)
                             & (since - ents.start[e] >= RECENT_SECONDS))
            out["recent_" + label] = distinct(g, codes, recent, n_groups)
            recent_rows[name] = recent
        # A recent machine used from a recent country: a stolen or leaked key. A traveller
        # (known machine) or a replaced PC (known country) has only one of the two.
        both = recent_rows["machine"] & recent_rows["country"]
        out["foreign_new_machines"] = distinct(g, c.codes["machine"][rows], both, n_groups)
        return {k: v.astype(np.float64) for k, v in out.items()}

    def _sightings(self, ents: Entities, name: str, pu: np.ndarray, first_time: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For the block's sorted unique pairs: the time each was first seen, whether it is
        new to the profile, and whether it is first seen in this block (registered now)."""
        pairs = ents.pairs[name]
        ids, pos = pairs.index.find(pu)
        fresh = ids < 0
        if fresh.any():
            new = pu[fresh]
            hashes = mix(ents.hash[new >> 32], self._attr[name][new & LOW32])
            ids[fresh] = pairs.index.add(new, pos[fresh])
            pairs.first = np.concatenate([pairs.first, first_time[fresh]])
            pairs.new = np.concatenate([pairs.new,
                                        ~contains(self.profile.pairs[name], hashes)])
            pairs.hash = np.concatenate([pairs.hash, hashes])
        return pairs.first[ids], pairs.new[ids], fresh

    # --- the end of the stream ---------------------------------------------------------------

    def pairs(self) -> dict[str, np.ndarray]:
        """Hashes of every (entity, attribute) pair seen, per attribute, for the profile."""
        return {name: np.concatenate([e.pairs[name].hash for e in self._entities])
                for name in PAIR_KINDS}

    def seen_known_keys(self) -> np.ndarray:
        """Hashes of the keys in the stream that count as known."""
        return self._entities[0].hash[self._known[:self._keys.count]]

    def entities(self) -> tuple[Entities, Entities]:
        """What is carried per key entity and per IP entity (their totals over every window
        so far; arrays may be longer than `hash`, the entities)."""
        return self._entities

    def entity_counts(self) -> tuple[int, int]:
        """Key entities and IP entities registered so far."""
        return len(self._entities[0].hash), len(self._entities[1].hash)


def _concat(parts: list[Windows]) -> Windows:
    """The windows of all parts, one array at a time; the parts are emptied on the way (so
    the peak is the whole plus one array's parts, not twice the whole)."""
    offsets = [np.zeros(1, np.int64)]
    base = 0
    for p in parts:
        offsets.append(p.offsets[1:] + base)
        base += int(p.offsets[-1])
    columns = {}
    for name in ("kind", "subject", "product_id", "start", "end", "entity_hash", "hod", "order",
                 "raw", "features"):
        columns[name] = np.concatenate([getattr(p, name) for p in parts])
        for p in parts:
            setattr(p, name, None)
    return Windows(offsets=np.concatenate(offsets), **columns)


def collect(builder: WindowBuilder, chunks: Iterable[LogChunk], *,
            keep_rows: bool = False) -> Featurised:
    """Every window of the stream in the order of features.featurise: key windows by product,
    key (first appearance) and time, then IP windows by IP and time. The history features
    are finished here when they need the stream's global volumes. Without `keep_rows` the
    windows hold no row indices (`order` empty): training needs none, and they are the one
    part that grows with the rows."""
    parts: list[Windows] = []
    codes: list[np.ndarray] = []
    inputs: list[HistoryInputs] = []
    base = 0
    for block in builder.blocks(chunks):
        w = block.windows
        if keep_rows:
            w.order = w.order + base
        else:
            w.order, w.offsets = np.zeros(0, np.int64), np.zeros(len(w) + 1, np.int64)
        base += len(block.rows)
        parts.append(w)
        codes.append(block.code)
        if block.history is not None:
            inputs.append(block.history)
    if not parts:
        return Featurised(_empty_windows(), builder.pairs(), builder.seen_known_keys())
    windows = _concat(parts)
    del parts
    if inputs:
        pending = HistoryInputs.concat(inputs)
        del inputs
        _finish_history(windows, pending)
        del pending
    order = np.lexsort((windows.start, np.concatenate(codes), windows.product_id,
                        windows.kind))
    if not np.array_equal(order, np.arange(len(order))):
        _reorder(windows, order)
    return Featurised(windows, builder.pairs(), builder.seen_known_keys())


def _reorder(w: Windows, order: np.ndarray) -> None:
    """Windows.take(order) in place, one array at a time (a whole copy of millions of
    windows at once would double the peak)."""
    for name in ("kind", "subject", "product_id", "start", "end", "entity_hash", "hod", "raw",
                 "features"):
        setattr(w, name, getattr(w, name)[order])
    sizes = np.diff(w.offsets)[order]
    if len(w.order):
        starts = w.offsets[:-1][order]
        w.order = w.order[np.repeat(starts - np.r_[0, np.cumsum(sizes)[:-1]], sizes)
                          + np.arange(sizes.sum())]
    w.offsets = np.r_[0, np.cumsum(sizes)].astype(np.int64)


def _finish_history(w: Windows, inputs: HistoryInputs) -> None:
    """The history features of a stream without a profile: volumes relative to the stream's
    own global ones, per kind, written into `raw` and `features` in place."""
    for kind in (0, 1):
        sel = np.flatnonzero(w.kind == kind)
        part = inputs.take(sel)
        cols = history_features(part, *global_volumes(part))
        raw, x = transform(cols, names=HISTORY_FEATURES)
        for j, name in enumerate(HISTORY_FEATURES):
            col = FEATURES.index(name)
            w.raw[sel, col] = raw[:, j]
            w.features[sel, col] = x[:, j]


def _empty_windows() -> Windows:
    z = np.zeros(0)
    return Windows(np.zeros(0, np.int8), np.zeros(0, object), np.zeros(0, np.int64), z, z,
                   np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                   np.zeros(1, np.int64), np.zeros((0, len(FEATURES)), np.float32),
                   np.zeros((0, len(FEATURES)), np.float32))


