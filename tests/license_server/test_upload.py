"""The endpoint license servers upload their journal to: authenticated by the configuration's
upload token, idempotent, refused once the configuration is revoked."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
from django.utils import timezone

from apps.license_server.models import LicenseServerConfiguration
from apps.license_server.server import configuration as configuration_file
from apps.license_server.services import (
    license_server_configuration_create,
    license_server_configuration_revoke,
)
from apps.licensing.audit import Actor
from apps.licensing.models import Event, WebApiLog

URL = "/api/license-server/upload-log"


@pytest.fixture
def issued(tenant) -> tuple[LicenseServerConfiguration, str]:
    configuration, text = license_server_configuration_create(
        vendor=tenant.vendor, actor=Actor.for_user(tenant.owner), name="Site",
        valid_until=timezone.now() + dt.timedelta(days=30))
    return configuration, configuration_file.parse(text).upload_token


def _record(tenant, **changes) -> dict:
    return {"Id": uuid.uuid4().hex, "Time": time.time() - 60, "Method": "key.activate",
            "ProductId": tenant.product.pk, "Key": tenant.key.key, "MachineCode": "pc-1",
            "FriendlyName": "Desk", "IP": "10.1.2.3", "State": 2014,
            "FloatingExpires": time.time() + 240, "Source": "floating", "UserAgent": "py",
            **changes}


def _upload(client, token: str, records: list[dict]) -> dict:
    return client.post(URL, {"token": token, "Records": json.dumps(records)}).json()


def test_records_reach_the_vendors_web_api_log(client, tenant, issued):
    configuration, token = issued
    record = _record(tenant)

    answer = _upload(client, token, [record])

    assert answer == {"stored": 1, "duplicates": 0, "result": 0, "message": ""}
    row = WebApiLog.objects.get(vendor=tenant.vendor)
    assert (row.method, row.state, row.key, row.machine_code, row.ip, row.friendly_name) == (
        "key.Activate", 2014, tenant.key.key, "pc-1", "10.1.2.3", "Desk")
    assert abs(row.time.timestamp() - record["Time"]) < 1
    assert row.user_agent.startswith(f"license server {configuration.pk} (floating)")


def test_an_upload_retried_after_a_lost_answer_adds_nothing_twice(client, tenant, issued):
    _, token = issued
    first, second = _record(tenant), _record(tenant, State=2024)
    _upload(client, token, [first])

    answer = _upload(client, token, [first, second, second])

    assert (answer["stored"], answer["duplicates"]) == (1, 2)
    assert sorted(WebApiLog.objects.values_list("state", flat=True)) == [2014, 2024]


def test_registered_events_become_events_too(client, tenant, issued):
    _, token = issued
    record = _record(tenant, Method="ai.registerevent", State=5010, Source="local",
                     Event={"FeatureName": "export", "EventName": "click", "Value": "25",
                            "Currency": "", "Metadata": ""})

    _upload(client, token, [record])

    event = Event.objects.get(vendor=tenant.vendor)
    assert (event.feature_name, event.event_name, event.value) == ("export", "click", 25)


def test_a_wrong_token_is_refused(client, tenant, issued):
    _, token = issued

    answer = _upload(client, token[:-4] + "AAA=", [_record(tenant)])

    assert answer == {"result": 1, "message": "Unable to authenticate."}
    assert not WebApiLog.objects.exists()


def test_a_revoked_configuration_cannot_upload(client, tenant, issued):
    configuration, token = issued
    license_server_configuration_revoke(configuration=configuration,
                                        actor=Actor.for_user(tenant.owner))

    answer = _upload(client, token, [_record(tenant)])

    assert answer == {"result": 1, "message": configuration_file.PORTAL_REVOKED}


def test_a_malformed_record_refuses_the_whole_batch(client, tenant, issued):
    _, token = issued

    answer = _upload(client, token, [_record(tenant), _record(tenant, State="x")])

    assert answer == {"result": 1, "message": "The input parameters were incorrect."}
    assert not WebApiLog.objects.exists()
