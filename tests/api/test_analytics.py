"""ai/*: events, the Web API log with its anomaly classification, the object log and the usage
analytics, through the real Cryptolens Python client (class AI) where it has the method and
by raw HTTP where it has not (RegisterEvents, GetObjectLog, AnomalyClassification, the events'
time and metadata filters). Every figure is counted by hand from the seeded log rows below."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest
from licensing.methods import AI

from apps.anomalies.models import Finding
from apps.audit.log import Actor, log_change
from apps.audit.models import ObjectLogEntry
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import LicenseKey, Product
from apps.licensing.services import token_create
from apps.usage.models import Event, WebApiLog
from tests.api.live import Server
from tests.factories import CustomerFactory, ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

INCORRECT_INPUT = "The input parameters were incorrect."
PRODUCT_NOT_FOUND = "Could not find the product."
KEY_NOT_FOUND = "Could not find the key."
KEY_LOCKED = "Not enough permission and/or key not found."
SYSTEM = Actor.for_system("test")
UTC = dt.UTC
D1 = dt.datetime(2026, 5, 25, tzinfo=UTC)  # the seeded days; the tests' own calls are today
D2 = dt.datetime(2026, 5, 26, tzinfo=UTC)
RANGE = {"start": "2026-05-25", "end": "2026-05-26"}


def at(day: dt.datetime, hour: int, minute: int = 0) -> dt.datetime:
    return day.replace(hour=hour, minute=minute)


def ts(when: dt.datetime) -> int:
    return int(when.timestamp())


@dataclass
class Seeded:
    """Product P (keys k1 of customer 1, k2 of customer 2) and product P2 (key k3, no
    customer) of the server's vendor; another vendor with one key and one log row."""

    server: Server
    p2: Product
    k1: LicenseKey
    k2: LicenseKey
    k3: LicenseKey
    rows: dict[str, WebApiLog]
    other_token: str

    @property
    def p(self) -> Product:
        return self.server.product


def _log(vendor, product_id, key, state, when, mc="", country="", method="key.Activate"):
    return WebApiLog.objects.create(vendor=vendor, product_id=product_id, key=key, state=state,
                                    time=when, machine_code=mc, country=country, method=method)


@pytest.fixture
def seeded(server) -> Seeded:
    vendor, p = server.vendor, server.product
    p2 = ProductFactory(vendor=vendor, name="Second product")
    k1 = make_key(p, customer=CustomerFactory(vendor=vendor))
    k2 = make_key(p, customer=CustomerFactory(vendor=vendor))
    k3 = make_key(p2)
    rows = {
        # Day 1, product P
        "k1_new": _log(vendor, p.pk, k1.key, 2011, at(D1, 10), "pc-1", "SE"),
        "k1_again": _log(vendor, p.pk, k1.key, 2010, at(D1, 10, 10), " pc-1 ", "SE"),
        "k1_limit": _log(vendor, p.pk, k1.key, 2021, at(D1, 10, 20), "pc-2", "US"),
        "k2_new": _log(vendor, p.pk, k2.key, 2011, at(D1, 11), "pc-3", "US"),
        "k2_read": _log(vendor, p.pk, k2.key, 1010, at(D1, 11, 5), method="key.GetKey"),
        # Day 1, product P2
        "k3_new": _log(vendor, p2.pk, k3.key, 2011, at(D1, 12), "pc-9", "DE"),
        # Day 2, product P
        "k1_off": _log(vendor, p.pk, k1.key, 6010, at(D2, 9), "PC-1", "SE",
                       method="key.Deactivate"),
        "k1_float": _log(vendor, p.pk, k1.key, 2014, at(D2, 9, 40), "pc-1", "SE"),
        "guessed": _log(vendor, p.pk, "GUESSED-KEY", 2020, at(D2, 9, 50)),
    }
    other = make_vendor("Other vendor")
    other_product = ProductFactory(vendor=other)
    other_key = make_key(other_product)
    rows["other"] = _log(other, other_product.pk, other_key.key, 2011, at(D1, 10), "pc-1", "SE")
    other_token = token_create(vendor=other, actor=SYSTEM, name="other",
                               permissions=API_METHODS)[1]
    return Seeded(server, p2, k1, k2, k3, rows, other_token)


