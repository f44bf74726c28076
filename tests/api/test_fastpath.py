"""The PostgreSQL one-statement path answers exactly as the ordinary path does."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.log import Actor
from apps.licensing import fastpath
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import DataObject
from apps.licensing.services import token_create
from apps.usage import states
from apps.usage.models import WebApiLog
from tests.factories import CustomerFactory, ProductFactory, make_activation, make_key, make_vendor

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="the fast path exists on PostgreSQL only")


@pytest.fixture
def setup(db):
    vendor = make_vendor()
    product = ProductFactory(vendor=vendor, trial_feature=2)
    key = make_key(product, max_no_of_machines=3, customer=CustomerFactory(vendor=vendor),
                   features=[True, True] + [False] * 6, notes="fast")
    make_activation(key, "pc-1", friendly_name="ONE", ip="192.0.2.1")
    make_activation(key, "pc-2", friendly_name="TWO", ip="192.0.2.2")
    make_activation(key, "float-1", floating=True)
    DataObject.objects.create(key=key, name="usage", string_value="s", int_value=7)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("t"), name="t",
                            permissions=API_METHODS)
    return product, key, token


def _call(method: str, product, key, token, **extra) -> tuple[dict, dict]:
    body = Client().post(f"/api/key/{method}", {
        "token": token, "ProductId": product.pk, "Key": key.key, "Sign": "True",
        "SignMethod": 1, "ModelVersion": 3, "Metadata": "True", **extra,
    }).json()
    assert body["result"] == 0, body
    license_json = json.loads(base64.b64decode(body["licenseKey"]))
    license_json.pop("SignDate")
    meta = json.loads(base64.b64decode(json.loads(base64.b64decode(
        body["metadata"]["signature"]))["Data"]))
    return license_json, meta


@pytest.mark.parametrize("method, extra, state", [
    ("Activate", {"MachineCode": "pc-1"}, states.ACTIVATION_EXISTING),
    ("Activate", {"MachineCode": "pc-2", "FriendlyName": "TWO"}, states.ACTIVATION_EXISTING),
    ("GetKey", {}, states.VALIDATION_OK),
])
def test_fast_and_ordinary_paths_give_the_same_license(setup, monkeypatch, method, extra,
                                                       state):
    product, key, token = setup
    fast = _call(method, product, key, token, **extra)
    fast_log = WebApiLog.objects.get()
    monkeypatch.setattr(fastpath, "available", lambda: False)
    slow = _call(method, product, key, token, **extra)
    slow_log = WebApiLog.objects.exclude(pk=fast_log.pk).get()

    assert fast == slow
    for field in ("method", "state", "product_id", "key", "ip", "machine_code",
                  "friendly_name", "token_id", "vendor_id"):
        assert getattr(fast_log, field) == getattr(slow_log, field), field
    assert fast_log.state == state


def test_a_blocked_key_or_a_new_device_is_left_to_the_ordinary_path(setup):
    product, key, token = setup
    new = Client().post("/api/key/Activate", {"token": token, "ProductId": product.pk,
                                              "Key": key.key, "MachineCode": "pc-3"}).json()
    assert new["result"] == 0
    assert WebApiLog.objects.get().state == states.ACTIVATION_NEW

    key.block = True
    key.save(update_fields=["block"])
    blocked = Client().post("/api/key/Activate", {"token": token, "ProductId": product.pk,
                                                  "Key": key.key, "MachineCode": "pc-1"}).json()
    assert blocked["message"] == "The key is blocked and cannot be accessed."
    assert list(WebApiLog.objects.order_by("id").values_list("state", flat=True)) == [
        states.ACTIVATION_NEW, states.ACTIVATION_BLOCKED]


def test_a_changed_friendly_name_is_saved_by_the_ordinary_path(setup):
    product, key, token = setup
    Client().post("/api/key/Activate", {"token": token, "ProductId": product.pk,
                                        "Key": key.key, "MachineCode": "pc-1",
                                        "FriendlyName": "RENAMED"})
    assert key.activations.get(machine_code="pc-1").friendly_name == "RENAMED"
    assert WebApiLog.objects.count() == 1


def test_a_key_locked_token_for_another_key_is_refused(setup):
    product, key, _ = setup
    other = make_key(product, max_no_of_machines=1)
    _, locked = token_create(vendor=product.vendor, actor=Actor.for_system("t"), name="l",
                             permissions=API_METHODS, locked_key=other)
    body = Client().post("/api/key/Activate", {"token": locked, "ProductId": product.pk,
                                               "Key": key.key, "MachineCode": "pc-1"}).json()
    assert body["message"] == "Not enough permission and/or key not found."
    assert WebApiLog.objects.get().state == states.ACTIVATION_FAILED


# --- Floating heartbeats -------------------------------------------------------------------


@pytest.fixture
def floating(setup):
    """A key with 2 floating seats: "float-1" holds a live one, "float-old" an expired one."""
    product, key, token = setup
    key.activations.filter(floating=False).delete()
    now = timezone.now()
    key.activations.filter(machine_code="float-1").update(
        floating_expires=now + dt.timedelta(seconds=60), time=now, friendly_name="F1")
    make_activation(key, "float-old", floating=True, time=now - dt.timedelta(hours=1),
                    floating_expires=now - dt.timedelta(minutes=5))
    key.max_no_of_machines = 2
    key.save(update_fields=["max_no_of_machines"])
    return product, key, token


def _heartbeat(product, key, token, machine="float-1", **extra) -> dict:
    return Client().post("/api/key/Activate", {
        "token": token, "ProductId": product.pk, "Key": key.key, "MachineCode": machine,
        "FloatingTimeInterval": 300, "Sign": "True", "SignMethod": 1, "ModelVersion": 3,
        **extra}).json()


def _floating_expires(body: dict, machine: str) -> int:
    license_json = json.loads(base64.b64decode(body["licenseKey"]))
    (listed,) = [m for m in license_json["ActivatedMachines"]
                 if m["Mid"] in (f"floating:{machine}", f"floating:overdraft:{machine}")]
    return listed["FloatingExpires"]


def test_a_heartbeat_renews_the_seat_and_logs_it_in_one_statement(floating):
    product, key, token = floating
    with CaptureQueriesContext(connection) as queries:
        body = _heartbeat(product, key, token, FriendlyName="F1-renamed")
    assert body["result"] == 0, body
    seat = key.activations.get(machine_code="float-1")
    assert seat.floating_expires > timezone.now() + dt.timedelta(seconds=290)
    assert seat.friendly_name == "F1-renamed"
    assert _floating_expires(body, "float-1") == int(seat.floating_expires.timestamp())
    log = WebApiLog.objects.get()
    assert (log.state, log.machine_code, log.floating_expires) == (
        states.ACTIVATION_FLOATING, "float-1", seat.floating_expires)
    writes = [q["sql"] for q in queries.captured_queries
              if "licensing_activation" in q["sql"] or "licensing_webapilog" in q["sql"]]
    assert len(writes) == 1 and "UPDATE licensing_activation" in writes[0]


def test_heartbeat_fast_and_ordinary_paths_give_the_same_license(floating, monkeypatch):
    product, key, token = floating
    fast = json.loads(base64.b64decode(_heartbeat(product, key, token)["licenseKey"]))
    monkeypatch.setattr(fastpath, "available", lambda: False)
    slow = json.loads(base64.b64decode(_heartbeat(product, key, token)["licenseKey"]))
    for body in (fast, slow):
        body.pop("SignDate")
        for machine in body["ActivatedMachines"]:
            machine.pop("FloatingExpires")  # renewed twice, a moment apart
    assert fast == slow
    assert list(WebApiLog.objects.values_list("state", flat=True)) == [
        states.ACTIVATION_FLOATING] * 2


def test_an_expired_seat_a_new_device_or_a_blocked_key_take_the_ordinary_path(floating):
    product, key, token = floating
    assert _heartbeat(product, key, token, machine="float-old")["result"] == 0  # seat anew
    assert _heartbeat(product, key, token, machine="float-new")["message"] == (
        "Cannot activate the new device as the limit has been reached.")  # 2 live seats
    key.block = True
    key.save(update_fields=["block"])
    assert _heartbeat(product, key, token)["message"] == (
        "The key is blocked and cannot be accessed.")
    assert list(WebApiLog.objects.order_by("id").values_list("state", flat=True)) == [
        states.ACTIVATION_FLOATING, states.ACTIVATION_FLOATING_LIMIT,
        states.ACTIVATION_BLOCKED]


def test_an_overdraft_seats_heartbeat_is_logged_as_overdraft(floating):
    product, key, token = floating
    key.activations.filter(machine_code="float-1").update(overdraft=True)
    body = _heartbeat(product, key, token, MaxOverdraft=1)
    assert body["result"] == 0
    assert WebApiLog.objects.get().state == states.ACTIVATION_OVERDRAFT
    assert _floating_expires(body, "float-1") > 0
