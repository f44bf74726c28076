"""Floating sessions: the Web API log's floating calls condensed into one row per seat held.

A seat is an "island" of one device on one key: it starts with a floating activation (2014,
or 2015 in overdraft); each further activation of the same device before the previous call's
FloatingExpires (a heartbeat) extends it; it ends at the last expiry or at a release (6011),
whichever comes first. That is the rule the API applies when it hands out seats
(apps/licensing/services/seats.py: a heartbeat renews a seat whose stored expiry, set by the
previous call, is still ahead).

`floating_sessions_refresh` reads the log rows added since its last run (by id), and for each
seat they touch recomputes that seat's sessions from the first one the new rows can change:
live traffic costs a few recent rows per seat; an import of old rows (whose ids may be below
the mark) rewinds the mark first (`floating_sessions_rewind`). Every step is SQL (window
functions and joins against a scratch table of touched seats); the log itself stays
append-only and remains the source of truth: the sessions can always be rebuilt from it.
The first run (mark 0: a bulk-loaded log, a rebuild) reads every seat from its first row in
one pass over the log's seat rows, sorted by seat and time, without the join.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.usage import states
from apps.usage.models import ReportProgress, WebApiLog
from apps.usage.sql import epoch, from_unix, report_session, seat_id

SEAT_STATES = (states.ACTIVATION_FLOATING, states.ACTIVATION_OVERDRAFT, states.FLOATING_RELEASED)
# Rows younger than this are left for the next run: a row whose id was taken before a newer
# row's may commit after it, and must not be skipped for good.
SETTLE = dt.timedelta(seconds=30)

_TOUCHED = """
CREATE TEMP TABLE {table} AS
SELECT product_id, key AS lkey, machine_code AS machine, MIN({t}) AS cutoff
FROM licensing_webapilog
WHERE vendor_id = %s AND id > %s AND id <= %s AND state IN ({seat_states})
  AND product_id IS NOT NULL
GROUP BY product_id, key, machine_code
"""

# A new row can only change the session it falls in, or later ones: start from there.
_CUTOFF = """
UPDATE {table} SET cutoff = COALESCE((
    SELECT MIN(s.start_t) FROM licensing_floatingsession s
    WHERE s.vendor_id = %s AND s.product_id = {table}.product_id AND s.key = {table}.lkey
      AND s.machine_code = {table}.machine AND s.end_t >= {table}.cutoff
      AND s.start_t < {table}.cutoff), cutoff)
"""

_DELETE = """
DELETE FROM licensing_floatingsession
WHERE vendor_id = %s AND EXISTS (
    SELECT 1 FROM {table} t
    WHERE t.product_id = licensing_floatingsession.product_id
      AND t.lkey = licensing_floatingsession.key
      AND t.machine = licensing_floatingsession.machine_code
      AND licensing_floatingsession.start_t >= t.cutoff)
"""

_INSERT = """
INSERT INTO licensing_floatingsession
    (vendor_id, product_id, key, machine_code, start_t, end_t, overdraft)
WITH e AS (
    SELECT w.product_id, w.key AS lkey, w.machine_code AS machine, w.state,
           {seat} AS seat, {t} AS t,
           CASE WHEN w.state = {released} THEN NULL ELSE COALESCE({x}, {t}) END AS x,
           CASE WHEN w.state = {released} THEN 1 ELSE 0 END AS rel
    FROM licensing_webapilog w
    {seats}
),
l AS (
    SELECT e.*,
        LAG(state) OVER (PARTITION BY seat ORDER BY t, state) AS pstate,
        LAG(x) OVER (PARTITION BY seat ORDER BY t, state) AS px
    FROM e
),
i AS (
    SELECT l.*, SUM(CASE WHEN rel = 0 AND (pstate IS NULL OR pstate = {released} OR px IS NULL
                                          OR t >= px) THEN 1 ELSE 0 END)
        OVER (PARTITION BY seat ORDER BY t, state ROWS UNBOUNDED PRECEDING) AS island
    FROM l
)
SELECT %s, product_id, lkey, machine, MIN(CASE WHEN rel = 0 THEN t END),
       CASE WHEN MIN(CASE WHEN rel = 1 THEN t END) < MAX(x)
            THEN MIN(CASE WHEN rel = 1 THEN t END) ELSE MAX(x) END,
       MAX(CASE WHEN state = {overdraft} THEN 1 ELSE 0 END) = 1
FROM i GROUP BY seat, island, product_id, lkey, machine
HAVING MIN(CASE WHEN rel = 0 THEN t END) IS NOT NULL
"""

# The rows read: the touched seats' rows from their cutoffs on.
_SOME_SEATS = """
    JOIN {table} c ON c.product_id = w.product_id AND c.lkey = w.key
                  AND c.machine = w.machine_code
    WHERE w.vendor_id = %s AND w.state IN ({seat_states}) AND w.id <= %s
      AND w.time >= %s AND {t} >= c.cutoff