def ok(answer):
    body, message = answer
    assert message == "", message
    return body


# --- GetDailyAggregates ------------------------------------------------------------------


def test_daily_aggregates_count_each_product_and_day(seeded):
    aggregates = ok(AI.get_daily_aggregates(seeded.server.token, **RANGE))

    r = seeded.rows
    assert aggregates == [
        {"id": r["k1_new"].pk, "productId": seeded.p.pk, "date": "2026-05-25",
         "totalRequestsLogged": 5, "successful": 4, "failed": 1, "activeDevices": 3,
         "activeKeys": 2, "activeCustomers": 2},
        {"id": r["k3_new"].pk, "productId": seeded.p2.pk, "date": "2026-05-25",
         "totalRequestsLogged": 1, "successful": 1, "failed": 0, "activeDevices": 1,
         "activeKeys": 1, "activeCustomers": 0},
        {"id": r["k1_off"].pk, "productId": seeded.p.pk, "date": "2026-05-26",
         "totalRequestsLogged": 3, "successful": 2, "failed": 1, "activeDevices": 1,
         "activeKeys": 2, "activeCustomers": 1},
    ]


def test_daily_aggregates_page_by_id_both_ways(seeded):
    token, r = seeded.server.token, seeded.rows
    after = ok(AI.get_daily_aggregates(token, starting_after=r["k1_new"].pk, **RANGE))
    before = ok(AI.get_daily_aggregates(token, ending_before=r["k1_off"].pk, **RANGE))
    both = ok(AI.get_daily_aggregates(token, starting_after=r["k1_new"].pk,
                                      ending_before=r["k1_off"].pk, **RANGE))
    one = ok(AI.get_daily_aggregates(token, limit=1, **RANGE))
    only_p2 = ok(AI.get_daily_aggregates(token, product_id=seeded.p2.pk, **RANGE))

    assert [a["id"] for a in after] == [r["k3_new"].pk, r["k1_off"].pk]
    assert [a["id"] for a in before] == [r["k3_new"].pk, r["k1_new"].pk]  # newest first
    assert [a["id"] for a in both] == [a["id"] for a in before]  # EndingBefore wins
    assert [a["id"] for a in one] == [r["k1_new"].pk]
    assert [(a["productId"], a["date"]) for a in only_p2] == [(seeded.p2.pk, "2026-05-25")]


def test_daily_aggregates_start_and_end_are_whole_days(seeded):
    token = seeded.server.token
    second_day = ok(AI.get_daily_aggregates(token, start="2026-05-26", end="2026-05-26"))

    assert [(a["date"], a["totalRequestsLogged"]) for a in second_day] == [("2026-05-26", 3)]
    assert AI.get_daily_aggregates(token, start="26/05/2026") == (None, INCORRECT_INPUT)


# --- GetDailyCountryAggregates -----------------------------------------------------------


def test_daily_country_aggregates_leave_out_unknown_countries(seeded):
    token, p, r = seeded.server.token, seeded.p, seeded.rows
    aggregates = ok(AI.get_daily_country_aggregates(token, product_id=p.pk, **RANGE))
    us = ok(AI.get_daily_country_aggregates(token, product_id=p.pk, country_code="us", **RANGE))

    assert aggregates == [
        {"id": r["k1_new"].pk, "productId": p.pk, "date": "2026-05-25", "countryCode": "SE",
         "totalRequests": 2, "successful": 2, "failed": 0},
        {"id": r["k1_limit"].pk, "productId": p.pk, "date": "2026-05-25", "countryCode": "US",
         "totalRequests": 2, "successful": 1, "failed": 1},
        {"id": r["k1_off"].pk, "productId": p.pk, "date": "2026-05-26", "countryCode": "SE",
         "totalRequests": 2, "successful": 2, "failed": 0},
    ]
    assert us == [aggregates[1]]


# --- GetKeyUsageSummaries ----------------------------------------------------------------


