"""The Web API log partitioned by month on PostgreSQL: the migration moves an existing log
into partitions without losing a row; months are created ahead, by the import for its rows,
and out of the default partition; retention drops whole months; on SQLite nothing changes."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from apps.audit.log import Actor
from apps.licensing.api_methods import API_METHODS
from apps.licensing.services import token_create
from apps.usage import partitions
from apps.usage.models import WebApiLog
from apps.usage.partitions import (
    DEFAULT_PARTITION,
    month_partition,
    weblog_partitions,
    weblog_partitions_ahead,
    weblog_partitions_ensure,
)
from apps.usage.retention import weblog_prune
from apps.usage.tasks import weblog_partitions_task
from apps.usage.weblog_io import COLUMNS, webapi_log_import
from tests.factories import ProductFactory, make_activation, make_key, make_vendor

postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="the log is partitioned on PostgreSQL only")
NOW = timezone.now()
THIS_MONTH = month_partition(NOW)


def _where(pks) -> dict[int, str]:
    """Each row's partition, by primary key."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, tableoid::regclass::text FROM licensing_webapilog "
                       "WHERE id = ANY(%s)", [list(pks)])
        return dict(cursor.fetchall())


def _row(vendor, time: dt.datetime, **fields) -> WebApiLog:
    return WebApiLog.objects.create(vendor=vendor, time=time, state=2011, method="key.Activate",
                                    **fields)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


_COLUMNS = ("id", "vendor_id", "time", "product_id", "key", "ip", "state", "machine_code",
            "friendly_name", "floating_expires", "method", "user_agent", "do_int_value",
            "do_id", "token_id", "country", "source_id")


def _table() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(_COLUMNS)} FROM licensing_webapilog "
                       "ORDER BY id")
        return cursor.fetchall()


@postgresql
@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_every_row_of_an_existing_log_into_month_partitions():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = _migrate([("usage", "0001_initial")])
    assert not partitions.is_partitioned()
    vendor = old.get_model("accounts", "Vendor").objects.create(name="Years of calls")
    log = old.get_model("usage", "WebApiLog").objects
    times = [dt.datetime(2023, 1, 31, 23, 59, 59, tzinfo=dt.UTC),  # a month's last second
             dt.datetime(2023, 2, 1, tzinfo=dt.UTC),  # the next one's first
             dt.datetime(2025, 7, 14, 8, 30, tzinfo=dt.UTC), NOW]
    rows = [log.create(vendor=vendor, time=t, state=2011 + n, method="key.Activate",
                       product_id=n, key=f"KEY-{n}", ip="198.51.100.7", machine_code=f"pc-{n}",
                       friendly_name="host", user_agent="licensing/1", do_int_value=n,
                       do_id=n, token_id=n, country="SE", source_id=100 + n,
                       floating_expires=t + dt.timedelta(minutes=10))
            for n, t in enumerate(times)]
    log.filter(pk=rows[-1].pk).delete()  # the sequence has gone past the highest id
    before = _table()
    assert len(before) == 3

    try:
        _migrate(latest)

        assert partitions.is_partitioned()
        assert _table() == before  # every row, every column
        where = _where(row.pk for row in rows[:3])
        assert [where[row.pk] for row in rows[:3]] == [
            "licensing_webapilog_y2023m01", "licensing_webapilog_y2023m02",
            "licensing_webapilog_y2025m07"]
        names = [partition.name for partition in weblog_partitions()]
        # Every month from the oldest row's to three months ahead, gaps included.
        assert names[0] == "licensing_webapilog_y2023m01"
        assert names[-1] == month_partition(THIS_MONTH.end + dt.timedelta(days=62)).name
        assert len(names) == len(set(names)) == len(list(partitions.months(
            dt.datetime(2023, 1, 1, tzinfo=dt.UTC), THIS_MONTH.end + dt.timedelta(days=62))))
        # Ids go on after the deleted row's; the new row lands in this month's partition.
        newer = WebApiLog.objects.create(vendor_id=vendor.pk, state=1011, method="key.GetKey")
        assert newer.pk > rows[-1].pk
        assert _where([newer.pk]) == {newer.pk: THIS_MONTH.name}
        # Each partition has the model's indexes of its own.
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM pg_indexes WHERE tablename = %s",
                           ["licensing_webapilog_y2025m07"])
            assert cursor.fetchone()[0] == len(WebApiLog._meta.indexes) + 2  # + primary key, unique

        # And back: one plain table with the same rows.
        _migrate([("usage", "0001_initial")])
        assert not partitions.is_partitioned()
        assert _table() == [*before, tuple(getattr(newer, column) for column in _COLUMNS)]
    finally:
        _migrate(latest)
    assert partitions.is_partitioned()


