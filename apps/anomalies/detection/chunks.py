"""Log rows in chunks: what a reader hands to the stream featuriser (stream.py).

Only the columns the features read travel, the strings as codes into vocabularies that the
chunks of one read share, so a chunk is a few NumPy arrays whatever its strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .frame import LogFrame
from .history import hash_strings

STRINGS = ("key", "ip", "machine", "country")  # the string columns the features read


@dataclass
class LogChunk:
    """Consecutive log rows in (time, id) order: the columns the features read, strings as
    codes into `vocabs` (per column, the strings by code; shared by the chunks of one stream,
    growing at the end as new strings come). `product_id` is -1 for "no product"."""

    ids: np.ndarray
    product_id: np.ndarray
    time: np.ndarray
    state: np.ndarray
    codes: dict[str, np.ndarray]
    vocabs: Mapping[str, Sequence[str] | np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_frame(cls, frame: LogFrame) -> LogChunk:
        return cls(frame.ids, frame.product_id, frame.time, frame.state,
                   {name: frame.codes[name] for name in STRINGS},
                   {name: frame.vocabs[name] for name in STRINGS})

    def take(self, index: np.ndarray) -> LogChunk:
        return LogChunk(self.ids[index], self.product_id[index], self.time[index],
                        self.state[index], {k: v[index] for k, v in self.codes.items()},
                        self.vocabs)

    def part(self, lo: int, hi: int) -> LogChunk:
        return LogChunk(self.ids[lo:hi], self.product_id[lo:hi], self.time[lo:hi],
                        self.state[lo:hi], {k: v[lo:hi] for k, v in self.codes.items()},
                        self.vocabs)

    @staticmethod
    def concat(chunks: list[LogChunk]) -> LogChunk:
        """The rows of consecutive chunks of one stream (the last has the longest
        vocabularies)."""
        if len(chunks) == 1:
            return chunks[0]
        return LogChunk(np.concatenate([c.ids for c in chunks]),
                        np.concatenate([c.product_id for c in chunks]),
                        np.concatenate([c.time for c in chunks]),
                        np.concatenate([c.state for c in chunks]),
                        {k: np.concatenate([c.codes[k] for c in chunks]) for k in STRINGS},
                        chunks[-1].vocabs)


def key_hashes(product_ids: Iterable[int], keys: Iterable[str]) -> np.ndarray:
    """The entity hash of each (product, key): what the profile's known keys hold."""
    return hash_strings(np.array([f"k:{p}:{k}" for p, k in zip(product_ids, keys, strict=True)],
                                 dtype=object))


def known_key_hashes(frame: LogChunk | LogFrame) -> np.ndarray:
    """Sorted hashes of the keys with at least one successful call among `frame`'s rows."""
    succ = (frame.state % 100) // 10 == 1
    pairs = np.unique(np.stack([frame.product_id[succ],
                                frame.codes["key"][succ].astype(np.int64)], axis=1), axis=0)
    vocab = frame.vocabs["key"]
    return np.unique(key_hashes(pairs[:, 0].tolist(), [vocab[c] for c in pairs[:, 1]]))
