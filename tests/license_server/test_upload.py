"""The endpoint license servers upload their journal to: authenticated by the configuration's
upload token (before anything else is read), idempotent, refused once the configuration is
revoked, and storing only the records the configuration covers."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
from django.utils import timezone
from license_server import configuration as server_configuration

from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.license_server.models import LicenseServerConfiguration
from apps.license_server.services import (
    license_server_configuration_create,
    license_server_configuration_revoke,
)
from apps.license_server.uploads import INCORRECT_INPUT, MAX_RECORDS_LENGTH, parse_records
from apps.licensing import signing
from apps.usage.models import Event, WebApiLog
from tests.factories import CustomerFactory, make_key

URL = "/api/license-server/upload-log"


def _issue(tenant, **spec) -> tuple[LicenseServerConfiguration, str]:
    configuration, text = license_server_configuration_create(
        vendor=tenant.vendor, actor=Actor.for_user(tenant.owner), name="Site",
        valid_until=timezone.now() + dt.timedelta(days=30), **spec)
    vendor_xml = signing.public_key_xml(tenant.vendor.signing_key.public_key_pem)
    return configuration, server_configuration.parse(text, vendor_public_key_xml=vendor_xml
                                                   ).upload_token


@pytest.fixture
def issued(tenant) -> tuple[LicenseServerConfiguration, str]:
    return _issue(tenant)


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

    assert answer == {"stored": 1, "duplicates": 0, "refused": 0, "result": 0, "message": ""}
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

    assert answer == {"result": 1, "message": server_configuration.PORTAL_REVOKED}


def test_a_malformed_record_refuses_the_whole_batch(client, tenant, issued):
    _, token = issued

    answer = _upload(client, token, [_record(tenant), _record(tenant, State="x")])

    assert answer == {"result": 1, "message": "The input parameters were incorrect."}
    assert not WebApiLog.objects.exists()


def _stored_keys() -> list[tuple[int, str]]:
    return sorted(WebApiLog.objects.values_list("product_id", "key"))


def test_records_for_keys_the_configuration_does_not_cover_are_refused(client, tenant,
                                                                        other_tenant):
    other_customers_key = make_key(tenant.product, customer=CustomerFactory(vendor=tenant.vendor))
    floating_key = make_key(tenant.product)  # no customer, but listed in the configuration
    _, token = _issue(tenant, customer=tenant.customer, keys=[floating_key])
    covered = [_record(tenant), _record(tenant, Key=floating_key.key)]
    refused = [_record(tenant, Key=other_customers_key.key),
               _record(tenant, Key="ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"),
               _record(tenant, ProductId=other_tenant.product.pk, Key=other_tenant.key.key),
               _record(tenant, ProductId=other_tenant.product.pk, Key=tenant.key.key)]

    answer = _upload(client, token, covered + refused)

    assert answer == {"stored": 2, "duplicates": 0, "refused": 4, "result": 0, "message": ""}
    assert _stored_keys() == sorted([(tenant.product.pk, tenant.key.key),
                                     (tenant.product.pk, floating_key.key)])
    assert not WebApiLog.objects.filter(vendor=other_tenant.vendor).exists()


def test_another_vendors_product_is_refused_even_without_a_customer(client, tenant,
                                                                    other_tenant, issued):
    _, token = issued
    event = {"FeatureName": "export", "EventName": "click", "Value": "1", "Currency": "",
             "Metadata": ""}
    records = [_record(tenant, ProductId=other_tenant.product.pk, Key=other_tenant.key.key),
               _record(tenant, Method="ai.registerevent", State=5010, Key="",
                       ProductId=other_tenant.product.pk, Event=event),
               _record(tenant, Method="ai.registerevent", State=5010, Key="", Event=event)]

    answer = _upload(client, token, records)

    assert (answer["stored"], answer["refused"]) == (1, 2)
    assert list(Event.objects.values_list("vendor_id", "product_id")) == [
        (tenant.vendor.pk, tenant.product.pk)]


@pytest.mark.parametrize(("seconds_from_now", "stored"), [
    (-20 * 86400, False),  # backdated before the configuration was issued
    (3600, False),  # in the future
    (-120, True),  # the server's clock a little behind the portal's
    (120, True),  # or a little ahead
], ids=["backdated-20-days", "future", "skew-behind", "skew-ahead"])
def test_records_are_stored_only_within_the_configurations_validity(client, tenant, issued,
                                                                     seconds_from_now, stored):
    _, token = issued

    answer = _upload(client, token, [_record(tenant, Time=time.time() + seconds_from_now)])

    assert (answer["stored"], answer["refused"]) == ((1, 0) if stored else (0, 1))
    assert WebApiLog.objects.exists() == stored


def test_records_after_the_configurations_end_are_refused(client, tenant, issued):
    configuration, token = issued
    now = timezone.now()
    LicenseServerConfiguration.objects.filter(pk=configuration.pk).update(
        created=now - dt.timedelta(days=10), valid_until=now - dt.timedelta(days=1))
    before_end = _record(tenant, Time=(now - dt.timedelta(days=2)).timestamp())
    after_end = _record(tenant, Time=(now - dt.timedelta(hours=12)).timestamp())

    answer = _upload(client, token, [before_end, after_end])

    assert (answer["stored"], answer["refused"]) == (1, 1)
    assert WebApiLog.objects.get().time.timestamp() == pytest.approx(before_end["Time"])


def test_a_refused_record_sent_again_is_refused_again_not_stored(client, tenant, issued):
    _, token = issued
    backdated = _record(tenant, Time=time.time() - 20 * 86400)
    _upload(client, token, [backdated])

    answer = _upload(client, token, [backdated])

    assert (answer["stored"], answer["duplicates"], answer["refused"]) == (0, 0, 1)
    assert not WebApiLog.objects.exists()


@pytest.mark.parametrize(("good_token", "message"), [
    (False, "Unable to authenticate."),
    (True, "The input parameters were incorrect."),
], ids=["bad-token", "good-token"])
def test_a_deeply_nested_body_gets_a_clean_error(client, tenant, issued, good_token, message):
    _, token = issued

    response = client.post(URL, {"token": token if good_token else token[:-4] + "AAA=",
                                 "Records": "[" * 3000})

    assert response.status_code == 200
    assert response.json() == {"result": 1, "message": message}
    assert not WebApiLog.objects.exists()


@pytest.mark.parametrize("body", ["oversized", "too-many-fields"])
def test_an_oversized_upload_gets_the_api_envelope_not_an_error_page(client, issued, body):
    _, token = issued
    data = ({"token": token, "Records": "a" * 3_000_000} if body == "oversized"
            else {"token": token, **{f"f{n}": "x" for n in range(2000)}})

    response = client.post(URL, data)

    assert response.status_code == 200
    assert response.json() == {"result": 1, "message": "The input parameters were incorrect."}


def test_records_are_bounded_in_length_and_depth_but_brackets_in_strings_are_text():
    too_long = "[" + " " * MAX_RECORDS_LENGTH + "]"
    too_deep = '[{"Id": "a", "Event": {"Metadata": [[]]}}]'
    brackets_in_text = json.dumps([{"Id": "a", "Event": {"Metadata": '[[[[{{\\"]'}}])

    for text in (too_long, too_deep):
        with pytest.raises(DomainError) as refused:
            parse_records(text)
        assert refused.value.message == INCORRECT_INPUT
    assert parse_records(brackets_in_text)[0]["Event"]["Metadata"] == '[[[[{{\\"]'