@postgresql
def test_a_row_whose_month_has_no_partition_waits_in_the_default_one_and_moves_later(db):
    vendor = make_vendor("Far future")
    later = THIS_MONTH.start.replace(year=THIS_MONTH.start.year + 3)
    early, late = _row(vendor, later), _row(vendor, later + dt.timedelta(days=40))
    assert set(_where([early.pk, late.pk]).values()) == {DEFAULT_PARTITION}

    created = weblog_partitions_ensure(first=later, last=later)

    assert created == [month_partition(later).name]
    assert _where([early.pk, late.pk]) == {early.pk: month_partition(later).name,
                                           late.pk: DEFAULT_PARTITION}
    assert WebApiLog.objects.get(pk=early.pk).key == early.key
    assert weblog_partitions_ensure(first=later, last=later) == []  # idempotent


@postgresql
def test_the_daily_task_keeps_this_month_and_the_next_ones_ready(db, settings):
    settings.WEBAPI_LOG_PARTITIONS_AHEAD = 5
    wanted = [p.name for p in partitions.months(THIS_MONTH.start,
                                                 THIS_MONTH.start + dt.timedelta(days=5 * 31))]
    # Rows written while a month had no partition (demo data, a stopped beat) wait in the
    # default partition; the task gives their month a partition and moves them.
    waiting = _row(make_vendor("Waiting"), dt.datetime(2021, 2, 3, tzinfo=dt.UTC))
    assert _where([waiting.pk]) == {waiting.pk: DEFAULT_PARTITION}

    created = weblog_partitions_task.delay().get()

    assert len(wanted) == 6
    assert set(wanted) <= {p.name for p in weblog_partitions()}
    # The migration made three ahead already.
    assert created == [*wanted[4:], "licensing_webapilog_y2021m02"]
    assert _where([waiting.pk]) == {waiting.pk: "licensing_webapilog_y2021m02"}
    assert weblog_partitions_ahead(months_ahead=5) == []


def test_the_partition_task_runs_every_day():
    schedule = settings.CELERY_BEAT_SCHEDULE["weblog-partitions-daily"]
    assert schedule["task"] == "apps.usage.tasks.weblog_partitions_task"


@postgresql
def test_an_import_of_an_old_log_fills_its_own_months_and_absurd_times_wait(db):
    vendor = make_vendor("Importer")
    old = dt.datetime(2019, 5, 17, tzinfo=dt.UTC)
    absurd = dt.datetime(2999, 1, 1, tzinfo=dt.UTC)
    lines = [",".join(COLUMNS)] + [
        f"{n},1,KEY,,{int(t.timestamp())},1011,,,,key.GetKey,SE"
        for n, t in enumerate([old, old + dt.timedelta(days=31), absurd], start=1)]

    result = webapi_log_import(vendor=vendor, lines=io.StringIO("\n".join(lines)))
    again = webapi_log_import(vendor=vendor, lines=io.StringIO("\n".join(lines)))

    assert (result.inserted, again.inserted, again.skipped) == (3, 0, 3)
    rows = dict(WebApiLog.objects.filter(vendor=vendor).values_list("source_id", "pk"))
    assert _where(rows.values()) == {rows[1]: "licensing_webapilog_y2019m05",
                                     rows[2]: "licensing_webapilog_y2019m06",
                                     rows[3]: DEFAULT_PARTITION}
    assert "licensing_webapilog_y2999m01" not in {p.name for p in weblog_partitions()}