"""

# Every seat from its first row (nothing read before): each seat row of the vendor, in one
# pass over the log, without the join; the same rows as _SOME_SEATS would read then.
_EVERY_SEAT = """
    WHERE w.vendor_id = %s AND w.state IN ({seat_states}) AND w.id <= %s
      AND w.time >= %s AND w.product_id IS NOT NULL
"""


def floating_sessions_refresh(*, vendor: Vendor) -> int:
    """Bring the vendor's floating sessions up to the log rows settled by now; return how
    many seats the new rows touched. Safe to run concurrently: one run at a time per vendor (a row
    lock on its progress mark); the others wait and then find nothing left to do."""
    ReportProgress.objects.get_or_create(vendor=vendor)
    with transaction.atomic():
        progress = ReportProgress.objects.select_for_update().get(vendor=vendor)
        mark = progress.floating_log_id
        upto = (WebApiLog.objects.filter(vendor=vendor, id__gt=mark,
                                         time__lt=timezone.now() - SETTLE)
                .aggregate(top=Max("id"))["top"])
        if upto is None:
            return 0
        read = _rebuild_touched(vendor.pk, mark, upto)
        progress.floating_log_id = upto
        progress.save(update_fields=["floating_log_id"])
    return read


def floating_sessions_condensed_until(*, vendor: Vendor) -> dt.datetime | None:
    """The time of the newest log row the vendor's sessions include (None: none yet). Read
    only: reports show it, so that a reader knows how fresh the seats are."""
    mark = (ReportProgress.objects.filter(vendor=vendor)
            .values_list("floating_log_id", flat=True).first())
    if not mark:
        return None
    return (WebApiLog.objects.filter(vendor=vendor, id__lte=mark).order_by("-id")
            .values_list("time", flat=True).first())


def floating_sessions_rewind(*, vendor: Vendor, before_id: int) -> None:
    """Make the next refresh read every row from `before_id` on (after an import of rows
    with older ids)."""
    ReportProgress.objects.filter(vendor=vendor, floating_log_id__gte=before_id).update(
        floating_log_id=max(0, before_id - 1))


def _rebuild_touched(vendor_id: int, mark: int, upto: int) -> int:
    table = "floating_touched"
    fmt = {"table": table, "t": epoch('"time"'),
           "seat_states": ",".join(map(str, SEAT_STATES))}
    with report_session(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        # Only constants and quoted names are formatted into these statements; values are
        # parameters.
        cursor.execute(_TOUCHED.format(**fmt), (vendor_id, mark, upto))
        # A temporary table has no statistics until analysed: the planner would take the
        # touched seats for a few and read each one's rows by index, a random read per row
        # (hours for a backlog of millions).
        cursor.execute(f"ANALYZE {table}")
        cursor.execute(f"SELECT COUNT(*), MIN(cutoff) FROM {table}")  # noqa: S608
        seats, earliest = cursor.fetchone()
        if seats:
            if _has_sessions(cursor, vendor_id):
                cursor.execute(_CUTOFF.format(table=table), (vendor_id,))
                cursor.execute(f"SELECT MIN(cutoff) FROM {table}")  # noqa: S608
                earliest = cursor.fetchone()[0]
                cursor.execute(_DELETE.format(table=table), (vendor_id,))
            # Mark 0: every row is new, every seat is read from its first row.
            cursor.execute(_insert_sql(table, every_seat=mark == 0),
                           (vendor_id, upto, connection.ops.adapt_datetimefield_value(
                               from_unix(earliest)), vendor_id))
        cursor.execute(f"DROP TABLE {table}")
    return seats


def _has_sessions(cursor, vendor_id: int) -> bool:
    """Whether the vendor has sessions (with none, no cutoff moves and nothing is deleted)."""
    cursor.execute("SELECT EXISTS (SELECT 1 FROM licensing_floatingsession WHERE vendor_id = %s)",
                   (vendor_id,))
    return bool(cursor.fetchone()[0])


def _insert_sql(table: str, *, every_seat: bool) -> str:
    seats = (_EVERY_SEAT if every_seat else _SOME_SEATS).format(
        table=table, t=epoch('w."time"'), seat_states=",".join(map(str, SEAT_STATES)))
    return _INSERT.format(
        seats=seats, seat=seat_id("w.product_id", "w.key", "w.machine_code"),
        t=epoch('w."time"'), x=epoch("w.floating_expires"), released=states.FLOATING_RELEASED,
        overdraft=states.ACTIVATION_OVERDRAFT)
