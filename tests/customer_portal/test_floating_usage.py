"""The customer portal's floating usage: the customer's own keys only, same figures as the
vendor's report."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.usage.models import WebApiLog
from apps.usage.sessions import floating_sessions_refresh

URL = reverse("customer_portal:floating_usage")


def _seat(key, machine: str, when: dt.datetime, minutes: int = 10, state: int = 2014) -> None:
    WebApiLog.objects.create(
        vendor=key.product.vendor, time=when, product_id=key.product_id, key=key.key,
        state=state, machine_code=machine, method="key.Activate",
        floating_expires=when + dt.timedelta(minutes=minutes))
    floating_sessions_refresh(vendor=key.product.vendor)  # what the beat task does


@pytest.fixture
def noon() -> dt.datetime:
    return (timezone.now() - dt.timedelta(days=1)).replace(hour=12, minute=0, second=0,
                                                           microsecond=0)


def test_customer_sees_concurrent_seats_of_its_own_keys_only(portal, noon):
    client = _client(portal.reader)
    _seat(portal.key, "a", noon)
    _seat(portal.key, "b", noon + dt.timedelta(minutes=1))
    _seat(portal.neighbour_key, "n1", noon)  # the neighbour's: never shown here
    _seat(portal.neighbour_key, "n2", noon)
    _seat(portal.neighbour_key, "n3", noon)

    response = client.get(URL)

    assert response.status_code == 200
    assert response.context["usage"].peak_overall == 2
    assert {k.key for k in response.context["usage"].keys} == {portal.key.key}
    content = response.content.decode()
    assert portal.neighbour_key.key not in content
    data = json.loads(re.search(r'<script id="floating-seats-data"[^>]*>(.*?)</script>',
                                content, re.S).group(1))
    assert max(data["series"][0]["values"]) == 2


def test_one_key_shows_its_limit_and_a_neighbours_key_cannot_be_chosen(portal, noon):
    client = _client(portal.admin)
    _seat(portal.key, "a", noon)

    mine = client.get(URL, {"key": portal.key.pk, "resolution": "day"})
    theirs = client.get(URL, {"key": portal.neighbour_key.pk})

    series = {s["label"]: s["values"] for s in mine.context["chart"].config()["series"]}
    assert set(series["Seat limit"]) == {portal.key.max_no_of_machines}
    assert theirs.status_code == 200 and theirs.context["form"].errors["key"]


def test_chart_csv_download(portal, noon):
    _seat(portal.key, "a", noon)
    response = _client(portal.reader).get(URL, {"csv": "floating-seats"})
    lines = response.content.decode().splitlines()
    # The customer has one key, so its seat limit (2) is drawn too.
    assert lines[0] == "Hour (UTC),Peak seats in use,Seat limit,Refused (no seat free)"
    assert any(line.endswith(",1,2,0") for line in lines[1:])


def _client(user):
    from .personas import client_for

    return client_for(user)
