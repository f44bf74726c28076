"""The license server's durable state in one SQLite file: the journal of calls waiting to be
uploaded to the portal's Web API log, the changes to data objects made through the server
(usage-based licensing), and the offline floating seats.

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
CREATE TABLE IF NOT EXISTS usage (
    uid TEXT PRIMARY KEY REFERENCES journal (uid),
    product_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    delta INTEGER NOT NULL,
    time REAL NOT NULL,
    local INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_by_key ON usage (product_id, key, time);
"""


class StorageError(Exception):
    """The data folder refused a write (disk full, read-only, ...)."""


@dataclass(frozen=True)
class UsageChange:
    """A change to a key's data object made through this server: relayed to the portal
    (`local` False) or recorded here while it could not be reached (`local` True).
    object_id 0: the device named the object by `name` only."""

    product_id: int
    key: str
    object_id: int
    name: str
    delta: int
    time: float
    local: bool


@dataclass(frozen=True)
class PendingUsage:
    product_id: int
    key: str
    object_id: int
    name: str
    records: int
    delta: int


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

    def record(self, record: dict[str, Any], *, uploaded: bool = False,
               usage: UsageChange | None = None) -> str:
        """Append a call (and the change it made to a data object); returns its id (also the
        portal's de-duplication key)."""
        uid = record.setdefault("Id", uuid.uuid4().hex)
        with self._transaction() as db:
            self._insert(db, uid, record, uploaded, usage)
        return uid

    @staticmethod
    def _insert(db: sqlite3.Connection, uid: str, record: dict[str, Any], uploaded: bool,
                usage: UsageChange | None) -> None:
        db.execute("INSERT INTO journal (uid, record, uploaded) VALUES (?, ?, ?)",
                   (uid, json.dumps(record), int(uploaded)))
        if usage is not None:
            db.execute("INSERT INTO usage (uid, product_id, key, object_id, name, delta, time, "
                       "local) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (uid, usage.product_id, usage.key, usage.object_id, usage.name,
                        usage.delta, usage.time, int(usage.local)))

    # --- Usage-based licensing: changes to data objects ---

    def record_usage(self, record: dict[str, Any], usage: UsageChange, *, base: int,
                     since: float, bound: int | None) -> int | None:
        """Record a change made offline, unless it takes the data object past `bound` (an
        upper bound for an increment, a lower one for a decrement, as the portal has them);
        returns the value it is now known to have, or None when refused.

        The known value is `base` (what the newest signed license the server holds says,
        signed at `since`) plus every change made through this server after `since`, relayed
        or recorded. Check and write are one transaction, so two devices racing for the
        last unit cannot both get it."""
        uid = record.setdefault("Id", uuid.uuid4().hex)
        with self._transaction() as db:
            (changed,) = db.execute(
                "SELECT COALESCE(SUM(delta), 0) FROM usage WHERE product_id = ? AND key = ? "
                "AND (object_id = ? OR (object_id = 0 AND name = ?)) AND time > ?",
                (usage.product_id, usage.key, usage.object_id, usage.name, since)).fetchone()
            value = base + changed + usage.delta
            if bound is not None and ((usage.delta > 0 and value > bound)
                                      or (usage.delta < 0 and value < bound)):
                return None
            self._insert(db, uid, record, False, usage)
        return value

    def pending_usage(self) -> list[PendingUsage]:
        """Changes recorded offline that the portal has not confirmed yet, per data object."""
        with self._lock:
            rows = self._db.execute(
                "SELECT u.product_id, u.key, u.object_id, u.name, COUNT(*), SUM(u.delta) "
                "FROM usage u JOIN journal j ON j.uid = u.uid WHERE u.local = 1 AND "
                "j.uploaded = 0 GROUP BY u.product_id, u.key, u.object_id, u.name "
                "ORDER BY u.product_id, u.key, u.object_id").fetchall()
        return [PendingUsage(*row) for row in rows]

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
