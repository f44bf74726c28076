"""Floating seat usage from the Web API log, against a scenario computed by hand.

Key with 3 floating seats, overdraft 1, FloatingTimeInterval 10 minutes, 5 devices (A-E),
times on 2 November 2026 (UTC):

    10:00 A takes a seat (2014, expires 10:10)          -> 1
    10:02 B takes a seat (2014, expires 10:12)          -> 2
    10:04 C takes a seat (2014, expires 10:14)          -> 3  (at the limit from here)
    10:05 D takes a seat in overdraft (2015, to 10:15)  -> 4
    10:06 E is refused: every seat taken (2024)
    10:07 A heartbeat (2014, now expires 10:17)         -> 4  (same seat, extended)
    10:08 B releases its seat (6011)                    -> 3
    10:12 E takes a seat in overdraft (2015, to 10:22)  -> 4
    10:14 C's seat expires                              -> 3
    10:15 D's seat expires                              -> 2  (below the limit from here)
    10:17 A's seat expires                              -> 1
    10:20 E heartbeat (2015, now expires 10:30)         -> 1
    10:25 E releases its seat (6011)                    -> 0
    11:30 A takes a seat again (2014, expires 11:40)    -> 1
    11:40 A's seat expires                              -> 0

Peak 4; at or over the limit (3) from 10:04 to 10:15 = 660 s; 1 seat beyond the limit at most;
2 overdraft seats taken; 1 refused activation; 6 seats started (A twice).
"""

from __future__ import annotations

import datetime as dt

import pytest

from apps.reports.floating import floating_usage
from apps.usage.models import WebApiLog
from apps.usage.sessions import floating_sessions_refresh
from tests.factories import ProductFactory, make_key, make_vendor

DAY = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
INTERVAL = dt.timedelta(minutes=10)


def at(hhmm: str) -> dt.datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return DAY + dt.timedelta(hours=hours, minutes=minutes)


SCENARIO = [  # (time, device, state)
    ("10:00", "A", 2014), ("10:02", "B", 2014), ("10:04", "C", 2014), ("10:05", "D", 2015),
    ("10:06", "E", 2024), ("10:07", "A", 2014), ("10:08", "B", 6011), ("10:12", "E", 2015),
    ("10:20", "E", 2015), ("10:25", "E", 6011), ("11:30", "A", 2014),
]


@pytest.fixture
def floating_key(db):
    vendor = make_vendor("Floaty")
    product = ProductFactory(vendor=vendor)
    key = make_key(product, max_no_of_machines=3)
    for hhmm, device, state in SCENARIO:
        seat = state in (2014, 2015)
        WebApiLog.objects.create(
            vendor=vendor, time=at(hhmm), product_id=product.pk, key=key.key, state=state,
            machine_code=f"device-{device}", method="key.Activate" if state != 6011
            else "key.Deactivate", floating_expires=at(hhmm) + INTERVAL if seat else None)
    # Noise that must not count: another vendor's identical rows, a node-locked activation.
    other = make_vendor("Other")
    WebApiLog.objects.create(vendor=other, time=at("10:00"), product_id=product.pk,
                             key=key.key, state=2014, machine_code="device-X",
                             floating_expires=at("10:30"), method="key.Activate")
    WebApiLog.objects.create(vendor=vendor, time=at("10:01"), product_id=product.pk,
                             key=key.key, state=2011, machine_code="device-N",
                             method="key.Activate")
    return vendor, key


def _usage(floating_key, start: str = "10:00", end: str = "12:00", **kwargs):
    vendor, key = floating_key
    floating_sessions_refresh(vendor=vendor)  # what the beat task does
    return floating_usage(vendor=vendor, start=at(start), end=at(end),
                          keys=[(key.product_id, key.key)], **kwargs)


def test_exact_concurrent_seat_series(floating_key):
    usage = _usage(floating_key)

    assert [(t.strftime("%H:%M"), level) for t, level in usage.changes] == [
        ("10:00", 1), ("10:02", 2), ("10:04", 3), ("10:05", 4), ("10:08", 3), ("10:12", 4),
        ("10:14", 3), ("10:15", 2), ("10:17", 1), ("10:25", 0), ("11:30", 1), ("11:40", 0),
    ]


def test_peak_time_at_limit_overdraft_and_refusals(floating_key):
    usage = _usage(floating_key)
    [summary] = usage.keys

    assert usage.peak_overall == 4
    assert summary.limit == 3
    assert summary.peak == 4
    assert summary.seconds_at_or_over_limit == 11 * 60
    assert all(type(value) is int for value in (summary.seconds_at_or_over_limit, summary.peak,
                                                 summary.seats_started, *usage.peak))
    assert summary.overdraft_used == 1
    assert summary.overdraft_seats_started == 2
    assert summary.denied == 1 and usage.denied_total == 1
    assert summary.seats_started == 6


def test_hourly_and_daily_peaks(floating_key):
    hourly = _usage(floating_key)
    daily = _usage(floating_key, start="00:00", end="24:00", resolution="day")

    assert [t.strftime("%H:%M") for t in hourly.buckets] == ["10:00", "11:00"]
    assert hourly.peak == [4, 1]
    assert hourly.denied == [1, 0]
    assert daily.peak == [4] and daily.denied == [1]


def test_seats_held_before_the_range_count_from_its_start(floating_key):
    usage = _usage(floating_key, start="10:10", end="10:16")

    # At 10:10 A (to 10:17), C (to 10:14) and D (to 10:15) hold seats; B released at 10:08.
    assert [(t.strftime("%H:%M"), level) for t, level in usage.changes] == [
        ("10:10", 3), ("10:12", 4), ("10:14", 3), ("10:15", 2),
    ]
    assert usage.keys[0].seconds_at_or_over_limit == 5 * 60  # 10:10 to 10:15
    assert usage.keys[0].seats_started == 1  # only E's, at 10:12
    assert usage.denied_total == 0  # E's refusal at 10:06 is before the range


def test_product_scope_and_an_empty_range(floating_key):
    vendor, key = floating_key
    floating_sessions_refresh(vendor=vendor)

    product = floating_usage(vendor=vendor, start=at("10:00"), end=at("12:00"),
                             product_id=key.product_id)
    empty = floating_usage(vendor=vendor, start=at("13:00"), end=at("15:00"),
                           product_id=key.product_id)

    assert product.peak == [4, 1] and product.changes is None
    assert empty.peak == [0, 0] and empty.keys == []


def test_a_report_reads_only_what_was_condensed_and_never_condenses_itself(floating_key):
    vendor, key = floating_key
    before = floating_usage(vendor=vendor, start=at("10:00"), end=at("12:00"),
                            keys=[(key.product_id, key.key)])
    assert before.peak_overall == 0 and before.condensed_until is None

    after = _usage(floating_key)  # the beat task (or the catch-up) ran first

    assert after.peak_overall == 4
    assert after.condensed_until is not None


def test_another_vendors_report_never_shows_my_keys_seat_limit(floating_key):
    """The other vendor's log names this vendor's product and key (an imported Cryptolens log
    holds whatever was typed): its report shows the seat it logged, but never this key's limit."""
    other = WebApiLog.objects.exclude(vendor=floating_key[0]).get().vendor
    floating_sessions_refresh(vendor=other)
    key = floating_key[1]
    usage = floating_usage(vendor=other, start=at("10:00"), end=at("12:00"))

    assert [(s.key, s.peak, s.limit) for s in usage.keys] == [(key.key, 1, 0)]