def test_key_usage_summaries_are_lifetime_totals_per_key(seeded):
    token, p, r = seeded.server.token, seeded.p, seeded.rows
    summaries = ok(AI.get_key_usage_summaries(token, product_id=p.pk))

    by_key = {s["key"]: s for s in summaries}
    assert [s["key"] for s in summaries] == [seeded.k1.key, seeded.k2.key, "GUESSED-KEY"]
    k1 = by_key[seeded.k1.key]
    assert {name: k1[name] for name in (
        "id", "productId", "keyId", "totalRequests", "totalSuccessful", "totalFailed",
        "firstSeenUtc", "lastSeenUtc", "activationSuccess", "activationFailed",
        "deactivationSuccess", "deactivationFloating", "activationNewMachine",
        "activationFloating", "activationDeviceLimit", "trialKeyGenerated", "dataObjectOps",
    )} == {"id": r["k1_new"].pk, "productId": p.pk, "keyId": seeded.k1.pk,
           "totalRequests": 5, "totalSuccessful": 4, "totalFailed": 1,
           "firstSeenUtc": ts(at(D1, 10)), "lastSeenUtc": ts(at(D2, 9, 40)),
           "activationSuccess": 3, "activationFailed": 1, "deactivationSuccess": 1,
           "deactivationFloating": 0, "activationNewMachine": 1, "activationFloating": 1,
           "activationDeviceLimit": 1, "trialKeyGenerated": 0, "dataObjectOps": 0}
    assert (by_key[seeded.k2.key]["totalRequests"], by_key[seeded.k2.key]["totalSuccessful"]) \
        == (2, 2)
    guessed = by_key["GUESSED-KEY"]
    assert (guessed["keyId"], guessed["totalRequests"], guessed["totalFailed"]) == (0, 1, 1)


def test_key_usage_summaries_filter_by_key_and_seen_dates(seeded):
    token, p = seeded.server.token, seeded.p
    by_id = ok(AI.get_key_usage_summaries(token, key_id=seeded.k2.pk))
    last_seen_day_2 = ok(AI.get_key_usage_summaries(token, product_id=p.pk, start="2026-05-26"))
    first_seen_day_1 = ok(AI.get_key_usage_summaries(token, product_id=p.pk, end="2026-05-25"))
    by_key = ok(AI.get_key_usage_summaries(token, product_id=p.pk, key=seeded.k1.key))

    assert [(s["key"], s["totalRequests"]) for s in by_id] == [(seeded.k2.key, 2)]
    assert [s["key"] for s in last_seen_day_2] == [seeded.k1.key, "GUESSED-KEY"]
    assert [s["key"] for s in first_seen_day_1] == [seeded.k1.key, seeded.k2.key]
    assert [(s["key"], s["totalRequests"]) for s in by_key] == [(seeded.k1.key, 5)]
    assert AI.get_key_usage_summaries(token, key=seeded.k1.key) == (None, PRODUCT_NOT_FOUND)
    assert AI.get_key_usage_summaries(token, product_id=p.pk, key="NO-SUCH-KEY") == (
        None, KEY_NOT_FOUND)


def test_key_usage_summaries_count_trials_floating_and_data_objects(seeded):
    vendor, p2, k3 = seeded.server.vendor, seeded.p2, seeded.k3
    for state, method, minute in [(8010, "data.IncrementIntValueToKey", 1),
                                  (8010, "data.SetStringValue", 2),
                                  (8020, "data.DecrementIntValueToKey", 3),
                                  (3011, "key.CreateTrialKey", 4),
                                  (3020, "key.CreateTrialKey", 5),
                                  (6011, "key.Deactivate", 6), (2024, "key.Activate", 7)]:
        _log(vendor, p2.pk, k3.key, state, at(D2, 8, minute), "pc-9", method=method)

    [summary] = ok(AI.get_key_usage_summaries(seeded.server.token, product_id=p2.pk))

    assert {k: v for k, v in summary.items() if k not in (
        "id", "productId", "keyId", "key", "firstSeenUtc", "lastSeenUtc")} == {
        "totalRequests": 8, "totalSuccessful": 5, "totalFailed": 3,
        "activationSuccess": 1, "activationFailed": 1, "deactivationSuccess": 0,
        "deactivationFloating": 1, "activationNewMachine": 1, "activationTrial": 0,
        "activationFloating": 0, "activationDeviceLimit": 1, "trialKeyGenerated": 1,
        "trialKeyReused": 0, "trialKeyCreateError": 1, "dataObjectOps": 3,
        "dataObjectIncrementInt": 1, "dataObjectDecrementInt": 1, "dataObjectSetInt": 0,
        "dataObjectSetString": 1}


