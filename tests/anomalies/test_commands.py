"""Management commands: generate_license_logs, train_anomaly_model, detect_anomalies."""

from __future__ import annotations

import csv
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.anomalies.detection import COLUMNS
from apps.anomalies.management.commands.detect_anomalies import parse_since
from apps.anomalies.models import DetectorVersion, Finding
from apps.usage.models import WebApiLog

from .conftest import LOG_CUSTOMERS, LOG_DAYS, LOG_SEED

GROUP_KEYS = {"group", "kind", "key", "ip", "start", "end", "log_ids", "score", "anomaly",
              "reasons"}


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def generate(tmp_path, *extra) -> tuple:
    log, labels = tmp_path / "log.csv", tmp_path / "labels.json"
    run("generate_license_logs", "--days", str(LOG_DAYS), "--seed", str(LOG_SEED),
        "--customers", str(LOG_CUSTOMERS), "--anomalies-per-kind", "1", "--start", "2026-01-05",
        "--output", str(log), "--labels", str(labels), *extra)
    return log, labels


def test_generate_writes_the_import_format_and_labels(tmp_path):
    log, labels = generate(tmp_path)

    with open(log, newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == COLUMNS
    ids = [int(r[0]) for r in rows[1:]]
    assert ids == sorted(ids) and len(ids) > 1000
    found = json.loads(labels.read_text())
    assert {"key_sharing", "brute_force", "hammering"} <= {label["kind"] for label in found}
    assert all(set(label["row_ids"]) <= set(ids) for label in found)


def test_same_seed_same_log(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, _ = generate(tmp_path / "a")
    second, _ = generate(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()


def test_generate_into_a_vendor_keeps_file_labels_and_database_in_step(tmp_path, tenant):
    WebApiLog.objects.create(vendor=tenant.vendor, state=1010, method="key.GetKey")
    taken = WebApiLog.objects.get().pk

    log, labels = generate(tmp_path, "--vendor", tenant.owner.email)

    with open(log, newline="") as handle:
        ids = {int(r[0]) for r in list(csv.reader(handle))[1:]}
    stored = set(WebApiLog.objects.for_vendor(tenant.vendor).exclude(pk=taken)
                 .values_list("pk", flat=True))
    assert stored == ids and min(ids) > taken
    assert all(set(label["row_ids"]) <= ids for label in json.loads(labels.read_text()))


def test_generate_needs_an_output_or_a_vendor():
    with pytest.raises(CommandError, match="--output"):
        run("generate_license_logs", "--days", "1")


def test_unknown_vendor_is_refused(db):
    with pytest.raises(CommandError, match="owns no vendor"):
        run("train_anomaly_model", "--vendor", "nobody@example.com")


def test_train_command_reports_the_new_version(some_rows, tenant, fake_training):
    out = run("train_anomaly_model", "--vendor", tenant.owner.email)

    assert "detector v1 active" in out
    assert DetectorVersion.objects.for_vendor(tenant.vendor).active().exists()


def test_train_command_failure_says_the_old_model_stays(tenant):
    with pytest.raises(CommandError, match="previous detector stays active"):
        run("train_anomaly_model", "--vendor", tenant.owner.email)


def test_detect_trains_when_needed_and_writes_every_group(tmp_path, tenant, fake_training):
    log, _ = generate(tmp_path)
    run("import_webapi_log", str(log), "--vendor", tenant.owner.email)
    with open(log, newline="") as handle:
        file_ids = {int(r[0]) for r in list(csv.reader(handle))[1:]}
    output = tmp_path / "groups.jsonl"

    out = run("detect_anomalies", "--vendor", tenant.owner.email, "--output", str(output))

    groups = [json.loads(line) for line in output.read_text().splitlines()]
    assert groups and all(set(group) == GROUP_KEYS for group in groups)
    assert {i for g in groups for i in g["log_ids"]} == file_ids
    assert any(g["anomaly"] for g in groups) and any(not g["anomaly"] for g in groups)
    assert all(g["reasons"] for g in groups if g["anomaly"])
    assert {g["kind"] for g in groups} == {"key", "ip"}
    assert len(fake_training.rows) == 1  # trained once, because there was no detector
    assert f"{len(groups)} groups" in out


def test_detect_run_twice_adds_no_findings(loaded, tenant, fake_training):
    run("detect_anomalies", "--vendor", tenant.owner.email)
    count = Finding.objects.for_vendor(tenant.vendor).count()

    out = run("detect_anomalies", "--vendor", tenant.owner.email, "--since", "2026-01-01")

    assert count and Finding.objects.for_vendor(tenant.vendor).count() == count
    assert "0 new finding(s)" in out


def test_detect_without_a_trainable_log_fails_clearly(tenant):
    with pytest.raises(CommandError, match="No detector could be trained"):
        run("detect_anomalies", "--vendor", tenant.owner.email)


@pytest.mark.parametrize("value, unix", [
    ("1767571200", 1767571200), ("2026-01-05", 1767571200),
    ("2026-01-05T01:00:00Z", 1767574800), ("2026-01-05T02:00:00+01:00", 1767574800)])
def test_since_takes_unix_seconds_or_iso(value, unix):
    assert parse_since(value).timestamp() == unix


def test_since_refuses_nonsense():
    with pytest.raises(CommandError):
        parse_since("last tuesday")


def test_evaluation_prints_the_three_detectors_clean_and_contaminated(tmp_path):
    results = tmp_path / "evaluation.json"

    out = run("evaluate_anomaly_detector", "--seeds", "3", "--days", "6", "--train-days", "4",
              "--customers", "20", "--json", str(results))

    for scenario in ("clean", "contaminated"):
        for detector in ("autoencoder", "iforest", "ecod"):
            assert any(line.split()[:2] == [scenario, detector] for line in out.splitlines())
    assert "recall by kind" in out and "key_sharing" in out
    rows = json.loads(results.read_text())
    assert len(rows) == 6
    assert {(r["scenario"], r["detector"]) for r in rows} == {
        (s, d) for s in ("clean", "contaminated") for d in ("autoencoder", "iforest", "ecod")}
    assert all(0 <= r["roc_auc"] <= 1 and 0 <= r["average_precision"] <= 1 for r in rows)


def test_detect_that_cannot_train_leaves_no_output_file(tenant, tmp_path):
    output = tmp_path / "groups.jsonl"

    with pytest.raises(CommandError, match="No detector could be trained"):
        run("detect_anomalies", "--vendor", tenant.owner.email, "--output", str(output))

    assert list(tmp_path.iterdir()) == []
