"""Vendor pages of anomaly detection: the findings list, a finding, its actions, the model
page and its settings form."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.anomalies.models import AnomalySettings, DetectorVersion, Finding
from apps.audit.models import ObjectLogEntry
from apps.usage.models import WebApiLog

URLS_OF_A_FINDING = ("anomaly_detail", "anomaly_mark_expected", "anomaly_block_key")


def make_finding(tenant, *, subject_kind: str = "key", ago_hours: int = 3, **fields) -> Finding:
    end = timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(
        hours=ago_hours)
    values = {"label": "Key sharing", "start": end - dt.timedelta(hours=2), "end": end,
              "score": 12.5, "severity": "high", "groups": ["g1"], "log_ids": [],
              "reasons": ["11 distinct countries in 1 hour (usual: 1-1)",
                          "14 distinct IP addresses in 1 hour (usual: 1-3)"],
              "subject": tenant.key.key if subject_kind == "key" else "203.0.113.9",
              "product_id": tenant.product.pk if subject_kind == "key" else None}
    return Finding.objects.create(vendor=tenant.vendor, subject_kind=subject_kind,
                                  **{**values, **fields})


def make_version(tenant, number: int = 1, status: str = "active") -> DetectorVersion:
    return DetectorVersion.objects.create(
        vendor=tenant.vendor, number=number, status=status, rows_trained=7025,
        metadata={"threshold": 4.0, "threshold_method": "pot", "n_training_windows": 1500,
                  "train_loss": [0.9, 0.5, 0.31, 0.3],
                  "score_histogram": {"edges": [0, 2, 4, 6, 8], "counts": [900, 80, 12, 3]},
                  "false_positive_rate": 0.004,
                  "dropped_windows": {"warmup": 990, "hygiene": 100, "hygiene_method": "ecod",
                                      "excluded_by_vendor": 0}})


def _url(name: str, finding: Finding | None = None) -> str:
    return reverse(f"vendor_portal:{name}", args=[finding.pk] if finding else [])


def test_list_shows_findings_with_reasons_highest_first_within_a_day(tenant, read_only_client):
    low = make_finding(tenant, score=5.0, severity="low", subject_kind="ip")
    high = make_finding(tenant, score=30.0)
    older = make_finding(tenant, score=99.0, ago_hours=24 * 3, subject_kind="ip",
                         label="Brute-force key guessing")

    response = read_only_client.get(_url("anomaly_list"))

    assert response.status_code == 200
    assert [f.pk for f in response.context["page"]] == [high.pk, low.pk, older.pk]
    page = response.content.decode()
    assert "11 distinct countries in 1 hour" in page and tenant.key.key in page
    assert "Brute-force key guessing" in page
    assert response.context["chart"].has_data


def test_list_filters_by_status_severity_kind_and_subject(tenant, owner_client):
    key = make_finding(tenant)
    ip = make_finding(tenant, subject_kind="ip", severity="low", status="expected")

    def listed(**query) -> list[int]:
        return [f.pk for f in owner_client.get(_url("anomaly_list"), query).context["page"]]

    assert listed(subject_kind="ip") == [ip.pk]
    assert listed(severity="high") == [key.pk]
    assert listed(status="expected") == [ip.pk]
    assert listed(q="203.0.113") == [ip.pk]


def test_list_and_its_chart_download_as_csv(tenant, owner_client):
    make_finding(tenant, ago_hours=0)  # ends at the start of this hour: today, always

    listing = owner_client.get(_url("anomaly_list"), {"format": "csv"})
    chart = owner_client.get(_url("anomaly_list"), {"csv": "findings-per-day"})

    assert listing["Content-Type"].startswith("text/csv")
    assert tenant.key.key in listing.content.decode()
    rows = chart.content.decode().splitlines()
    assert rows[0] == "Day,All findings,High severity" and len(rows) == 31
    assert rows[-1].endswith(",1,1")  # today: one finding, high


def test_finding_page_shows_reasons_traffic_chart_and_links(tenant, owner_client):
    finding = make_finding(tenant)
    WebApiLog.objects.bulk_create([
        WebApiLog(vendor=tenant.vendor, time=finding.start + dt.timedelta(minutes=m),
                  product_id=tenant.product.pk, key=tenant.key.key, ip=f"198.51.100.{m}",
                  state=2010 if m % 2 else 2020, machine_code=f"m{m}", method="key.Activate")
        for m in range(10)])

    response = owner_client.get(_url("anomaly_detail", finding))

    assert response.status_code == 200
    page = response.content.decode()
    chart = response.context["chart"]
    assert chart.has_data and sum(chart.series[0].values) + sum(chart.series[1].values) == 10
    assert max(chart.series[2].values) == 10  # distinct IPs in the finding's hour
    assert "14 distinct IP addresses" in page
    assert reverse("vendor_portal:customer_detail", args=[tenant.customer.pk]) in page
    log_url = response.context["log_url"]
    assert log_url.startswith(reverse("vendor_portal:webapi_log"))
    assert f"key={tenant.key.key}" in log_url and f"product_id={tenant.product.pk}" in log_url
    assert f"start={int(finding.start.timestamp())}" in log_url
    WebApiLog.objects.create(vendor=tenant.vendor, time=finding.end, key=tenant.key.key,
                             product_id=tenant.product.pk, state=1010, method="key.GetKey")
    listed = owner_client.get(log_url).context["entries"]
    assert len(listed) == 10  # the finding's rows, not the call at its (exclusive) end
    csv = owner_client.get(_url("anomaly_detail", finding), {"csv": "finding-traffic"})
    assert csv.content.decode().startswith("Hour (UTC),Successful calls,Failed calls")


def test_ip_finding_links_to_the_log_by_ip_and_offers_no_block(tenant, owner_client):
    finding = make_finding(tenant, subject_kind="ip")

    response = owner_client.get(_url("anomaly_detail", finding))

    assert "ip=203.0.113.9" in response.context["log_url"]
    assert _url("anomaly_block_key", finding) not in response.content.decode()


def test_block_key_from_the_dashboard(tenant, admin_client_, tenant_token):
    finding = make_finding(tenant)

    response = admin_client_.post(_url("anomaly_block_key", finding))

    assert response.status_code == 302
    assert response["Location"] == _url("anomaly_detail", finding)
    tenant.key.refresh_from_db()
    assert tenant.key.block
    assert ObjectLogEntry.objects.filter(vendor=tenant.vendor, action="blocked",
                                         object_id=str(tenant.key.pk)).exists()
    body = admin_client_.post("/api/key/GetKey", {
        "token": tenant_token.token_string, "ProductId": tenant.product.pk,
        "Key": tenant.key.key}).json()
    assert body["licenseKey"]["block"] is True
    assert "blocked" in admin_client_.get(response["Location"]).content.decode()


def test_blocking_an_ip_finding_says_why_not(tenant, owner_client):
    finding = make_finding(tenant, subject_kind="ip")

    response = owner_client.post(_url("anomaly_block_key", finding), follow=True)

    assert "not about one of your license keys" in response.content.decode()
    assert Finding.objects.get(pk=finding.pk).status == "new"


def test_mark_as_expected(tenant, owner_client):
    finding = make_finding(tenant)

    response = owner_client.post(_url("anomaly_mark_expected", finding), follow=True)

    assert Finding.objects.get(pk=finding.pk).status == "expected"
    assert "stays out of the next training" in response.content.decode()


@pytest.mark.parametrize("name", ["anomaly_mark_expected", "anomaly_block_key"])
def test_read_only_member_may_look_but_not_act(tenant, read_only_client, name):
    finding = make_finding(tenant)

    assert read_only_client.get(_url("anomaly_detail", finding)).status_code == 200
    assert read_only_client.post(_url(name, finding)).status_code == 403

    tenant.key.refresh_from_db()
    assert not tenant.key.block and Finding.objects.get(pk=finding.pk).status == "new"


def test_other_vendor_gets_404_on_every_finding_url(tenant, other_vendor_client):
    finding = make_finding(tenant)

    for name in URLS_OF_A_FINDING:
        send = other_vendor_client.get if name == "anomaly_detail" else other_vendor_client.post
        assert send(_url(name, finding)).status_code == 404, name
    assert tenant.key.key not in other_vendor_client.get(_url("anomaly_list")).content.decode()
    assert tenant.key.key not in other_vendor_client.get(_url("anomaly_model")).content.decode()
    tenant.key.refresh_from_db()
    assert not tenant.key.block


def test_other_vendor_sees_none_of_this_vendors_model(tenant, other_vendor_client):
    make_version(tenant)

    response = other_vendor_client.get(_url("anomaly_model"))

    assert response.context["version"] is None and response.context["versions"] == []


def test_model_page_shows_the_active_version_with_loss_and_histogram(tenant, read_only_client):
    make_version(tenant, 1, "superseded")
    version = make_version(tenant, 2)
    DetectorVersion.objects.create(vendor=tenant.vendor, number=3, status="failed",
                                   error="Too little data: 40 windows")

    response = read_only_client.get(_url("anomaly_model"))

    assert response.context["version"] == version
    loss, histogram = response.context["charts"]
    assert loss.series[0].values == [0.9, 0.5, 0.31, 0.3]
    below, above, marker = histogram.series
    assert below.values == [900, 80, 0, 0] and above.values == [0, 0, 12, 3]
    assert marker.values == [None, None, 900, None]  # the threshold 4.0 is in [4, 6)
    page = response.content.decode()
    assert "Too little data: 40 windows" in page and "7025" in page
    assert "990 in the first days (warm-up); 100 ranked most unusual by ecod" in page
    assert 'id="anomaly-settings"' not in page  # read-only: no settings form
    data = json.loads(read_only_client.get(_url("anomaly_model"), {"csv": "training-loss"}
                                           ).content.decode().splitlines()[1].split(",")[1])
    assert data == 0.9


def test_model_page_without_any_training(tenant, owner_client):
    response = owner_client.get(_url("anomaly_model"))

    assert response.status_code == 200
    assert "No detector has been trained yet" in response.content.decode()
    assert not AnomalySettings.objects.exists()  # a read creates nothing


def test_owner_changes_the_sensitivity(tenant, owner_client):
    response = owner_client.post(_url("anomaly_settings"), {
        "sensitivity": "0.5", "enabled": "on", "retrain_nightly": "on"})

    assert response.status_code == 302
    row = AnomalySettings.objects.get(vendor=tenant.vendor)
    assert (row.sensitivity, row.enabled, row.email_digest, row.retrain_nightly) == (
        0.5, True, False, True)
    assert ObjectLogEntry.objects.filter(vendor=tenant.vendor,
                                         object_type="anomalies.anomalysettings").exists()


def test_invalid_sensitivity_is_a_form_error(tenant, owner_client):
    response = owner_client.post(_url("anomaly_settings"), {"sensitivity": "1000"})

    assert response.status_code == 200
    assert response.context["form"].errors["sensitivity"]
    assert not AnomalySettings.objects.exists()


def test_read_only_member_cannot_change_settings_or_retrain(tenant, read_only_client):
    assert read_only_client.post(_url("anomaly_settings"), {"sensitivity": "8.0"}
                                 ).status_code == 403
    assert read_only_client.post(_url("anomaly_retrain")).status_code == 403
    assert not AnomalySettings.objects.exists()


def test_retrain_now_queues_the_task_after_commit(tenant, owner_client, monkeypatch,
                                                 django_capture_on_commit_callbacks):
    from apps.anomalies import tasks

    queued = []
    monkeypatch.setattr(tasks.anomaly_model_retrain, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(_url("anomaly_retrain"))

    assert response.status_code == 302
    assert queued == [tenant.vendor.pk]
    assert ObjectLogEntry.objects.filter(vendor=tenant.vendor,
                                         action="retraining requested").exists()


def test_nav_links_to_the_anomalies(tenant, owner_client):
    page = owner_client.get(reverse("vendor_portal:dashboard")).content.decode()
    assert f'href="{_url("anomaly_list")}"' in page


def _text(html: str) -> str:
    import re

    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_key_finding_names_its_product_and_key_not_a_product_id(tenant, read_only_client):
    finding = make_finding(tenant)

    page = _text(read_only_client.get(_url("anomaly_detail", finding)).content.decode())

    assert f"Kind Key {tenant.key.key} of {tenant.product.name}" in page
    assert "of product" not in page


def test_a_finding_on_a_product_that_is_not_the_vendors_says_unknown_product(
        tenant, other_tenant, read_only_client):
    guessed = make_finding(tenant, subject="GUESS-GUESS-GUESS-GUESS", product_id=3105)
    foreign = make_finding(tenant, subject="OTHER-OTHER-OTHER-OTHER",
                           product_id=other_tenant.product.pk, label="Brute-force")

    detail = _text(read_only_client.get(_url("anomaly_detail", guessed)).content.decode())
    listing = read_only_client.get(_url("anomaly_list"))

    assert "Key GUESS-GUESS-GUESS-GUESS of Unknown product 3105" in detail
    products = {f.pk: (str(p), p.known) for f, p in listing.context["rows"]}
    assert products == {guessed.pk: ("Unknown product 3105", False),
                        foreign.pk: (f"Unknown product {other_tenant.product.pk}", False)}
    assert other_tenant.product.name not in listing.content.decode()


def test_list_shows_the_product_of_key_findings_and_none_for_ip_findings(tenant, read_only_client):
    key = make_finding(tenant, score=30.0)
    ip = make_finding(tenant, subject_kind="ip", score=5.0)

    response = read_only_client.get(_url("anomaly_list"))

    assert [(f.pk, p and p.name) for f, p in response.context["rows"]] == [
        (key.pk, tenant.product.name), (ip.pk, None)]
    assert f'<span title="Product id {tenant.product.pk}">{tenant.product.name}</span>' in (
        response.content.decode())
    rows = response.context["page"]
    assert [f.pk for f in rows] == [key.pk, ip.pk]


def test_findings_csv_ends_with_the_product_name(tenant, read_only_client):
    make_finding(tenant)
    make_finding(tenant, subject="GUESS-GUESS-GUESS-GUESS", product_id=3105, score=1.0)

    lines = read_only_client.get(_url("anomaly_list"), {"format": "csv"}).content.decode()

    header, *rows = [line.split(",")[-1].strip() for line in lines.splitlines()]
    assert header == "Product"
    assert sorted(rows) == sorted([tenant.product.name, "Unknown product 3105"])