# --- GetKeyDevices -----------------------------------------------------------------------


def test_key_devices_group_normalized_machine_codes(seeded):
    token, p, r = seeded.server.token, seeded.p, seeded.rows
    devices = ok(AI.get_key_devices(token, product_id=p.pk))
    one = ok(AI.get_key_devices(token, product_id=p.pk, machine_code=" Pc-1"))
    active_day_2 = ok(AI.get_key_devices(token, product_id=p.pk, start="2026-05-26"))

    assert devices == [
        {"id": r["k1_new"].pk, "productId": p.pk, "keyId": seeded.k1.pk, "key": seeded.k1.key,
         "machineCode": "PC-1", "firstSeenUtc": ts(at(D1, 10)),
         "lastSeenUtc": ts(at(D2, 9, 40)), "totalRequests": 4},
        {"id": r["k1_limit"].pk, "productId": p.pk, "keyId": seeded.k1.pk,
         "key": seeded.k1.key, "machineCode": "PC-2", "firstSeenUtc": ts(at(D1, 10, 20)),
         "lastSeenUtc": ts(at(D1, 10, 20)), "totalRequests": 1},
        {"id": r["k2_new"].pk, "productId": p.pk, "keyId": seeded.k2.pk, "key": seeded.k2.key,
         "machineCode": "PC-3", "firstSeenUtc": ts(at(D1, 11)), "lastSeenUtc": ts(at(D1, 11)),
         "totalRequests": 1},
    ]
    assert one == devices[:1]
    assert active_day_2 == devices[:1]


# --- GetLicenseActivityBuckets -----------------------------------------------------------


def test_activity_buckets_are_half_hours_with_gaps(seeded):
    token, p, r, k1 = seeded.server.token, seeded.p, seeded.rows, seeded.k1
    buckets = ok(AI.get_license_activity_buckets(token, product_id=p.pk, key=k1.key))

    def bucket(row, start, refresh, deact, first, last, state, gap):
        return {"id": row.pk, "productId": p.pk, "keyId": k1.pk, "key": k1.key,
                "machineCode": "PC-1", "bucketStartUtc": ts(start), "refreshCount": refresh,
                "deactivationCount": deact, "firstEventUtc": ts(first), "lastEventUtc": ts(last),
                "lastEventState": state, "gapFromPreviousEventSeconds": gap}

    assert buckets == [
        bucket(r["k1_new"], at(D1, 10), 2, 0, at(D1, 10), at(D1, 10, 10), 2010, None),
        bucket(r["k1_off"], at(D2, 9), 0, 1, at(D2, 9), at(D2, 9), 6010,
               ts(at(D2, 9)) - ts(at(D1, 10, 10))),
        bucket(r["k1_float"], at(D2, 9, 30), 1, 0, at(D2, 9, 40), at(D2, 9, 40), 2014, 2400),
    ]  # the refused activation (2021, pc-2) is no activity


def test_activity_buckets_measure_the_first_gap_before_the_range(seeded):
    token, k1 = seeded.server.token, seeded.k1
    day_2 = ok(AI.get_license_activity_buckets(token, key_id=k1.pk, start="2026-05-26"))
    by_device = ok(AI.get_license_activity_buckets(token, product_id=seeded.p.pk,
                                                   machine_code="pc-3"))

    assert [(b["bucketStartUtc"], b["gapFromPreviousEventSeconds"]) for b in day_2] == [
        (ts(at(D2, 9)), ts(at(D2, 9)) - ts(at(D1, 10, 10))), (ts(at(D2, 9, 30)), 2400)]
    assert [(b["key"], b["refreshCount"]) for b in by_device] == [(seeded.k2.key, 1)]


# --- Tenant isolation and locks ----------------------------------------------------------


