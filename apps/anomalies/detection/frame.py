"""Columnar, dictionary-encoded view of Web API log rows.

Why columnar and encoded: a month of logs is ~10^6 rows; string columns (keys, machine codes,
IPs) are stored once in a vocabulary and referenced by int32 codes, so grouping, distinct
counts and novelty checks are plain NumPy on integers instead of Python loops over strings.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

COLUMNS = ("Id", "ProductId", "Key", "IP", "Time", "State", "MachineCode", "FriendlyName",
           "FloatingExpires", "Method", "Country")
STRING_COLUMNS = ("key", "ip", "machine", "friendly", "method", "country")

Row = tuple[int, int | None, str, str, float, int, str, str, float | None, str, str]


def _encode(values: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """Dictionary-encode strings; a dict walk is several times faster than np.unique on
    Python strings and keeps first-seen order."""
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int32)
    vocab = np.array(list(index), dtype=object)
    return codes, vocab


def _opt_float(value: object) -> float:
    if value is None or value == "":
        return math.nan
    return float(value)  # type: ignore[arg-type]


@dataclass
class LogFrame:
    """Web API log rows sorted by (time, id). String columns are `codes` into `<name>_vocab`.

    `product_id` uses -1 for "no product" and `floating_expires` NaN for "none".
    """

    ids: np.ndarray
    product_id: np.ndarray
    time: np.ndarray
    state: np.ndarray
    floating_expires: np.ndarray
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    vocabs: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        order = np.lexsort((self.ids, self.time))
        if not np.array_equal(order, np.arange(len(order))):
            self._reorder(order)

    def _reorder(self, order: np.ndarray) -> None:
        self.ids = self.ids[order]
        self.product_id = self.product_id[order]
        self.time = self.time[order]
        self.state = self.state[order]
        self.floating_expires = self.floating_expires[order]
        self.codes = {k: v[order] for k, v in self.codes.items()}

    def __len__(self) -> int:
        return len(self.ids)

    # --- construction -------------------------------------------------------------------

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[object]]) -> LogFrame:
        """Rows in the export column order (see COLUMNS); Python values, as the ORM gives."""
        rows = list(rows)
        cols = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
        return cls.from_columns(
            ids=np.fromiter((int(v) for v in cols[0]), dtype=np.int64, count=len(rows)),
            product_id=np.fromiter((-1 if v in (None, "") else int(v) for v in cols[1]),
                                   dtype=np.int64, count=len(rows)),
            time=np.fromiter((float(v) for v in cols[4]), dtype=np.float64, count=len(rows)),
            state=np.fromiter((int(v) for v in cols[5]), dtype=np.int32, count=len(rows)),
            floating_expires=np.fromiter((_opt_float(v) for v in cols[8]), dtype=np.float64,
                                         count=len(rows)),
            strings={"key": cols[2], "ip": cols[3], "machine": cols[6], "friendly": cols[7],
                     "method": cols[9], "country": cols[10]},
        )

    @classmethod
    def from_columns(cls, *, ids: np.ndarray, product_id: np.ndarray, time: np.ndarray,
                     state: np.ndarray, floating_expires: np.ndarray,
                     strings: dict[str, Iterable[object]]) -> LogFrame:
        codes, vocabs = {}, {}
        for name in STRING_COLUMNS:
            codes[name], vocabs[name] = _encode("" if v is None else str(v)
                                                for v in strings[name])
        return cls(ids, product_id, time, state, floating_expires, codes, vocabs)

    @classmethod
    def from_csv(cls, path: str | Path) -> LogFrame:
        """Read the CSV export/import format (header COLUMNS, case-insensitive)."""
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader)]
            pos = [header.index(c.lower()) for c in COLUMNS]
            rows = [[r[p] for p in pos] for r in reader if r]
        return cls.from_rows(rows)

    @classmethod
    def empty(cls) -> LogFrame:
        return cls.from_rows([])

    # --- access -------------------------------------------------------------------------

    def strings(self, name: str) -> np.ndarray:
        """Decoded column (object array); use codes for anything row-wise and hot."""
        return self.vocabs[name][self.codes[name]]

    def take(self, index: np.ndarray) -> LogFrame:
        """Subset of rows (boolean mask or indices), vocabularies shared."""
        return LogFrame(self.ids[index], self.product_id[index], self.time[index],
                        self.state[index], self.floating_expires[index],
                        {k: v[index] for k, v in self.codes.items()}, dict(self.vocabs))

    def concat(self, other: LogFrame) -> LogFrame:
        """Rows of both frames; vocabularies merged, rows whose Id is in self dropped from other."""
        keep = ~np.isin(other.ids, self.ids)
        other = other.take(keep)
        codes, vocabs = {}, {}
        for name in STRING_COLUMNS:
            # Both sides are re-coded: a vocabulary may hold a string twice (the generator's
            # keys do), and the merged one holds each once.
            index: dict[str, int] = {}
            mine, theirs = (np.fromiter((index.setdefault(s, len(index)) for s in vocab),
                                        dtype=np.int32, count=len(vocab))
                            for vocab in (self.vocabs[name], other.vocabs[name]))
            vocabs[name] = np.array(list(index), dtype=object)
            codes[name] = np.concatenate([mine[self.codes[name]], theirs[other.codes[name]]])
        return LogFrame(np.concatenate([self.ids, other.ids]),
                        np.concatenate([self.product_id, other.product_id]),
                        np.concatenate([self.time, other.time]),
                        np.concatenate([self.state, other.state]),
                        np.concatenate([self.floating_expires, other.floating_expires]),
                        codes, vocabs)

    def rows(self) -> Iterator[Row]:
        """Rows back in export column order, for CSV writing and tests."""
        s = {name: self.strings(name) for name in STRING_COLUMNS}
        for i in range(len(self)):
            pid = int(self.product_id[i])
            fe = float(self.floating_expires[i])
            yield (int(self.ids[i]), None if pid < 0 else pid, s["key"][i], s["ip"][i],
                   float(self.time[i]), int(self.state[i]), s["machine"][i], s["friendly"][i],
                   None if math.isnan(fe) else fe, s["method"][i], s["country"][i])

    def to_csv(self, path: str | Path) -> None:
        """Write the import format: Time and FloatingExpires as integer Unix seconds."""
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            for r in self.rows():
                writer.writerow((r[0], "" if r[1] is None else r[1], r[2], r[3], int(r[4]), r[5],
                                 r[6], r[7], "" if r[8] is None else int(r[8]), r[9], r[10]))
