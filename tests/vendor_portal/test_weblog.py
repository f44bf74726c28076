"""The vendor's Web API log page: filters, cursor pagination, CSV export, tenancy."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.test import Client
from django.urls import reverse

from apps.usage.models import WebApiLog
from apps.usage.weblog_io import COLUMNS

from ..matrix import login_redirect

URL = reverse("vendor_portal:webapi_log")
T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


def _log(vendor, **fields) -> WebApiLog:
    values = {"time": T0, "state": 1010, "method": "GetKey", **fields}
    return WebApiLog.objects.create(vendor=vendor, **values)


def _ids(response) -> list[int]:
    return [entry.pk for entry in response.context["entries"]]


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_anonymous_is_sent_to_login(db):
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"] == login_redirect(URL)


def test_read_only_member_sees_own_rows_with_state_description(tenant, other_tenant,
                                                               read_only_client):
    own = _log(tenant.vendor, state=2024, key="OWN-KEY")
    _log(other_tenant.vendor, key="SECRET-OTHER-KEY")

    response = read_only_client.get(URL)

    assert response.status_code == 200
    assert _ids(response) == [own.pk]
    content = response.content.decode()
    assert "Floating activation refused: limit reached" in content
    assert "SECRET-OTHER-KEY" not in content


def test_each_filter_narrows_the_rows(tenant, owner_client):
    v = tenant.vendor
    hit = _log(v, product_id=5, key="K-1", machine_code="pc-1", friendly_name="Alice LAPTOP",
               ip="192.0.2.7", state=2014, time=T0, country="SE")
    others = {
        "product_id": _log(v, product_id=6, key="K-1", state=2014),
        "key": _log(v, key="K-2", state=2014),
        "machine_code": _log(v, machine_code="pc-10", state=2014),
        "friendly_name": _log(v, friendly_name="Bob desktop", state=2014),
        "ip": _log(v, ip="192.0.2.8", state=2014),
        "state_group": _log(v, state=2011),
        "since": _log(v, time=T0 - dt.timedelta(days=2), state=2014),
        "until": _log(v, time=T0 + dt.timedelta(days=1), state=2014),
        "country": _log(v, country="DE", state=2014),
        "start": _log(v, time=T0 - dt.timedelta(seconds=1), state=2014),
        "end": _log(v, time=T0 + dt.timedelta(seconds=1), state=2014),
    }
    filters = {"product_id": "5", "key": "K-1", "machine_code": "pc-1",
               "friendly_name": "alice laptop", "ip": "192.0.2.7", "state_group": "floating",
               "since": "2024-02-29", "until": "2024-03-01", "country": "se",
               "start": str(int(T0.timestamp())), "end": str(int(T0.timestamp()))}
    for name, value in filters.items():
        ids = _ids(owner_client.get(URL, {name: value}))
        assert hit.pk in ids and others[name].pk not in ids, name
    assert _ids(owner_client.get(URL, filters)) == [hit.pk]


def test_state_groups_follow_the_state_code_digits(tenant, owner_client):
    states = [1010, 1020, 2011, 2015, 2021, 3010, 6010, 6011, 6020]
    by_state = {state: _log(tenant.vendor, state=state).pk for state in states}
    expected = {"success": [1010, 2011, 2015, 3010, 6010, 6011],
                "failure": [1020, 2021, 6020], "activation": [2011, 2015, 2021],
                "deactivation": [6010, 6011, 6020], "floating": [2015, 6011],
                "validation": [1010, 1020], "key_creation": [3010]}
    for group, codes in expected.items():
        ids = _ids(owner_client.get(URL, {"state_group": group}))
        assert sorted(ids) == sorted(by_state[c] for c in codes), group


def test_invalid_filter_shows_the_error_and_no_rows(tenant, owner_client):
    _log(tenant.vendor)
    for name, value in (("ip", "not-an-ip"), ("country", "Sweden"), ("start", "-5"),
                        ("end", "soon")):
        response = owner_client.get(URL, {name: value})
        assert response.status_code == 200
        assert _ids(response) == []
        assert response.context["form"].errors[name]


def test_cursor_pagination_goes_older_by_id_keeping_filters(tenant, owner_client):
    WebApiLog.objects.bulk_create(
        [WebApiLog(vendor=tenant.vendor, time=T0, state=1010, method="GetKey", key="K")
         for _ in range(205)] + [WebApiLog(vendor=tenant.vendor, time=T0, state=1010,
                                           method="GetKey", key="OTHER")])
    ids = list(WebApiLog.objects.filter(key="K").order_by("-id").values_list("pk", flat=True))

    first = owner_client.get(URL, {"key": "K"})
    second = owner_client.get(URL, {"key": "K", "before": first.context["older"]})
    third = owner_client.get(URL, {"key": "K", "before": second.context["older"]})

    assert _ids(first) == ids[:100]
    assert _ids(second) == ids[100:200]
    assert _ids(third) == ids[200:]
    assert third.context["older"] is None
    assert f'?key=K&amp;before={ids[99]}"' in first.content.decode()


def test_csv_export_streams_filtered_rows_with_exact_columns(tenant, other_tenant,
                                                             read_only_client):
    hit = _log(tenant.vendor, state=2011, key="K-1", product_id=3, ip="192.0.2.1",
               machine_code="pc", friendly_name="PC")
    _log(tenant.vendor, state=1010, key="K-1")
    _log(other_tenant.vendor, state=2011, key="K-1")

    response = read_only_client.get(URL, {"state_group": "activation", "export": "csv",
                                          "before": hit.pk})  # the cursor does not apply

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert _csv(response) == [COLUMNS, [str(hit.pk), "3", "K-1", "192.0.2.1", "1709294400",
                                        "2011", "pc", "PC", "", "GetKey", ""]]


def test_product_filter_is_a_select_of_the_vendors_products_by_name(tenant, other_tenant,
                                                                   owner_client):
    own = _log(tenant.vendor, product_id=tenant.product.pk)
    _log(tenant.vendor, product_id=tenant.product.pk + 1000)

    response = owner_client.get(URL, {"product_id": tenant.product.pk})

    select = str(response.context["form"]["product_id"])
    assert select.startswith("<select")
    assert f'<option value="{tenant.product.pk}" selected>{tenant.product.name}</option>' in select
    assert other_tenant.product.name not in select
    assert _ids(response) == [own.pk]
    assert f"<span class=\"truncate\" title=\"{tenant.product.name} (id {tenant.product.pk})\">" \
           f"{tenant.product.name}</span>" in response.content.decode()


def test_a_link_naming_a_product_no_longer_listed_still_filters_by_its_id(tenant, owner_client):
    gone = _log(tenant.vendor, product_id=987654)
    _log(tenant.vendor, product_id=tenant.product.pk)

    response = owner_client.get(URL, {"product_id": "987654"})

    assert _ids(response) == [gone.pk]
    assert '<option value="987654" selected>Product 987654 (deleted or unknown)</option>' in str(
        response.context["form"]["product_id"])
    assert response.context["form"].errors == {}


def test_state_shows_a_short_badge_with_the_description_on_hover(tenant, owner_client):
    _log(tenant.vendor, state=2024)
    _log(tenant.vendor, state=2011)
    _log(tenant.vendor, state=4710)  # a code the portal has no word for

    content = owner_client.get(URL).content.decode()

    assert ('<span class="badge danger" title="Floating activation refused: limit reached">'
            '2024 floating limit</span>') in content
    assert '<span class="badge ok" title="Activation: new device">2011 ok</span>' in content
    assert '<span class="badge ok" title="4710">4710 ok</span>' in content


def test_a_long_machine_code_and_key_are_cut_with_the_whole_value_kept(tenant, owner_client):
    machine_code, key = "ab" * 64, "K" * 64
    _log(tenant.vendor, machine_code=machine_code, key=key)

    content = owner_client.get(URL).content.decode()

    assert f'<span class="truncate code" title="{machine_code}">{machine_code}</span>' in content
    assert f'<span class="truncate key" title="{key}">{key}</span>' in content
    assert '<div class="table-wrap">' in content