def test_another_vendor_sees_only_its_own_usage(seeded):
    other = seeded.other_token
    aggregates = ok(AI.get_daily_aggregates(other, **RANGE))

    assert [(a["id"], a["totalRequestsLogged"]) for a in aggregates] == [
        (seeded.rows["other"].pk, 1)]
    assert AI.get_daily_aggregates(other, product_id=seeded.p.pk) == (None, PRODUCT_NOT_FOUND)
    assert AI.get_key_devices(other, product_id=seeded.p.pk, key=seeded.k1.key) == (
        None, PRODUCT_NOT_FOUND)
    assert ok(AI.get_key_usage_summaries(other, key_id=seeded.k1.pk)) == []
    own_rows = {row.pk for name, row in seeded.rows.items() if name != "other"}
    other_logs = {log["id"] for log in ok(AI.get_web_api_log(other, limit=1000))}
    assert seeded.rows["other"].pk in other_logs
    assert not other_logs & own_rows


def test_another_vendors_calls_naming_my_key_never_reveal_it(seeded):
    """Vendor B's log keeps what B's callers typed: a guessed ProductId and key of vendor A
    too. B's analytics must never turn those into A's key id or A's customers."""
    other, k1 = seeded.other_token, seeded.k1
    other_vendor = WebApiLog.objects.get(pk=seeded.rows["other"].pk).vendor
    guess = _log(other_vendor, seeded.p.pk, k1.key, 2020, at(D1, 15), "pc-x", "SE")

    aggregates = ok(AI.get_daily_aggregates(other, **RANGE))
    assert {a["productId"]: a["activeCustomers"] for a in aggregates} == {
        seeded.rows["other"].product_id: 0, seeded.p.pk: 0}
    summaries = ok(AI.get_key_usage_summaries(other, **RANGE))
    assert {s["key"]: s["keyId"] for s in summaries if s["id"] == guess.pk} == {k1.key: 0}
    devices = ok(AI.get_key_devices(other, **RANGE))
    assert [(d["key"], d["keyId"]) for d in devices if d["id"] == guess.pk] == [(k1.key, 0)]
    WebApiLog.objects.filter(pk=guess.pk).update(state=2011)
    buckets = ok(AI.get_license_activity_buckets(other, **RANGE))
    assert [(b["key"], b["keyId"]) for b in buckets if b["id"] == guess.pk] == [(k1.key, 0)]
    # Its own key keeps its id.
    assert ok(AI.get_key_usage_summaries(seeded.server.token, key_id=k1.pk))[0]["keyId"] == k1.pk


def test_a_key_locked_token_sees_only_its_key(seeded):
    server, k1 = seeded.server, seeded.k1
    locked = server.token_for(API_METHODS, locked_key=k1, product=seeded.p)

    aggregates = ok(AI.get_daily_aggregates(locked, **RANGE))
    summaries = ok(AI.get_key_usage_summaries(locked))
    devices = ok(AI.get_key_devices(locked))
    buckets = ok(AI.get_license_activity_buckets(locked))
    logs = ok(AI.get_web_api_log(locked, limit=1000))

    assert [(a["date"], a["totalRequestsLogged"], a["activeKeys"]) for a in aggregates] == [
        ("2026-05-25", 3, 1), ("2026-05-26", 2, 1)]
    assert [s["key"] for s in summaries] == [k1.key]
    assert {d["key"] for d in devices} == {k1.key}
    assert {b["key"] for b in buckets} == {k1.key}
    assert {log["key"] for log in logs} == {k1.key}
    assert ok(AI.get_key_usage_summaries(locked, key_id=seeded.k2.pk)) == []
    assert AI.get_key_devices(locked, product_id=seeded.p.pk, key=seeded.k2.key) == (
        None, KEY_LOCKED)
    assert AI.get_daily_aggregates(locked, product_id=seeded.p2.pk) == (None, KEY_LOCKED)


def test_a_product_locked_token_sees_only_its_product(seeded):
    locked = seeded.server.token_for(API_METHODS, product=seeded.p2)

    aggregates = ok(AI.get_daily_aggregates(locked, **RANGE))
    countries = ok(AI.get_daily_country_aggregates(locked, **RANGE))

    assert [(a["productId"], a["totalRequestsLogged"]) for a in aggregates] == [
        (seeded.p2.pk, 1)]
    assert [(c["countryCode"], c["totalRequests"]) for c in countries] == [("DE", 1)]


