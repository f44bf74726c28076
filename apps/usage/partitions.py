"""The Web API log's monthly partitions on PostgreSQL.

The log is the one table that grows with every call (3 million rows a month for a vendor with
100,000 devices checking in daily). On PostgreSQL it is a table partitioned by month on
`time` (migration usage 0002): a report over 30 days reads one or two months' partitions,
and retention drops a whole month at once instead of deleting millions of rows one by one.
Each partition has its own copy of every index of the model.

- `weblog_partitions_ensure` creates the month partitions of a time range that do not exist
  yet. The beat task creates the coming months ahead; the CSV import creates the months of
  the rows it brings (an old export lands in its own months).
- A DEFAULT partition catches a row whose month has no partition yet (the beat task did not
  run for months, a clock far off), so that writing the log never fails. When that month's
  partition is created, its rows move out of the default partition into it.
- `weblog_partitions_drop` drops the months that end before a cut-off (retention).

On SQLite the log is one plain table and every function here does nothing.

Partitions are named `licensing_webapilog_y2026m12`; the bounds are whole months in UTC.
DDL here waits a bounded time for its locks (a DROP, which locks the whole table for a moment,
at most DROP_LOCK_TIMEOUT a try: a long report holding the table must not make every API call
queue behind a waiting DROP); what could not be done is done by the next run (each step is
idempotent).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import OperationalError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from apps.usage.models import WebApiLog

logger = logging.getLogger(__name__)

TABLE = WebApiLog._meta.db_table
DEFAULT_PARTITION = f"{TABLE}_default"
LOCK_TIMEOUT = "5s"
DROP_LOCK_TIMEOUT = "200ms"
DROP_ATTEMPTS = 5
LOCK_NOT_AVAILABLE = "55P03"
MAX_PAST_YEARS = 20
# One advisory lock serialises everything that creates or drops partitions.
_LOCK_KEY = 0x5745424C4F47  # "WEBLOG"
_NAME = re.compile(rf"^{TABLE}_y(\d{{4}})m(\d{{2}})$")


@dataclass(frozen=True)
class Partition:
    name: str
    start: dt.datetime  # inclusive, the first instant of the month in UTC
    end: dt.datetime  # exclusive, the first instant of the next month


def month_start(moment: dt.datetime | dt.date) -> dt.datetime:
    if isinstance(moment, dt.datetime):
        moment = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return dt.datetime(moment.year, moment.month, 1, tzinfo=dt.UTC)


def next_month(start: dt.datetime) -> dt.datetime:
    return (start + dt.timedelta(days=32)).replace(day=1)


def month_partition(moment: dt.datetime | dt.date) -> Partition:
    start = month_start(moment)
    return Partition(name=f"{TABLE}_y{start.year:04d}m{start.month:02d}", start=start,
                     end=next_month(start))


def months(first: dt.datetime, last: dt.datetime) -> Iterator[Partition]:
    """The month partitions covering first..last (both included)."""
    start, stop = month_start(first), month_start(last)
    while start <= stop:
        yield month_partition(start)
        start = next_month(start)


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)",
                       [TABLE])
        return cursor.fetchone() is not None


def weblog_partitions() -> list[Partition]:
    """The month partitions that exist, oldest first (not the default partition)."""
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = to_regclass(%s)", [TABLE])
        names = [name for (name,) in cursor.fetchall()]
    found = []
    for name in names:
        match = _NAME.match(name)
        if match:
            found.append(month_partition(dt.date(int(match[1]), int(match[2]), 1)))
    return sorted(found, key=lambda partition: partition.start)


def _literal(moment: dt.datetime) -> str:
    # DDL takes no parameters; the bounds are datetimes made here, never input.
    return f"'{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}+00'"


def _guarded(cursor: CursorWrapper) -> None:
    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _exists(cursor: CursorWrapper, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    return bool(cursor.fetchone()[0])


def weblog_partitions_ensure(*, first: dt.datetime, last: dt.datetime) -> list[str]:
    """Create the month partitions covering first..last that do not exist yet (rows of those
    months waiting in the default partition move into them); returns the names created.
    Idempotent and safe to run concurrently."""
    if not is_partitioned():
        return []
    existing = {partition.name for partition in weblog_partitions()}
    created = []
    quote = connection.ops.quote_name
    for partition in months(first, last):
        if partition.name in existing:
            continue
        lower, upper = _literal(partition.start), _literal(partition.end)
        with transaction.atomic(), connection.cursor() as cursor:
            _guarded(cursor)
            if _exists(cursor, partition.name):
                continue
            # A new partition may not overlap rows in the default partition: writers to the
            # default partition wait (EXCLUSIVE) while that month's rows move over.
            cursor.execute(f"LOCK TABLE {quote(DEFAULT_PARTITION)} IN EXCLUSIVE MODE")
            cursor.execute(f"CREATE TABLE {quote(partition.name)} "
                           f"(LIKE {quote(TABLE)} INCLUDING DEFAULTS)")
            cursor.execute(
                f"WITH moved AS (DELETE FROM {quote(DEFAULT_PARTITION)} "  # noqa: S608
                f'WHERE "time" >= {lower} AND "time" < {upper} RETURNING *) '
                f"INSERT INTO {quote(partition.name)} SELECT * FROM moved")
            moved = cursor.rowcount
            cursor.execute(f"ALTER TABLE {quote(TABLE)} ATTACH PARTITION "
                           f"{quote(partition.name)} FOR VALUES FROM ({lower}) TO ({upper})")
        created.append(partition.name)
        logger.info("Web API log: partition %s created (%d rows moved from %s)",
                    partition.name, max(moved, 0), DEFAULT_PARTITION)
    return created


def weblog_partitions_for(moments: Iterable[dt.datetime], *,
                          now: dt.datetime | None = None) -> list[str]:
    """Create the partitions of the months these rows fall in (an import brings rows of any
    age). Only months from MAX_PAST_YEARS ago to a year ahead get one: a file full of absurd
    times must not create thousands of tables, its rows wait in the default partition."""
    if not is_partitioned():
        return []
    now = now or timezone.now()
    low = month_start(now.replace(year=now.year - MAX_PAST_YEARS, day=1))
    high = month_start(now.replace(year=now.year + 1, day=1))
    wanted = {month_start(moment) for moment in moments}
    created = []
    for month in sorted(m for m in wanted if low <= m <= high):
        created += weblog_partitions_ensure(first=month, last=month)
    return created


def weblog_partitions_ahead(*, months_ahead: int, now: dt.datetime | None = None) -> list[str]:
    """This month's partition and the next `months_ahead` months' (the beat task); and the
    months of rows waiting in the default partition get theirs, which moves those rows."""
    if not is_partitioned():
        return []
    start = month_start(now or timezone.now())
    last = start
    for _ in range(max(0, months_ahead)):
        last = next_month(last)
    created = weblog_partitions_ensure(first=start, last=last)
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT date_trunc('month', \"time\" AT TIME ZONE 'UTC') "  # noqa: S608
                       f"FROM {connection.ops.quote_name(DEFAULT_PARTITION)}")
        waiting = [month.replace(tzinfo=dt.UTC) for (month,) in cursor.fetchall()]
    return created + weblog_partitions_for(waiting, now=now)


def weblog_partitions_drop(*, before: dt.datetime) -> list[tuple[Partition, int]]:
    """Drop every month partition that ends at or before `before`, each in its own short
    transaction; returns each partition dropped with its row count. Idempotent."""
    dropped = []
    for partition in weblog_partitions():
        if partition.end > before:
            break
        for attempt in range(DROP_ATTEMPTS):
            try:
                rows = _drop(partition)
                break
            except OperationalError as error:
                if getattr(error.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                    raise
                time.sleep(attempt + 1)
        else:
            logger.warning("Web API log: partition %s is busy; the next run drops it",
                           partition.name)
            break
        if rows is not None:
            dropped.append((partition, rows))
            logger.info("Web API log: partition %s dropped (%d rows)", partition.name, rows)
    return dropped


def _drop(partition: Partition) -> int | None:
    """Drop one partition; its row count, or None when it is gone already. The DROP needs
    the whole table's lock for a moment: it waits at most DROP_LOCK_TIMEOUT for it (a long
    report holding the table must not make every API call queue behind a waiting DROP)."""
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        _guarded(cursor)
        if not _exists(cursor, partition.name):
            return None
        # Deferred foreign-key checks of rows written earlier in an enclosing transaction
        # would forbid the DROP: they are run now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # Counted before the drop takes its lock: a past month gets no new rows, and API
        # calls do not wait for the count.
        cursor.execute(f"SELECT COUNT(*) FROM {quote(partition.name)}")  # noqa: S608
        rows = cursor.fetchone()[0]
        cursor.execute(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'")
        cursor.execute(f"DROP TABLE {quote(partition.name)}")
    return int(rows)
