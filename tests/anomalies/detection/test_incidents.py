"""Merging flagged windows into incidents, and findings explained in words."""

from __future__ import annotations

import numpy as np

from apps.anomalies.detection import ScoredGroup, merge_incidents
from apps.anomalies.detection.explain import label_for, reasons_for
from apps.anomalies.detection.features import FEATURES

H = 3600.0


def group(start: float, *, key: str = "K1", score: float = 10.0, anomaly: bool = True,
          label: str = "Key sharing", ids: tuple[int, ...] = (1,)) -> ScoredGroup:
    return ScoredGroup(f"key:1:{key}:{int(start)}", "key", key, None, 1, start, start + H,
                       list(ids), score, anomaly, [f"reason {start}"], threshold=5.0,
                       label=label)


def test_consecutive_flagged_windows_of_one_key_make_one_incident() -> None:
    scored = [group(0, ids=(1, 2)), group(H, score=20, ids=(3,)), group(2 * H, ids=(4,))]
    [incident] = merge_incidents(scored)
    assert (incident.start, incident.end) == (0, 3 * H)
    assert incident.log_ids == [1, 2, 3, 4]
    assert incident.score == 20
    assert incident.groups == [g.group for g in scored]
    assert incident.reasons == ["reason 3600.0"]  # from the highest-scoring window
    assert (incident.kind, incident.subject, incident.product_id) == ("key", "K1", 1)


def test_a_gap_other_keys_and_unflagged_windows_split_or_drop() -> None:
    scored = [group(0), group(3 * H), group(0, key="K2"), group(H, anomaly=False)]
    incidents = merge_incidents(scored, gap_seconds=0)
    assert len(incidents) == 3
    assert len(merge_incidents(scored, gap_seconds=2 * H)) == 2


def test_severity_from_distance_above_threshold_and_majority_label() -> None:
    scored = [group(0, score=16, label="Seat churn"), group(H, score=6, label="Seat churn"),
              group(2 * H, score=6, label="Key sharing")]
    [incident] = merge_incidents(scored)
    assert incident.severity == "high"  # 16 / 5 >= 3
    assert incident.label == "Seat churn"
    assert merge_incidents([group(0, score=8)])[0].severity == "medium"
    assert merge_incidents([group(0, score=6)])[0].severity == "low"


def test_as_json_has_exactly_the_issue_fields() -> None:
    g = group(1_767_225_600)
    data = g.as_json()
    assert list(data) == ["group", "kind", "key", "ip", "start", "end", "log_ids", "score",
                          "anomaly", "reasons"]
    assert data["start"] == "2026-01-01T00:00:00Z"
    assert data["end"] == "2026-01-01T01:00:00Z"


def _raw(**values: float) -> np.ndarray:
    raw = np.zeros(len(FEATURES))
    for name, value in values.items():
        raw[FEATURES.index(name)] = value
    return raw


def test_reasons_are_sentences_with_the_usual_range() -> None:
    raw = _raw(new_machines=41, countries=9, requests=60)
    contrib = _raw(new_machines=50, countries=20, requests=1)
    usual = np.zeros((len(FEATURES), 2))
    usual[FEATURES.index("new_machines")] = (0, 1)
    usual[FEATURES.index("countries")] = (1, 1)
    usual[FEATURES.index("requests")] = (1, 80)
    reasons = reasons_for(raw, contrib, usual, kind=0, hour=3, window="1 hour")
    assert reasons[0] == "41 new machine codes in 1 hour (usual: 0-1)"
    assert reasons[1] == "9 distinct countries in 1 hour (usual: 1-1)"
    assert len(reasons) == 3


def test_labels_follow_the_features_that_carry_the_error() -> None:
    assert label_for(_raw(unknown_key_ratio=5, keys=9), kind=1) == "Brute-force key guessing"
    assert label_for(_raw(new_machines=5, countries=5, limit_ratio=3), kind=0) == "Key sharing"
    assert label_for(_raw(churn=6, deactivations=5), kind=0) == "Seat churn"
    assert label_for(_raw(failures=9), kind=1, raw=_raw(unknown_key_ratio=0.9, keys=400)) == \
        "Brute-force key guessing"
    assert label_for(_raw(floating_refused_ratio=8), kind=0) == "Floating seats exhausted"
    assert label_for(_raw(hour_typicality=9, new_countries=2), kind=0) == \
        "Off-hours use from a new country"
    night = _raw(foreign_new_machines=1, machines=1, hour_typicality=0.05)
    assert label_for(_raw(), kind=0, raw=night) == "Off-hours use from a new country"
    leak = _raw(recent_machines=12, countries=7, machines=12, hour_typicality=1)
    assert label_for(_raw(), kind=0, raw=leak) == "Key sharing"
    assert label_for(_raw(requests=4, relative_volume=6, regularity=5), kind=0) == \
        "API hammering"
    assert label_for(_raw(failure_ratio=5, failure_surprise=5), kind=0) == \
        "Failed verifications"


def test_ip_findings_inside_a_key_finding_fold_into_it() -> None:
    key = [group(0, ids=(1, 2, 3))]
    ip = ScoredGroup("ip:9.9.9.9:0", "ip", None, "9.9.9.9", None, 0, H, [2], 9.0, True,
                     ["x"], threshold=5.0, label="Key sharing")
    other_ip = ScoredGroup("ip:8.8.8.8:0", "ip", None, "8.8.8.8", None, 0, H, [2, 99], 9.0,
                           True, ["x"], threshold=5.0, label="Key sharing")
    incidents = merge_incidents([*key, ip, other_ip])
    assert [i.kind for i in incidents] == ["key", "ip"]
    assert "ip:9.9.9.9:0" in incidents[0].groups
