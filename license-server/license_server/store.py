"""The license server's durable state in one SQLite file: the journal of calls waiting to be
uploaded to the portal's Web API log, and the offline floating seats.

SQLite in WAL mode with synchronous=FULL: a committed record survives a crash or a power cut,
so nothing in the journal is lost across restarts. Every write runs in its own transaction
under one lock (request threads share the connection)."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL,
    uploaded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS journal_pending ON journal (uploaded, seq);
CREATE TABLE IF NOT EXISTS seats (
    product_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    machine_code TEXT NOT NULL,
    friendly_name TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    time REAL NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (product_id, key, machine_code)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class StorageError(Exception):
    """The data folder refused a write (disk full, read-only, ...)."""


@dataclass(frozen=True)
class Seat:
    machine_code: str
    friendly_name: str
    ip: str
    time: float
    expires: float


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                   timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as exc:  # "database or disk is full", locked...
                raise StorageError(str(exc)) from exc

    # --- The journal ---

    def record(self, record: dict[str, Any], *, uploaded: bool = False) -> str:
        """Append a call; returns its id (also the portal's de-duplication key)."""
        uid = record.setdefault("Id", uuid.uuid4().hex)
        with self._transaction() as db:
            db.execute("INSERT INTO journal (uid, record, uploaded) VALUES (?, ?, ?)",
                       (uid, json.dumps(record), int(uploaded)))
        return uid

    def pending(self, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT record FROM journal WHERE uploaded = 0 ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def mark_uploaded(self, uids: list[str]) -> None:
        with self._transaction() as db:
            db.executemany("UPDATE journal SET uploaded = 1 WHERE uid = ?", [(u,) for u in uids])

    def counts(self) -> dict[str, int]:
        with self._lock:
            pending, total = self._db.execute(
                "SELECT COALESCE(SUM(uploaded = 0), 0), COUNT(*) FROM journal").fetchone()
        return {"pending": pending, "total": total}

    # --- Offline floating seats ---

    def take_seat(self, *, product_id: int, key: str, machine_code: str, friendly_name: str,
                  ip: str, now: float, interval: int, limit: int) -> Seat | None:
        """Refresh the device's seat, or give it a new one while fewer than `limit` (0 = no
        limit) unexpired seats are held; None when the key is full. One transaction, so two
        devices racing for the last seat cannot both get it."""
        expires = now + interval
        with self._transaction() as db:
            db.execute("DELETE FROM seats WHERE product_id = ? AND key = ? AND expires <= ?",
                       (product_id, key, now))
            held = db.execute("SELECT 1 FROM seats WHERE product_id = ? AND key = ? AND "
                              "machine_code = ?", (product_id, key, machine_code)).fetchone()
            if held is None:
                (used,) = db.execute("SELECT COUNT(*) FROM seats WHERE product_id = ? AND "
                                     "key = ?", (product_id, key)).fetchone()
                if limit and used >= limit:
                    return None
            db.execute(
                "INSERT INTO seats (product_id, key, machine_code, friendly_name, ip, time, "
                "expires) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (product_id, key, "
                "machine_code) DO UPDATE SET friendly_name = excluded.friendly_name, "
                "ip = excluded.ip, time = excluded.time, expires = excluded.expires",
                (product_id, key, machine_code, friendly_name, ip, now, expires))
        return Seat(machine_code, friendly_name, ip, now, expires)

    def release_seat(self, *, product_id: int, key: str, machine_code: str) -> bool:
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM seats WHERE product_id = ? AND key = ? AND "
                                "machine_code = ?", (product_id, key, machine_code))
        return cursor.rowcount > 0

    def active_seats(self, *, product_id: int, key: str, now: float) -> list[Seat]:
        with self._lock:
            rows = self._db.execute(
                "SELECT machine_code, friendly_name, ip, time, expires FROM seats WHERE "
                "product_id = ? AND key = ? AND expires > ? ORDER BY time",
                (product_id, key, now)).fetchall()
        return [Seat(*row) for row in rows]

    def seat_count(self, now: float) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM seats WHERE expires > ?",
                                    (now,)).fetchone()[0]

    # --- Small persistent flags (e.g. the portal said the configuration is revoked) ---

    def get_meta(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_meta(self, name: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) "
                       "DO UPDATE SET value = excluded.value", (name, value))
