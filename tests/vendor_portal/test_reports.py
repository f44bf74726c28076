"""The vendor's usage and floating-seat report pages: scope, charts, tables and CSVs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.usage.models import WebApiLog
from apps.usage.sessions import floating_sessions_refresh
from tests.factories import make_key

USAGE = reverse("vendor_portal:usage_report")
FLOATING = reverse("vendor_portal:floating_report")


def _chart_data(content: str, chart_id: str) -> dict:
    match = re.search(rf'<script id="{chart_id}-data" type="application/json">(.*?)</script>',
                      content, re.S)
    assert match, f"no data for chart {chart_id}"
    return json.loads(match.group(1))


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def logged(tenant, other_tenant):
    """Yesterday noon: two seats on a 1-seat floating key (one in overdraft), one refusal."""
    noon = (timezone.now() - dt.timedelta(days=1)).replace(hour=12, minute=0, second=0,
                                                           microsecond=0)
    key = make_key(tenant.product, max_no_of_machines=1)
    rows = [("m1", 2014, 0), ("m2", 2015, 5), ("m3", 2024, 6)]
    for machine, state, minute in rows:
        when = noon + dt.timedelta(minutes=minute)
        WebApiLog.objects.create(
            vendor=tenant.vendor, time=when, product_id=key.product_id, key=key.key,
            state=state, machine_code=machine, method="key.Activate", country="SE",
            floating_expires=when + dt.timedelta(minutes=10) if state != 2024 else None)
    WebApiLog.objects.create(vendor=other_tenant.vendor, time=noon, product_id=key.product_id,
                             key=key.key, state=2014, machine_code="x", method="key.Activate",
                             floating_expires=noon + dt.timedelta(hours=5))
    for vendor in (tenant.vendor, other_tenant.vendor):
        floating_sessions_refresh(vendor=vendor)  # what the beat task does
    return key, noon


def test_floating_report_of_one_key_shows_figures_chart_and_table(logged, read_only_client):
    key, noon = logged
    response = read_only_client.get(FLOATING, {"key": key.key})

    assert response.status_code == 200
    usage = response.context["usage"]
    assert (usage.peak_overall, usage.overdraft_used, usage.denied_total) == (2, 1, 1)
    assert usage.seconds_at_or_over_limit == 15 * 60  # 12:00-12:15 at or over 1 seat
    data = _chart_data(response.content.decode(), "floating-seats")
    labels = data["labels"]
    at_noon = labels.index(noon.astimezone(dt.UTC).strftime("%Y-%m-%d %H:00"))
    series = {s["label"]: s["values"] for s in data["series"]}
    assert series["Peak seats in use"][at_noon] == 2
    assert series["Seat limit"] == [1] * len(labels)
    assert series["Refused (no seat free)"][at_noon] == 1
    assert sum(series["Peak seats in use"]) == 2  # the other vendor's 5-hour seat is not here


def test_floating_report_csv_downloads(logged, owner_client):
    key, _noon = logged
    chart = _csv(owner_client.get(FLOATING, {"key": key.key, "csv": "floating-seats"}))
    keys = _csv(owner_client.get(FLOATING, {"csv": "keys"}))

    assert chart[0] == ["Hour (UTC)", "Peak seats in use", "Seat limit", "Refused (no seat free)"]
    assert max(int(row[1]) for row in chart[1:]) == 2
    assert keys[0][:4] == ["ProductId", "Key", "Limit", "PeakSeats"]
    assert [row[1:5] for row in keys[1:]] == [[key.key, "1", "2", "900"]]


def test_usage_report_charts_and_tables(logged, owner_client):
    key, _noon = logged
    response = owner_client.get(USAGE)
    content = response.content.decode()

    countries = _chart_data(content, "activations-by-country")
    assert countries["labels"] == ["SE"] and countries["series"][0]["values"] == [2]
    devices = _chart_data(content, "active-devices")
    assert devices["series"][0]["values"][-2] == 2  # yesterday: m1 and m2
    assert 'id="geoip-missing"' in content  # no GeoIP database in tests
    failing = response.context["failing"]
    assert [(r["key"], r["failed"]) for r in failing] == [(key.key, 1)]
    rows = _csv(owner_client.get(USAGE, {"csv": "verification"}))
    assert rows[1][:5] == [str(key.product_id), key.key, "3", "2", "1"]


def test_unknown_key_without_product_is_a_form_error(tenant, owner_client):
    response = owner_client.get(FLOATING, {"key": "AAAAA-BBBBB-CCCCC-DDDDD"})
    assert response.status_code == 200
    assert "choose the product" in response.context["form"].errors["key"][0]


def test_range_errors_are_form_errors(tenant, owner_client):
    for params in ({"since": "2026-02-01", "until": "2026-01-01"},
                   {"since": "2020-01-01", "until": "2026-01-01"}, {"since": "yesterday"}):
        response = owner_client.get(USAGE, params)
        assert response.status_code == 200 and response.context["form"].errors, params


def test_another_vendors_customer_cannot_be_chosen(tenant, other_tenant, owner_client):
    response = owner_client.get(FLOATING, {"customer": other_tenant.customer.pk})
    assert response.context["form"].errors["customer"]


def test_durations_read_in_hours_and_minutes():
    from apps.reports.charts import duration

    assert [duration(s) for s in (40, 600, 3600, 3900, 90061)] == [
        "40 s", "10 min", "1 h 00 min", "1 h 05 min", "25 h 01 min"]


WRITES = ("INSERT", "UPDATE", "DELETE")


def _writes(queries) -> list[str]:
    """Statements that change stored data (temporary scratch tables and sessions aside)."""
    return [q["sql"] for q in queries
            if (q["sql"].lstrip().upper().startswith(WRITES) and "django_session" not in q["sql"])
            or "FOR UPDATE" in q["sql"].upper()]


@pytest.mark.parametrize("page", ["vendor_portal:floating_report", "vendor_portal:usage_report"])
def test_a_report_page_never_writes(logged, read_only_client, page):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    key, noon = logged
    WebApiLog.objects.create(vendor=key.product.vendor, time=noon, product_id=key.product_id,
                             key=key.key, state=2014, machine_code="m9", method="key.Activate",
                             floating_expires=noon + dt.timedelta(minutes=10))
    with CaptureQueriesContext(connection) as queries:
        response = read_only_client.get(reverse(page), {"key": key.key})

    assert response.status_code == 200
    assert _writes(queries.captured_queries) == []


def test_catch_up_condenses_new_calls_and_returns_to_the_same_report(logged, read_only_client):
    key, noon = logged
    WebApiLog.objects.create(vendor=key.product.vendor, time=noon + dt.timedelta(minutes=1),
                             product_id=key.product_id, key=key.key, state=2014,
                             machine_code="m9", method="key.Activate",
                             floating_expires=noon + dt.timedelta(minutes=10))
    query = f"key={key.key}&resolution=day"
    stale = read_only_client.get(FLOATING + "?" + query)
    assert b'data-figure="peak">2<' in stale.content  # m9 is not counted yet

    response = read_only_client.post(reverse("vendor_portal:floating_catch_up"),
                                     {"query": query})

    assert response.status_code == 302
    assert response["Location"] == f"{FLOATING}?key={key.key}&resolution=day"
    fresh = read_only_client.get(response["Location"])
    assert "up to date" in fresh.content.decode()
    assert b'data-figure="peak">3<' in fresh.content


@pytest.fixture
def imported(logged):
    """Floating calls of a key whose product is not in the catalogue: id 3105, as in a log
    imported from Cryptolens (or the demo's generated log)."""
    key, noon = logged
    ghost = "GHOST-GHOST-GHOST-GHOST"
    for machine, state, minute in [("g1", 2014, 0), ("g2", 2014, 1), ("g3", 1020, 2)]:
        when = noon + dt.timedelta(minutes=minute)
        WebApiLog.objects.create(
            vendor=key.product.vendor, time=when, product_id=3105, key=ghost, state=state,
            machine_code=machine, method="key.Activate",
            floating_expires=when + dt.timedelta(minutes=10) if state == 2014 else None)
    floating_sessions_refresh(vendor=key.product.vendor)
    return key, ghost


def _by_key_rows(content: str) -> list[tuple[str, str, str]]:
    """(product cell text, link, key) of each row of the floating report's "By key" table."""
    table = content.split("<h2>By key</h2>", 1)[1].split("</table>", 1)[0]
    return [(re.sub(r"<[^>]+>", "", product).strip(), link.replace("&amp;", "&"), key)
            for product, link, key in re.findall(
                r'<tr><td>(.*?)</td>\s*<td class="mono"><a href="([^"]+)">([^<]+)</a>', table,
                re.S)]


def test_floating_report_names_products_and_labels_unknown_ones(imported, owner_client):
    key, ghost = imported
    rows = _by_key_rows(owner_client.get(FLOATING).content.decode())

    assert {(product, listed) for product, _, listed in rows} == {
        (key.product.name, key.key), ("Unknown product 3105", ghost)}


def test_a_by_key_link_of_an_unknown_product_narrows_the_report(imported, owner_client):
    _key, ghost = imported
    rows = _by_key_rows(owner_client.get(FLOATING).content.decode())
    (link,) = [link for _, link, listed in rows if listed == ghost]

    response = owner_client.get(FLOATING + link)

    assert response.status_code == 200
    form = response.context["form"]
    assert not form.errors, form.errors
    assert form.cleaned_data["product"] == 3105
    assert [k.key for k in response.context["usage"].keys] == [ghost]
    assert response.context["usage"].peak_overall == 2
    assert '<option value="3105" selected>Unknown product 3105</option>' in (
        response.content.decode())


def test_every_by_key_link_opens_a_report_without_form_errors(imported, owner_client):
    for _, link, listed in _by_key_rows(owner_client.get(FLOATING).content.decode()):
        response = owner_client.get(FLOATING + link)
        assert not response.context["form"].errors, (listed, response.context["form"].errors)
        assert [k.key for k in response.context["usage"].keys] == [listed]


def test_catch_up_keeps_an_unknown_product_of_the_filter(imported, read_only_client):
    _key, ghost = imported
    query = f"key={ghost}&product=3105"
    response = read_only_client.post(reverse("vendor_portal:floating_catch_up"),
                                     {"query": query})
    assert response["Location"] == f"{FLOATING}?product=3105&key={ghost}"


def test_usage_report_tables_and_csv_name_products(imported, owner_client):
    key, ghost = imported
    response = owner_client.get(USAGE)
    content = response.content.decode()

    failing = {r["key"]: r["product"] for r in response.context["failing"]}
    assert (failing[ghost].name, failing[ghost].known) == ("Unknown product 3105", False)
    assert failing[key.key].name == key.product.name
    assert f'<span title="Product id {key.product_id}">{key.product.name}</span>' in content
    assert ">Unknown product 3105</span>" in content
    assert {r["product"].name for r in response.context["verification"]} == {key.product.name}
    rows = _csv(owner_client.get(USAGE, {"csv": "failing"}))
    assert rows[0][-1] == "Product"
    assert {(row[0], row[1], row[-1]) for row in rows[1:]} == {
        (str(key.product_id), key.key, key.product.name), ("3105", ghost, "Unknown product 3105")}
    keys = _csv(owner_client.get(FLOATING, {"csv": "keys"}))
    assert {row[-1] for row in keys[1:]} == {key.product.name, "Unknown product 3105"}


def test_a_csv_product_name_that_looks_like_a_formula_stays_text(logged, owner_client):
    key, _noon = logged
    key.product.name = "=HYPERLINK(1)"
    key.product.save(update_fields=["name"])
    rows = _csv(owner_client.get(USAGE, {"csv": "verification"}))
    assert rows[1][-1] == "'=HYPERLINK(1)"