def test_usage_analytics_need_their_permission(seeded):
    token = seeded.server.token_for(["ai.GetWebAPILog"])

    assert AI.get_daily_aggregates(token) == (None, "Access denied.")
    assert AI.get_license_activity_buckets(token) == (None, "Access denied.")


# --- Web API log with AnomalyClassification ----------------------------------------------


def _finding(seeded, rows, subject, status=Finding.Status.NEW, score=5.0):
    times = [row.time for row in rows]
    return Finding.objects.create(
        vendor=seeded.server.vendor, subject_kind="key", subject=subject, label="Key sharing",
        product_id=seeded.p.pk, start=min(times), end=max(times) + dt.timedelta(minutes=1),
        score=score, severity="high", log_ids=[row.pk for row in rows], status=status)


def test_anomaly_classification_marks_the_rows_a_finding_counts(seeded):
    r = seeded.rows
    finding = _finding(seeded, [r["k1_new"], r["k1_again"], r["k1_limit"]], seeded.k1.key)
    _finding(seeded, [r["k2_new"]], seeded.k2.key, status=Finding.Status.EXPECTED)

    body = seeded.server.post("ai/GetWebAPILog", ProductId=seeded.p.pk, Limit=100,
                              AnomalyClassification="true")
    plain = seeded.server.post("ai/GetWebAPILog", ProductId=seeded.p.pk, Limit=100)

    assert body["result"] == 0
    marked = {log["id"]: (log["isAnomaly"], log["anomalyProperties"]) for log in body["logs"]}
    group = {"groupId": finding.pk, "startingAt": r["k1_new"].pk,
             "endingAt": r["k1_limit"].pk}
    assert marked[r["k1_new"].pk] == marked[r["k1_limit"].pk] == (True, group)
    assert marked[r["k2_new"].pk] == (False, None)  # marked as expected: not an anomaly
    assert marked[r["k1_off"].pk] == (False, None)  # same key, outside the finding
    assert "isAnomaly" not in plain["logs"][0]


def test_web_api_log_ending_before_runs_newest_first(seeded):
    r = seeded.rows
    logs = ok(AI.get_web_api_log(seeded.server.token, product_id=seeded.p.pk,
                                 ending_before=r["k1_off"].pk, limit=2))

    assert [log["id"] for log in logs] == [r["k2_read"].pk, r["k2_new"].pk]


# --- Events ------------------------------------------------------------------------------


def test_register_event_and_get_events_through_the_client(seeded):
    token, p, k1 = seeded.server.token, seeded.p, seeded.k1
    assert AI.register_event(token, product_id=p.pk, key=k1.key, machine_code="pc-1",
                             feature_name="export", event_name="start", value=25,
                             currency="EUR", metadata='{"OS":"Linux"}') == (True, "")
    AI.register_event(token, product_id=seeded.p2.pk, key=seeded.k3.key, event_name="other")

    events = ok(AI.get_events(token, product_id=p.pk, key=k1.key))

    assert [{k: e[k] for k in ("productId", "key", "machineCode", "featureName", "eventName",
                               "value", "currency", "metadata")} for e in events] == [
        {"productId": p.pk, "key": k1.key, "machineCode": "pc-1", "featureName": "export",
         "eventName": "start", "value": 25, "currency": "EUR", "metadata": '{"OS":"Linux"}'}]
    assert ok(AI.get_events(seeded.other_token)) == []


def _events(seeded, *specs):
    return [Event.objects.create(vendor=seeded.server.vendor, product_id=seeded.p.pk,
                                 event_name=name, time=when, metadata=metadata)
            for name, when, metadata in specs]


