"""The digest of new high-severity findings: one mail per vendor, never the same finding twice."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from apps.anomalies.models import AnomalySettings, Finding
from apps.anomalies.services import anomaly_detect, anomaly_digest_send, anomaly_model_train

from .test_findings import make_finding


def test_one_mail_lists_every_new_high_finding_for_owners_and_admins(tenant, mailoutbox):
    highs = [make_finding(tenant, subject=f"10.0.0.{n}", subject_kind="ip", score=10 + n)
             for n in range(3)]
    make_finding(tenant, severity="medium", subject="10.0.1.1", subject_kind="ip")
    make_finding(tenant, status="expected", subject="10.0.1.2", subject_kind="ip")
    make_finding(tenant, notified_at=timezone.now(), subject="10.0.1.3", subject_kind="ip")

    assert anomaly_digest_send(vendor=tenant.vendor) == 3

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert sorted(mail.to) == sorted([tenant.owner.email, tenant.admin.email])
    assert "3 new high-severity anomalies" in mail.subject
    for finding in highs:
        assert finding.subject in mail.body
        assert f"/anomalies/findings/{finding.pk}/" in mail.body
    assert "10.0.1." not in mail.body
    assert mail.alternatives and "text/html" in mail.alternatives[0][1]
    assert Finding.objects.filter(pk__in=[f.pk for f in highs], notified_at__isnull=True
                                  ).count() == 0


def test_a_second_run_sends_nothing(tenant, mailoutbox):
    make_finding(tenant)
    anomaly_digest_send(vendor=tenant.vendor)

    assert anomaly_digest_send(vendor=tenant.vendor) == 0
    assert len(mailoutbox) == 1


def test_each_vendor_gets_its_own_mail(tenant, other_tenant, mailoutbox):
    make_finding(tenant)
    make_finding(other_tenant)

    anomaly_digest_send(vendor=tenant.vendor)
    anomaly_digest_send(vendor=other_tenant.vendor)

    assert [m.to[0] in (tenant.owner.email, tenant.admin.email) for m in mailoutbox] == [
        True, False]
    assert tenant.key.key in mailoutbox[0].body and other_tenant.key.key not in mailoutbox[0].body


def test_detection_mails_new_high_findings_once(loaded, tenant, fake_training, mailoutbox,
                                               all_high, django_capture_on_commit_callbacks):
    anomaly_model_train(vendor=tenant.vendor)
    with django_capture_on_commit_callbacks(execute=True):
        anomaly_detect(vendor=tenant.vendor)
    highs = Finding.objects.for_vendor(tenant.vendor).filter(severity="high").count()
    assert highs and len(mailoutbox) == 1
    assert f"{highs} new high-severity" in mailoutbox[0].subject

    with django_capture_on_commit_callbacks(execute=True):
        anomaly_detect(vendor=tenant.vendor, since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert len(mailoutbox) == 1


def test_no_mail_when_the_vendor_turned_the_digest_off(loaded, tenant, fake_training, mailoutbox,
                                                       all_high,
                                                       django_capture_on_commit_callbacks):
    AnomalySettings.objects.create(vendor=tenant.vendor, email_digest=False)
    anomaly_model_train(vendor=tenant.vendor)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        anomaly_detect(vendor=tenant.vendor)

    assert Finding.objects.for_vendor(tenant.vendor).filter(severity="high").exists()
    assert callbacks == [] and mailoutbox == []


def test_the_digest_names_the_product_of_a_key_finding(tenant, mailoutbox):
    make_finding(tenant)
    make_finding(tenant, subject="GUESS-GUESS-GUESS-GUESS", product_id=3105, score=8.0)

    anomaly_digest_send(vendor=tenant.vendor)

    body, html = mailoutbox[0].body, mailoutbox[0].alternatives[0][0]
    assert f"Key {tenant.key.key} of {tenant.product.name}" in body
    assert "Key GUESS-GUESS-GUESS-GUESS of Unknown product 3105" in body
    assert f"of {tenant.product.name}" in html and "product 1" not in body
    assert f"(product {tenant.product.pk})" not in body
