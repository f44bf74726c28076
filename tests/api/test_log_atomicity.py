"""A license change and its Web API log row commit together: no success without its row."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client

from apps.api import errors
from apps.audit.log import Actor
from apps.licensing import fastpath
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import Activation
from apps.licensing.services import token_create
from apps.usage.models import WebApiLog
from tests.factories import ProductFactory, make_key, make_vendor


@pytest.fixture
def setup(db, monkeypatch):
    monkeypatch.setattr(fastpath, "available", lambda: False)  # the ordinary path
    vendor = make_vendor()
    product = ProductFactory(vendor=vendor)
    key = make_key(product, max_no_of_machines=2)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("t"), name="t",
                            permissions=API_METHODS)
    return product, key, token


def _activate(product, key, token, machine: str = "pc-1") -> dict:
    return Client().post("/api/key/Activate", {
        "token": token, "ProductId": product.pk, "Key": key.key, "MachineCode": machine,
    }).json()


def test_a_log_row_that_cannot_be_written_undoes_the_activation(setup, monkeypatch):
    product, key, token = setup

    def broken(record):
        raise OperationalError("the database went away")

    monkeypatch.setattr("apps.api.views.web_api_log_write", broken)
    body = _activate(product, key, token)

    assert body == {"result": 1, "message": errors.SERVICE_UNAVAILABLE}
    assert not Activation.objects.filter(key=key).exists()


def test_a_successful_activation_has_exactly_one_log_row(setup):
    product, key, token = setup

    assert _activate(product, key, token)["result"] == 0
    assert list(WebApiLog.objects.values_list("state", "machine_code")) == [(2011, "pc-1")]
    assert Activation.objects.filter(key=key).count() == 1