def test_get_events_filters_by_time_and_metadata(seeded):
    server = seeded.server
    early, _middle, late = _events(seeded, ("early", at(D1, 8), "a"),
                                  ("middle", at(D1, 9), "b"), ("late", at(D1, 10), "a"))

    def names(**params):
        body = server.post("ai/GetEvents", **{"Limit": 100, **params})
        assert body["result"] == 0, body
        return [e["eventName"] for e in body["events"]]

    assert names(Time=ts(at(D1, 9))) == ["middle"]
    assert names(Time=json.dumps({"gte": ts(at(D1, 9)), "lte": ts(at(D1, 10))})) == [
        "middle", "late"]
    assert names(Time=json.dumps({"gt": ts(at(D1, 8)), "lt": ts(at(D1, 10))})) == ["middle"]
    assert names(Metadata="a") == ["early", "late"]
    assert names(EndingBefore=late.pk) == ["middle", "early"]
    assert names(StartingAfter=early.pk, Limit=1) == ["middle"]
    for bad in ('{"gte": "yesterday"}', '{"since": 1}', "[1,2]", "{not json", "9" * 5000,
                '{"gte": 1' + "0" * 5000 + "}", "[" * 5000 + "]" * 5000, "-5"):
        assert server.post("ai/GetEvents", Time=bad) == {"result": 1,
                                                         "message": INCORRECT_INPUT}


def test_register_events_stores_a_batch(seeded):
    server, k1 = seeded.server, seeded.k1
    events = [{"FeatureName": "export", "EventName": "start", "Value": 3, "Currency": "USD",
               "Time": ts(at(D1, 8)), "Metadata": '{"OS":"Windows"}'},
              {"featurename": "import", "eventname": "stop", "Metadata": None},
              {"EventName": "os", "Metadata": {"OS": "Linux", "Is64Bit": True}}]

    body = server.post("ai/RegisterEvents", ProductId=seeded.p.pk, Key=k1.key,
                       MachineCode="pc-7", Events=json.dumps(events))

    assert body == {"result": 0, "message": ""}
    stored = list(Event.objects.filter(key=k1.key).order_by("id"))
    assert [(e.product_id, e.machine_code, e.feature_name, e.event_name, e.value, e.currency,
             e.metadata) for e in stored] == [
        (seeded.p.pk, "pc-7", "export", "start", 3, "USD", '{"OS":"Windows"}'),
        (seeded.p.pk, "pc-7", "import", "stop", 0, "", ""),
        (seeded.p.pk, "pc-7", "", "os", 0, "", '{"OS":"Linux","Is64Bit":true}')]
    assert stored[0].time == at(D1, 8)
    assert stored[1].time > at(D2, 0)  # no Time: now


@pytest.mark.parametrize("events", [
    "{not json", "{}", "[]", json.dumps([{"EventName": "x"}, {"Value": "ten"}]),
    json.dumps([{"EventName": "x" * 101}]), json.dumps([{"Colour": "red"}]),
    json.dumps([{"Time": -5}]), json.dumps([{"Value": True}]), json.dumps([1, 2]),
    json.dumps([{"EventName": "x"}] * 1001), "[" * 20000 + "]" * 20000,
    '[{"Value": 1' + "0" * 5000 + "}]",
])
def test_register_events_refuses_a_bad_batch_whole(seeded, events):
    body = seeded.server.post("ai/RegisterEvents", ProductId=seeded.p.pk, Events=events)

    assert body == {"result": 1, "message": INCORRECT_INPUT}
    assert not Event.objects.exists()


def test_register_events_checks_the_key_and_the_lock(seeded):
    server = seeded.server
    locked = server.token_for(["ai.RegisterEvents"], locked_key=seeded.k1, product=seeded.p)
    batch = json.dumps([{"EventName": "x"}])

    missing = server.post("ai/RegisterEvents", ProductId=seeded.p.pk, Key="NOPE", Events=batch)
    foreign = server.post("ai/RegisterEvents", token=locked, ProductId=seeded.p.pk,
                          Key=seeded.k2.key, Events=batch)
    own = server.post("ai/RegisterEvents", token=locked, Events=batch)

    assert missing == {"result": 1, "message": KEY_NOT_FOUND}
    assert foreign == {"result": 1, "message": KEY_LOCKED}
    assert own == {"result": 0, "message": ""}
    assert list(Event.objects.values_list("product_id", "event_name")) == [(seeded.p.pk, "x")]


# --- GetObjectLog ------------------------------------------------------------------------


