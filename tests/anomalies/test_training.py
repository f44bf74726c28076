"""anomaly_model_train: versions, the active one, failures that keep the last good model, and
reviewed findings kept out of training."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from apps.anomalies.models import DetectorVersion, Finding
from apps.anomalies.services import anomaly_model_train, excluded_groups
from apps.usage.models import WebApiLog

from .conftest import load_log


def _finding(vendor, status: str, groups: list[str], subject: str = "AAAAA-BBBBB-CCCCC-DDDDD"
             ) -> Finding:
    start = dt.datetime(2026, 1, 7, 10, tzinfo=dt.UTC)
    return Finding.objects.create(
        vendor=vendor, subject_kind="key", subject=subject, label="Key sharing",
        start=start, end=start + dt.timedelta(hours=1), score=5.0, severity="high",
        status=status, groups=groups)


def test_training_stores_an_active_version_with_its_metadata(some_rows, tenant, fake_training):
    version = anomaly_model_train(vendor=tenant.vendor)

    assert version.status == DetectorVersion.Status.ACTIVE
    assert version.number == 1
    assert version.rows_trained == len(some_rows.frame) == fake_training.rows[0]
    assert bytes(version.blob).startswith(b"LPAD1")
    assert version.metadata["threshold"] == pytest.approx(version.threshold)
    assert version.metadata["train_loss"] and version.metadata["score_histogram"]["counts"]


def test_a_new_version_supersedes_the_active_one(some_rows, tenant, fake_training):
    first = anomaly_model_train(vendor=tenant.vendor)
    second = anomaly_model_train(vendor=tenant.vendor)

    first.refresh_from_db()
    assert (first.status, second.status) == ("superseded", "active")
    assert second.number == 2
    assert list(DetectorVersion.objects.for_vendor(tenant.vendor).active()) == [second]


def test_training_error_is_recorded_and_the_previous_model_stays_active(
        some_rows, tenant, fake_training, monkeypatch):
    import apps.anomalies.detection as detection

    good = anomaly_model_train(vendor=tenant.vendor)

    def fail(*args, **kwargs):
        raise detection.TrainingError("Too few windows after cleaning")

    monkeypatch.setattr(detection, "train_detector", fail)
    failed = anomaly_model_train(vendor=tenant.vendor)

    good.refresh_from_db()
    assert failed.status == DetectorVersion.Status.FAILED
    assert failed.error == "Too few windows after cleaning"
    assert failed.blob is None
    assert good.status == DetectorVersion.Status.ACTIVE


def test_an_unexpected_crash_is_recorded_then_raised(some_rows, tenant, fake_training, monkeypatch):
    import apps.anomalies.detection as detection

    good = anomaly_model_train(vendor=tenant.vendor)
    monkeypatch.setattr(detection, "train_detector",
                        lambda *a, **k: (_ for _ in ()).throw(MemoryError("out of memory")))

    with pytest.raises(MemoryError):
        anomaly_model_train(vendor=tenant.vendor)

    assert DetectorVersion.objects.get(vendor=tenant.vendor, number=2).error == "out of memory"
    assert DetectorVersion.objects.for_vendor(tenant.vendor).active().get() == good


def test_too_little_data_fails_for_real_and_keeps_the_model(some_rows, tenant, fake_training,
                                                           monkeypatch):
    """A real training (not the stand-in) on a log of a few rows is refused by the detector."""
    import apps.anomalies.detection as detection
    from apps.anomalies.detection.detector import train_detector as real_train

    good = anomaly_model_train(vendor=tenant.vendor)
    monkeypatch.setattr(detection, "train_detector", real_train)
    WebApiLog.objects.filter(vendor=tenant.vendor).exclude(
        pk__in=some_rows.frame.ids[:50].tolist()).delete()

    failed = anomaly_model_train(vendor=tenant.vendor)

    assert failed.status == DetectorVersion.Status.FAILED
    assert failed.rows_trained == 50
    assert failed.error
    assert DetectorVersion.objects.for_vendor(tenant.vendor).active().get() == good


def test_no_log_at_all_is_a_failed_training_not_a_crash(tenant):
    version = anomaly_model_train(vendor=tenant.vendor)

    assert version.status == DetectorVersion.Status.FAILED
    assert version.rows_trained == 0
    assert not DetectorVersion.objects.for_vendor(tenant.vendor).active().exists()


def test_reviewed_findings_are_left_out_of_the_next_training(some_rows, tenant, fake_training):
    _finding(tenant.vendor, "expected", ["key:1:A:100", "key:1:A:200"])
    _finding(tenant.vendor, "confirmed", ["ip:1.2.3.4:300"], subject="1.2.3.4")
    _finding(tenant.vendor, "new", ["key:1:B:400"], subject="BBBBB-BBBBB-CCCCC-DDDDD")

    version = anomaly_model_train(vendor=tenant.vendor)

    assert fake_training.excluded == [frozenset({"key:1:A:100", "key:1:A:200",
                                                 "ip:1.2.3.4:300"})]
    assert version.excluded_groups == 3


def test_other_vendors_findings_do_not_change_the_exclusions(tenant, other_tenant):
    _finding(other_tenant.vendor, "expected", ["key:9:Z:1"])
    assert excluded_groups(vendor=tenant.vendor) == frozenset()


def test_a_vendor_has_at_most_one_active_version(tenant):
    DetectorVersion.objects.create(vendor=tenant.vendor, number=1, status="active")
    with pytest.raises(IntegrityError), transaction.atomic():
        DetectorVersion.objects.create(vendor=tenant.vendor, number=2, status="active")


def test_the_generated_log_trains_for_real_under_the_services(tenant, other_tenant):
    """One real training through the service, on another vendor's copy of the log: the rows
    are read from the database as the detector expects them."""
    log = load_log(other_tenant.vendor)

    version = anomaly_model_train(vendor=other_tenant.vendor)

    assert version.status == DetectorVersion.Status.ACTIVE, version.error
    assert version.rows_trained == len(log.frame)
    assert version.metadata["n_rows"] == len(log.frame)


def test_marking_a_finding_expected_keeps_its_windows_out_of_the_next_training(
        some_rows, tenant, fake_training):
    from apps.anomalies.services import finding_mark_expected
    from apps.audit.log import Actor

    finding = _finding(tenant.vendor, "new", ["key:1:A:100", "ip:10.0.0.1:100"])
    anomaly_model_train(vendor=tenant.vendor)
    finding_mark_expected(finding=finding, actor=Actor.for_user(tenant.owner))
    anomaly_model_train(vendor=tenant.vendor)

    assert fake_training.excluded == [frozenset(), frozenset(finding.groups)]


def test_a_new_detector_rescores_its_training_period_after_commit(
        loaded, tenant, fake_training, django_capture_on_commit_callbacks):
    from apps.anomalies.models import AnomalySettings

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        version = anomaly_model_train(vendor=tenant.vendor)

    assert callbacks  # the rescoring (and the digest it queues in turn)
    findings = Finding.objects.for_vendor(tenant.vendor)
    assert findings.exists() and {f.detector_version_id for f in findings} == {version.pk}
    assert AnomalySettings.objects.get(vendor=tenant.vendor).scored_until is not None


def test_a_failed_training_queues_no_rescoring(tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        anomaly_model_train(vendor=tenant.vendor)

    assert callbacks == []
