"""Reviewing findings: block the key (through the key service), mark as expected; settings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from apps.anomalies.models import AnomalySettings, Finding
from apps.anomalies.services import (
    anomaly_settings_update,
    finding_block_key,
    finding_mark_expected,
)
from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError


def make_finding(tenant, *, subject_kind: str = "key", subject: str | None = None,
                 **fields) -> Finding:
    start = dt.datetime(2026, 1, 7, 10, tzinfo=dt.UTC)
    defaults = {"label": "Key sharing", "start": start, "end": start + dt.timedelta(hours=3),
                "score": 9.0, "severity": "high", "reasons": ["12 distinct countries in 1 hour"],
                "groups": ["g1", "g2"], "log_ids": [1, 2, 3],
                "product_id": tenant.product.pk if subject_kind == "key" else None}
    return Finding.objects.create(
        vendor=tenant.vendor, subject_kind=subject_kind,
        subject=subject or (tenant.key.key if subject_kind == "key" else "198.51.100.7"),
        **{**defaults, **fields})


def _log(tenant, obj) -> list[str]:
    return list(ObjectLogEntry.objects.for_vendor(tenant.vendor).filter(
        object_type=obj._meta.label_lower, object_id=str(obj.pk)).values_list("action",
                                                                               flat=True))


def test_blocking_a_findings_key_blocks_it_through_the_key_service(tenant, tenant_token):
    finding = make_finding(tenant)

    key = finding_block_key(finding=finding, actor=Actor.for_user(tenant.owner))

    tenant.key.refresh_from_db()
    finding.refresh_from_db()
    assert key == tenant.key and tenant.key.block
    assert finding.status == Finding.Status.CONFIRMED
    assert _log(tenant, tenant.key)[0] == "blocked"  # newest first, after "created"
    assert _log(tenant, finding) == ["marked confirmed"]
    body = Client().post("/api/key/GetKey", {
        "token": tenant_token.token_string, "ProductId": tenant.product.pk,
        "Key": tenant.key.key}).json()
    assert body["result"] == 0, body
    assert body["licenseKey"]["block"] is True


def test_an_ip_finding_has_no_key_to_block(tenant):
    finding = make_finding(tenant, subject_kind="ip", label="Brute-force key guessing")

    with pytest.raises(DomainError, match="not about one of your license keys"):
        finding_block_key(finding=finding, actor=Actor.for_user(tenant.owner))

    assert Finding.objects.get(pk=finding.pk).status == Finding.Status.NEW


def test_a_key_of_another_vendor_is_never_blocked(tenant, other_tenant):
    finding = make_finding(tenant, subject=other_tenant.key.key, product_id=None)

    with pytest.raises(DomainError):
        finding_block_key(finding=finding, actor=Actor.for_user(tenant.owner))

    other_tenant.key.refresh_from_db()
    assert not other_tenant.key.block


def test_marking_expected_is_logged_once(tenant):
    finding = make_finding(tenant)
    actor = Actor.for_user(tenant.admin)

    finding_mark_expected(finding=finding, actor=actor)
    finding_mark_expected(finding=finding, actor=actor)

    finding.refresh_from_db()
    assert finding.status == Finding.Status.EXPECTED
    assert _log(tenant, finding) == ["marked expected"]


def test_settings_change_is_logged_with_its_difference(tenant):
    row = anomaly_settings_update(vendor=tenant.vendor, actor=Actor.for_user(tenant.owner),
                                  sensitivity=8.0, email_digest=False)

    assert (row.sensitivity, row.email_digest) == (8.0, False)
    entry = ObjectLogEntry.objects.for_vendor(tenant.vendor).get(
        object_type="anomalies.anomalysettings")
    assert entry.changes == {"sensitivity": [1.5, 8.0], "email_digest": [True, False]}


def test_settings_unchanged_write_nothing(tenant):
    anomaly_settings_update(vendor=tenant.vendor, actor=Actor.for_user(tenant.owner),
                            sensitivity=1.5)

    assert AnomalySettings.objects.filter(vendor=tenant.vendor).exists()
    assert not ObjectLogEntry.objects.filter(object_type="anomalies.anomalysettings").exists()


def test_unknown_setting_is_a_programming_error(tenant):
    with pytest.raises(TypeError):
        anomaly_settings_update(vendor=tenant.vendor, actor=Actor.for_user(tenant.owner),
                                scored_until=None)
