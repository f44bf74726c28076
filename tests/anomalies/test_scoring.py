"""anomaly_detect: findings from the active detector, idempotent re-runs, the watermark."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.anomalies.models import AnomalySettings, DetectorVersion, Finding
from apps.anomalies.services import anomaly_detect, anomaly_model_train
from apps.usage.models import WebApiLog


@pytest.fixture
def trained(loaded, tenant, fake_training):
    anomaly_model_train(vendor=tenant.vendor)
    return loaded


def _signature(vendor) -> list[tuple]:
    return sorted(Finding.objects.for_vendor(vendor).values_list(
        "subject_kind", "subject", "label", "start", "end", "severity"))


def test_without_a_detector_nothing_is_scored(loaded, tenant):
    result = anomaly_detect(vendor=tenant.vendor)

    assert result.version is None and result.flagged == [] and result.groups == 0
    assert not Finding.objects.exists()


def test_detect_stores_findings_with_reasons_and_existing_log_rows(trained, tenant):
    result = anomaly_detect(vendor=tenant.vendor)

    findings = list(Finding.objects.for_vendor(tenant.vendor))
    assert result.rows == len(trained.frame)
    assert findings and len(findings) == len(result.created)
    assert all(f.reasons and f.groups and f.log_ids for f in findings)
    assert {f.subject_kind for f in findings} <= {"key", "ip"}
    logged = set(trained.frame.ids.tolist())
    assert all(set(f.log_ids) <= logged for f in findings)
    assert all(f.detector_version.status == "active" for f in findings)


def test_findings_point_at_the_injected_anomalies(trained, tenant):
    """Not a quality measure (that is the evaluation's job): the strongest findings hold rows
    of injected anomalies, so the service maps findings to the right log rows."""
    anomaly_detect(vendor=tenant.vendor)

    injected = {i for label in trained.labels for i in label.row_ids}
    strongest = Finding.objects.for_vendor(tenant.vendor).order_by("-score")[:3]
    assert all(set(f.log_ids) & injected for f in strongest)


def test_scoring_the_same_rows_again_creates_no_duplicates(trained, tenant):
    since = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    first = anomaly_detect(vendor=tenant.vendor, since=since)
    before = _signature(tenant.vendor)

    again = anomaly_detect(vendor=tenant.vendor, since=since)

    assert again.created == []
    assert len(again.updated) == len(first.created)
    assert _signature(tenant.vendor) == before


def test_the_next_run_starts_at_the_watermark(trained, tenant, settings):
    anomaly_detect(vendor=tenant.vendor)
    watermark = AnomalySettings.objects.get(vendor=tenant.vendor).scored_until
    assert watermark.timestamp() == pytest.approx(float(trained.frame.time.max()))

    second = anomaly_detect(vendor=tenant.vendor)

    overlap = settings.ANOMALY_RESCORE_OVERLAP_SECONDS
    expected = int((trained.frame.time >= watermark.timestamp() - overlap).sum())
    assert second.rows == expected < len(trained.frame)
    assert second.created == []


def test_a_finding_marked_expected_stays_expected_when_scored_again(trained, tenant):
    since = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    anomaly_detect(vendor=tenant.vendor, since=since)
    Finding.objects.for_vendor(tenant.vendor).update(status=Finding.Status.EXPECTED)

    anomaly_detect(vendor=tenant.vendor, since=since)

    assert set(Finding.objects.for_vendor(tenant.vendor).values_list("status", flat=True)) == {
        "expected"}


def test_scored_groups_cover_every_row(trained, tenant):
    blocks: list[list] = []
    result = anomaly_detect(vendor=tenant.vendor, on_groups=blocks.append)

    groups = [group for block in blocks for group in block]
    ids = {i for group in groups for i in group.log_ids}
    assert ids == set(trained.frame.ids.tolist())
    assert any(not group.anomaly for group in groups)
    assert len(groups) == result.groups
    assert [g.group for g in groups if g.anomaly] == [g.group for g in result.flagged]


def test_a_continuing_incident_widens_its_finding(trained, tenant):
    """The same subject flagged again right after its finding's end extends that finding."""
    anomaly_detect(vendor=tenant.vendor)
    finding = Finding.objects.for_vendor(tenant.vendor).order_by("-score").first()
    old_end = finding.end
    finding.end = finding.start  # as if the previous run had seen only its first hour
    finding.save()

    anomaly_detect(vendor=tenant.vendor, since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    finding.refresh_from_db()
    assert finding.end == old_end
    assert Finding.objects.filter(vendor=tenant.vendor, subject=finding.subject,
                                  label=finding.label, start=finding.start).count() == 1


@pytest.fixture(scope="session")
def early_detector():
    """A detector trained on the first two days of the tests' log only."""
    from apps.anomalies.detection import DetectorConfig, train_detector

    from .conftest import make_log

    frame = make_log().frame
    early = frame.take(frame.time < float(frame.time.min()) + 2 * 86400)
    return train_detector(early, config=DetectorConfig(seed=0))


def test_rows_since_training_are_the_history_of_new_windows(loaded, tenant, monkeypatch,
                                                             early_detector):
    """Scoring day 4 with a detector trained on days 1-2: day 3 is read as history, so day 4
    scores as the detector scores it in memory with day 3 as history (a machine first seen
    on day 3 is not new on day 4), not as it scores day 4 alone."""
    import apps.anomalies.detection as detection
    from apps.anomalies.services import log_frame

    monkeypatch.setattr(detection, "train_detector", lambda *a, **k: early_detector)
    anomaly_model_train(vendor=tenant.vendor)
    day_4 = dt.datetime.fromtimestamp(float(loaded.frame.time.min()) + 3 * 86400, tz=dt.UTC)
    blocks: list[list] = []

    result = anomaly_detect(vendor=tenant.vendor, since=day_4, on_groups=blocks.append)

    until = dt.datetime.fromtimestamp(early_detector.profile.until, tz=dt.UTC)
    day_3 = log_frame(vendor=tenant.vendor, since=until, until=day_4)
    frame = log_frame(vendor=tenant.vendor, since=day_4)
    with_history = {g.group: g.score for g in detection.score_groups(early_detector, frame,
                                                                       history=day_3)}
    alone = {g.group: g.score for g in detection.score_groups(early_detector, frame)}
    scored = {g.group: g.score for block in blocks for g in block}
    assert len(day_3) > 0 and result.rows == len(frame)
    assert scored == pytest.approx(with_history, rel=1e-6)
    assert scored != pytest.approx(alone, rel=1e-6)
    assert result.groups == len(scored)


def _incident(start_hour: int, end_hour: int, score: float, reasons: list[str], ids: list[int],
              severity: str = "low"):
    from apps.anomalies.detection import Incident

    t0 = dt.datetime(2026, 1, 7, tzinfo=dt.UTC).timestamp()
    return Incident("key", "AAAAA-BBBBB-CCCCC-DDDDD", 7, t0 + start_hour * 3600,
                    t0 + end_hour * 3600, score, severity, "Key sharing", reasons, ids,
                    [f"g{start_hour}"])


def test_an_incident_merges_into_the_finding_it_touches(tenant):
    from apps.anomalies.services.scoring import _store_incident

    version = DetectorVersion.objects.create(vendor=tenant.vendor, number=1, status="active")
    first, created = _store_incident(vendor=tenant.vendor, version=version, incident=_incident(
        10, 11, 5.0, ["12 requests in 1 hour"], [1, 2]))
    assert created

    _, created = _store_incident(vendor=tenant.vendor, version=version, incident=_incident(
        11, 12, 9.0, ["30 requests in 1 hour"], [3], severity="high"))
    _, again = _store_incident(vendor=tenant.vendor, version=version, incident=_incident(
        10, 11, 4.0, ["13 requests in 1 hour"], [2]))

    first.refresh_from_db()
    assert not created and not again
    assert (first.start.hour, first.end.hour) == (10, 12)
    assert (first.score, first.severity) == (9.0, "high")
    assert first.reasons == ["30 requests in 1 hour"]  # the strongest window's, no pile-up
    assert first.log_ids == [1, 2, 3] and first.groups == ["g10", "g11"]
    assert Finding.objects.count() == 1


def test_a_separate_incident_of_the_same_key_is_a_new_finding(tenant):
    from apps.anomalies.services.scoring import _store_incident

    version = DetectorVersion.objects.create(vendor=tenant.vendor, number=1, status="active")
    _store_incident(vendor=tenant.vendor, version=version,
                    incident=_incident(1, 2, 5.0, ["a"], [1]))
    _, created = _store_incident(vendor=tenant.vendor, version=version,
                                 incident=_incident(5, 6, 5.0, ["b"], [9]))

    assert created and Finding.objects.count() == 2


def test_the_first_run_scores_the_training_period_not_all_history(trained, tenant, settings):
    oldest = dt.datetime.fromtimestamp(float(trained.frame.time.min()), tz=dt.UTC)
    WebApiLog.objects.create(vendor=tenant.vendor, time=oldest - dt.timedelta(days=90),
                             state=1010, method="key.GetKey", key="OLD")

    result = anomaly_detect(vendor=tenant.vendor)

    assert settings.ANOMALY_TRAIN_DAYS < 90
    assert result.rows == len(trained.frame)


def test_rescoring_reaches_rows_older_than_the_watermark(trained, tenant):
    """A log imported after the watermark passed its times is scored by the rescoring that
    follows each training, not by the periodic runs."""
    from apps.anomalies.services import anomaly_rescore

    end = dt.datetime.fromtimestamp(float(trained.frame.time.max()), tz=dt.UTC)
    AnomalySettings.objects.filter(vendor=tenant.vendor).update(scored_until=end)

    periodic = anomaly_detect(vendor=tenant.vendor)
    rescored = anomaly_rescore(vendor=tenant.vendor)

    assert periodic.rows < len(trained.frame) == rescored.rows
    assert rescored.created


def test_a_new_finding_tells_the_vendors_webhooks_and_a_widened_one_does_not(tenant, settings):
    from apps.anomalies.services.scoring import _store_incident
    from apps.audit.log import Actor
    from apps.webhooks.models import WebhookEvent
    from apps.webhooks.services import endpoint_create

    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    endpoint_create(vendor=tenant.vendor, actor=Actor.for_system("test"),
                    url="http://127.0.0.1:9/hook", events=["anomaly.created"])
    version = DetectorVersion.objects.create(vendor=tenant.vendor, number=1, status="active")
    finding, _ = _store_incident(vendor=tenant.vendor, version=version,
                                 incident=_incident(1, 2, 5.0, ["a"], [1], severity="high"))
    _store_incident(vendor=tenant.vendor, version=version,
                    incident=_incident(2, 3, 6.0, ["b"], [2]))

    event = WebhookEvent.objects.get(type="anomaly.created")
    obj = event.payload["data"]["object"]
    assert (obj["Id"], obj["Label"], obj["Severity"]) == (finding.pk, "Key sharing", "high")