def test_object_log_lists_changes_within_the_locks(seeded):
    server, k1 = seeded.server, seeded.k1
    key_locked = server.token_for(["ai.GetObjectLog"], locked_key=k1, product=seeded.p)
    actor = Actor.for_system("audit-test")
    on_product = log_change(vendor=server.vendor, actor=actor, obj=seeded.p, action="changed")
    on_k1 = log_change(vendor=server.vendor, actor=actor, obj=k1, action="blocked",
                       changes={"block": [False, True]})
    on_k3 = log_change(vendor=server.vendor, actor=actor, obj=seeded.k3, action="changed")
    other_vendor_key = LicenseKey.objects.exclude(product__vendor=server.vendor).get()
    log_change(vendor=other_vendor_key.product.vendor, actor=actor, obj=other_vendor_key,
               action="changed")

    everything = server.post("ai/GetObjectLog", Limit=100)
    of_product = server.post("ai/GetObjectLog", ProductId=seeded.p.pk)
    of_key = server.post("ai/GetObjectLog", ProductId=seeded.p.pk, Key=k1.key)
    locked = server.post("ai/GetObjectLog", token=key_locked)
    after = server.post("ai/GetObjectLog", StartingAfter=on_k1.pk)
    other = server.post("ai/GetObjectLog", token=seeded.other_token, Limit=100)

    own_ids = set(ObjectLogEntry.objects.filter(vendor=server.vendor).values_list("id",
                                                                                 flat=True))
    assert {e["id"] for e in everything["logs"]} == own_ids
    of_p = {("licensing.product", str(seeded.p.pk)), ("licensing.licensekey", str(k1.pk)),
            ("licensing.licensekey", str(seeded.k2.pk))}
    entries = ObjectLogEntry.objects.filter(vendor=server.vendor).order_by("id")
    assert [e["id"] for e in of_product["logs"]] == [
        e.pk for e in entries if (e.object_type, e.object_id) in of_p]
    assert {on_product.pk, on_k1.pk} <= {e["id"] for e in of_product["logs"]}
    assert on_k3.pk not in {e["id"] for e in of_product["logs"]}
    k1_created = entries.get(object_type="licensing.licensekey", object_id=str(k1.pk),
                             action="created")
    assert [e["id"] for e in of_key["logs"]] == [k1_created.pk, on_k1.pk]
    assert of_key["logs"] == locked["logs"]
    assert of_key["logs"][1] == {
        "id": on_k1.pk, "time": int(on_k1.time.timestamp()), "objectType": "licensing.licensekey",
        "objectId": str(k1.pk), "objectName": str(k1), "action": "blocked",
        "changes": {"block": [False, True]}, "actorType": "system", "actorId": 0,
        "actorName": "audit-test"}
    assert locked["events"] == locked["logs"]
    assert [e["id"] for e in after["logs"]] == [on_k3.pk]
    assert not own_ids & {e["id"] for e in other["logs"]}
    assert server.post("ai/GetObjectLog", token=key_locked, ProductId=seeded.p2.pk) == {
        "result": 1, "message": KEY_LOCKED}


@pytest.mark.parametrize("method", ["GetDailyAggregates", "GetDailyCountryAggregates",
                                    "GetKeyUsageSummaries", "GetKeyDevices",
                                    "GetLicenseActivityBuckets"])
def test_usage_analytics_take_extreme_ranges_and_refuse_bad_dates(seeded, method):
    server = seeded.server
    path = f"ai/{method}"

    widest = server.post(path, Start="0001-01-01", End="9999-12-31", Limit=5000,
                         StartingAfter=2**63 - 1)

    assert (widest["result"], widest["message"]) == (0, "")
    assert next(v for k, v in widest.items() if k not in ("result", "message")) == []
    for bad in ({"Start": "2026-02-30"}, {"End": "2026-5-1"}, {"Limit": 0},
                {"StartingAfter": "x"}, {"EndingBefore": 2**64}):
        assert server.post(path, **bad) == {"result": 1, "message": INCORRECT_INPUT}, bad


def test_get_events_takes_the_last_representable_second(seeded):
    body = seeded.server.post("ai/GetEvents", Time=json.dumps({"lte": 253_402_300_799,
                                                               "gt": 253_402_300_799}))
    assert body == {"events": [], "result": 0, "message": ""}
