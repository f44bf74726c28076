"""The answer cache: each signed answer the portal gave, per (product, key, machine code,
sign method), one file each, written atomically.

An answer is served again only while it is younger than the cache length, counted from when
the portal gave it. Files are plain JSON so IT can inspect them; a damaged or unreadable file
is treated as missing, never as an answer."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from .files import write_atomic

logger = logging.getLogger(__name__)
DAY = 86400


@dataclass(frozen=True)
class CachedAnswer:
    body: bytes
    stored_at: float
    machine_code: str


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class AnswerCache:
    def __init__(self, folder: Path, max_age_days: float) -> None:
        self.folder = folder / "answers"
        self.max_age = max_age_days * DAY

    def _key_folder(self, product_id: int, key: str) -> Path:
        return self.folder / str(product_id) / _digest(key)

    def _path(self, product_id: int, key: str, machine_code: str, sign_method: int) -> Path:
        return self._key_folder(product_id, key) / f"{_digest(machine_code)}.{sign_method}.json"

    def store(self, *, product_id: int, key: str, machine_code: str, sign_method: int,
              body: bytes, now: float | None = None) -> None:
        """Keep `body` (raises OSError when the disk refuses; the old entry then stays)."""
        entry = {"stored_at": time.time() if now is None else now, "product_id": product_id,
                 "key": key, "machine_code": machine_code, "sign_method": sign_method,
                 "answer": body.decode("utf-8")}
        write_atomic(self._path(product_id, key, machine_code, sign_method),
                     json.dumps(entry).encode())

    def lookup(self, *, product_id: int, key: str, machine_code: str, sign_method: int,
               now: float | None = None) -> CachedAnswer | None:
        return self._read(self._path(product_id, key, machine_code, sign_method), key, now)

    def newest_for_key(self, *, product_id: int, key: str, sign_method: int,
                       now: float | None = None) -> CachedAnswer | None:
        """The youngest fresh answer for any device of the key (what GetKey can fall back to)."""
        folder = self._key_folder(product_id, key)
        found = [self._read(p, key, now) for p in folder.glob(f"*.{sign_method}.json")]
        fresh = [a for a in found if a is not None]
        return max(fresh, key=lambda a: a.stored_at, default=None)

    def _read(self, path: Path, key: str, now: float | None) -> CachedAnswer | None:
        try:
            entry = json.loads(path.read_bytes())
            stored_at = float(entry["stored_at"])
            body = entry["answer"].encode("utf-8")
            machine_code = str(entry["machine_code"])
            if entry["key"] != key:
                return None
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            logger.warning("Ignoring the unreadable cache file %s", path)
            return None
        age = (time.time() if now is None else now) - stored_at
        if age > self.max_age or age < -DAY:  # too old, or from a clock far in the future
            return None
        return CachedAnswer(body, stored_at, machine_code)

    def count(self) -> int:
        return sum(1 for _ in self.folder.glob("*/*/*.json")) if self.folder.exists() else 0
