"""Floating sessions stay equal to a rebuild from the log, however the rows arrive: live
heartbeats after a refresh, rows inserted out of time order, imports of older ids."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from apps.usage.models import FloatingSession, ReportProgress, WebApiLog
from apps.usage.sessions import floating_sessions_refresh
from apps.usage.weblog_io import COLUMNS, webapi_log_import
from tests.factories import ProductFactory, make_key, make_vendor

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
TEN_MINUTES = dt.timedelta(minutes=10)


@pytest.fixture
def key(db):
    vendor = make_vendor("Sessions")
    return make_key(ProductFactory(vendor=vendor), max_no_of_machines=3)


def _call(key, minute: int, machine: str = "A", state: int = 2014, **fields) -> WebApiLog:
    when = T0 + dt.timedelta(minutes=minute)
    return WebApiLog.objects.create(
        vendor=key.product.vendor, time=when, product_id=key.product_id, key=key.key,
        state=state, machine_code=machine, method="key.Activate",
        floating_expires=when + TEN_MINUTES if state != 6011 else None, **fields)


def _sessions(key) -> list[tuple[str, int, int, bool]]:
    return [(s.machine_code, (s.start_t - int(T0.timestamp())) // 60,
             (s.end_t - int(T0.timestamp())) // 60, s.overdraft)
            for s in FloatingSession.objects.filter(key=key.key).order_by("start_t", "id")]


def _rebuilt(key) -> list[tuple[str, int, int, bool]]:
    FloatingSession.objects.all().delete()
    ReportProgress.objects.all().delete()
    floating_sessions_refresh(vendor=key.product.vendor)
    return _sessions(key)


def test_heartbeats_extend_a_seat_and_a_gap_or_release_ends_it(key):
    for minute in (0, 5, 9):
        _call(key, minute)
    _call(key, 25)  # 25 >= 19: the seat had expired, a new one starts
    _call(key, 27, state=6011)  # released
    _call(key, 28)  # a new seat right after the release
    _call(key, 1, machine="B", state=2015)  # overdraft seat of another device

    floating_sessions_refresh(vendor=key.product.vendor)

    assert _sessions(key) == [("A", 0, 19, False), ("B", 1, 11, True), ("A", 25, 27, False),
                              ("A", 28, 38, False)]


def test_rows_after_a_refresh_extend_or_split_sessions_as_a_rebuild_would(key):
    vendor = key.product.vendor
    _call(key, 0)
    _call(key, 30)
    floating_sessions_refresh(vendor=vendor)
    assert _sessions(key) == [("A", 0, 10, False), ("A", 30, 40, False)]

    _call(key, 8)  # late row bridging: 0-10 extended to 18, still before 30
    _call(key, 17)  # and again: now 0-27, still a gap before 30
    _call(key, 38)  # heartbeat of the second seat
    floating_sessions_refresh(vendor=vendor)
    incremental = _sessions(key)

    assert incremental == [("A", 0, 27, False), ("A", 30, 48, False)]
    assert incremental == _rebuilt(key)


def test_an_import_of_older_ids_is_read_on_the_next_refresh(key, tmp_path):
    vendor = key.product.vendor
    _call(key, 40, id=5000)
    floating_sessions_refresh(vendor=vendor)
    unix = int(T0.timestamp())
    path = tmp_path / "old.csv"
    path.write_text(",".join(COLUMNS) + "\n" + "\n".join(
        f"{pk},{key.product_id},{key.key},,{unix + minute * 60},2014,A,,"
        f"{unix + minute * 60 + 600},key.Activate,"
        for pk, minute in ((10, 0), (11, 35))) + "\n")  # ids below what was read

    webapi_log_import(vendor=vendor, lines=path.open())
    floating_sessions_refresh(vendor=vendor)

    assert _sessions(key) == [("A", 0, 10, False), ("A", 35, 50, False)]
    assert _sessions(key) == _rebuilt(key)


def test_rows_younger_than_the_settling_time_wait_for_the_next_refresh(key):
    from django.utils import timezone

    WebApiLog.objects.create(vendor=key.product.vendor, time=timezone.now(),
                             product_id=key.product_id, key=key.key, state=2014,
                             machine_code="A", method="key.Activate",
                             floating_expires=timezone.now() + TEN_MINUTES)
    assert floating_sessions_refresh(vendor=key.product.vendor) == 0
    assert not FloatingSession.objects.exists()


def test_the_periodic_task_condenses_every_vendors_new_calls(key):
    from apps.usage.tasks import floating_sessions_refresh_task

    _call(key, 0)
    _call(key, 5)

    assert floating_sessions_refresh_task.delay().get() == 1
    assert _sessions(key) == [("A", 0, 15, False)]
    assert floating_sessions_refresh_task.delay().get() == 0  # nothing new


def _random_log(key, seed: int) -> list[tuple[int, str, int]]:
    """Calls of three devices over a day: heartbeats 1 to 12 minutes apart (a gap of 10 or
    more ends the seat), some releases, some overdraft activations, a few rows at the same
    minute."""
    rng = random.Random(seed)
    calls = []
    for machine in "ABC":
        minute = rng.randrange(0, 30)
        while minute < 24 * 60:
            state = rng.choices([2014, 2015, 6011], weights=[80, 8, 12])[0]
            calls.append((minute, machine, state))
            minute += rng.choice([1, 3, 5, 5, 9, 10, 12, 45]) if rng.random() > 0.05 else 0
    return calls


@pytest.mark.parametrize(("seed", "chunks"), [(1, 2), (2, 3), (3, 7), (4, 20)])
def test_one_pass_over_every_seat_gives_the_sessions_of_the_touched_seat_join(
        key, monkeypatch, seed, chunks):
    """A refresh from mark 0 reads every seat row in one pass, no touched-seat join; later
    refreshes join the seats their new rows touch. Rows arrive in chunks, each chunk's calls
    shuffled in time (late rows, rows between earlier ones): refreshing after each chunk, a
    rebuild in one pass, and a rebuild through the join give the same sessions."""
    from apps.usage import sessions

    paths: list[bool] = []
    force_join = False
    real = sessions._insert_sql

    def spy(table: str, *, every_seat: bool) -> str:
        paths.append(every_seat)
        return real(table, every_seat=every_seat and not force_join)

    monkeypatch.setattr(sessions, "_insert_sql", spy)
    calls = _random_log(key, seed)
    random.Random(seed).shuffle(calls)
    vendor = key.product.vendor
    for n in range(chunks):
        for minute, machine, state in calls[n::chunks]:
            _call(key, minute, machine=machine, state=state)
        floating_sessions_refresh(vendor=vendor)
    incremental = sorted(_sessions(key))

    one_pass = sorted(_rebuilt(key))
    force_join = True
    joined = sorted(_rebuilt(key))

    assert paths == [True] + [False] * (chunks - 1) + [True, True]
    assert len(one_pass) > 10 and any(overdraft for *_, overdraft in one_pass)
    assert incremental == one_pass == joined