@postgresql
def test_retention_drops_whole_months_and_deletes_only_the_rest_row_by_row(db):
    vendor, other = make_vendor("Old calls"), make_vendor("Other")
    months_ago = [month_partition(THIS_MONTH.start - dt.timedelta(days=31 * n))
                  for n in (4, 3)]
    weblog_partitions_ensure(first=months_ago[0].start, last=months_ago[1].start)
    cutoff = months_ago[1].start + dt.timedelta(days=10)
    gone = [_row(vendor, months_ago[0].start), _row(other, months_ago[0].end
                                                     - dt.timedelta(microseconds=1)),
            _row(vendor, cutoff - dt.timedelta(days=1))]
    kept = [_row(vendor, cutoff + dt.timedelta(hours=1)), _row(other, NOW)]
    days = (NOW - cutoff).days

    deleted = weblog_prune(days=days, now=cutoff + dt.timedelta(days=days),
                           batch_size=100, max_batches=10)

    assert deleted == 3
    assert set(WebApiLog.objects.values_list("pk", flat=True)) == {row.pk for row in kept}
    names = {p.name for p in weblog_partitions()}
    assert months_ago[0].name not in names  # the whole month dropped
    assert months_ago[1].name in names  # the cut-off's month stays, trimmed
    assert not [row for row in gone if WebApiLog.objects.filter(pk=row.pk).exists()]
    assert weblog_prune(days=days, now=cutoff + dt.timedelta(days=days),
                        batch_size=100, max_batches=10) == 0


@postgresql
@pytest.mark.parametrize("machine", ["pc-1", "pc-new"])  # the fast path, the ordinary one
def test_an_api_call_is_logged_even_when_this_month_has_no_partition(db, machine):
    """The beat task may not have run: the call succeeds, its row waits in the default
    partition, and moves when the month is created."""
    vendor = make_vendor()
    product = ProductFactory(vendor=vendor)
    key = make_key(product, max_no_of_machines=3)
    make_activation(key, "pc-1")
    _, token = token_create(vendor=vendor, actor=Actor.for_system("t"), name="t",
                            permissions=API_METHODS)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {THIS_MONTH.name}")

    answer = Client().post("/api/key/Activate", {
        "token": token, "ProductId": product.pk, "Key": key.key, "MachineCode": machine,
        "Sign": "True", "SignMethod": 1}).json()

    assert answer["result"] == 0, answer
    entry = WebApiLog.objects.get(vendor=vendor)
    assert (entry.machine_code, entry.state) == (machine, 2010 if machine == "pc-1" else 2011)
    assert _where([entry.pk]) == {entry.pk: DEFAULT_PARTITION}
    weblog_partitions_ensure(first=NOW, last=NOW)
    assert _where([entry.pk]) == {entry.pk: THIS_MONTH.name}


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's one table")
def test_on_sqlite_the_log_is_one_table_and_partition_work_does_nothing(db):
    vendor = make_vendor("Lite")
    row = _row(vendor, NOW - dt.timedelta(days=400))
    assert not partitions.is_partitioned()
    assert weblog_partitions_ahead(months_ahead=3) == []
    assert partitions.weblog_partitions_drop(before=NOW) == []
    assert weblog_prune(days=30, batch_size=10, max_batches=5) == 1
    assert not WebApiLog.objects.filter(pk=row.pk).exists()


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_month_held_by_a_long_report_is_left_for_the_next_run_without_stalling_writers(
        monkeypatch):
    """The DROP needs the whole table for a moment; while a report holds it, each try waits
    at most DROP_LOCK_TIMEOUT (API calls queue behind a waiting DROP), and the next run
    drops the month."""
    import psycopg

    old = month_partition(THIS_MONTH.start - dt.timedelta(days=31 * 8))
    weblog_partitions_ensure(first=old.start, last=old.start)
    _row(make_vendor("Old"), old.start)
    waits: list[float] = []
    monkeypatch.setattr(partitions.time, "sleep", waits.append)
    settings_dict = connection.settings_dict
    report = psycopg.connect(dbname=settings_dict["NAME"], user=settings_dict["USER"],
                             password=settings_dict["PASSWORD"], host=settings_dict["HOST"],
                             port=settings_dict["PORT"] or 5432)
    try:
        report.execute("SELECT COUNT(*) FROM licensing_webapilog")  # holds it until commit
        started = timezone.now()
        assert partitions.weblog_partitions_drop(before=old.end) == []
        took = (timezone.now() - started).total_seconds()
        assert len(waits) == partitions.DROP_ATTEMPTS
        assert took < partitions.DROP_ATTEMPTS * 0.2 + 2  # no wait beyond the lock timeouts
        assert old.name in {p.name for p in weblog_partitions()}
    finally:
        report.rollback()
        report.close()
    dropped = partitions.weblog_partitions_drop(before=old.end)
    # (Older, empty months may exist too: other tests leave their partitions behind.)
    assert {partition.name: rows for partition, rows in dropped if rows} == {old.name: 1}
    assert [p for p in weblog_partitions() if p.end <= old.end] == []
