"""The PostgreSQL one-statement path answers exactly as the ordinary path does."""

from __future__ import annotations

import base64
import json

import pytest
from django.db import connection
from django.test import Client

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
