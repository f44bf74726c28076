"""Merging flagged windows into incidents, and findings explained in words."""

from __future__ import annotations

from apps.anomalies.detection import ScoredGroup, merge_incidents

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


def test_an_incident_is_explained_by_a_window_with_its_label() -> None:
    """The reasons of the top window argue for its own label; under the incident's (majority)
    label they would not match, so the best window with that label explains it."""
    scored = [group(0, score=8, label="Seat churn"), group(H, score=20, label="API hammering"),
              group(2 * H, score=9, label="Seat churn")]
    [incident] = merge_incidents(scored)
    assert incident.label == "Seat churn"
    assert incident.reasons == ["reason 7200.0"]
    assert incident.score == 20


def test_unusual_activity_does_not_outvote_a_specific_label() -> None:
    scored = [group(0, label="Unusual activity"), group(H, label="Unusual activity"),
              group(2 * H, score=6, label="Key sharing")]
    [incident] = merge_incidents(scored)
    assert (incident.label, incident.reasons) == ("Key sharing", ["reason 7200.0"])
    [alone] = merge_incidents([group(0, label="")])
    assert alone.label == "Unusual activity"


def test_ip_findings_inside_a_key_finding_fold_into_it() -> None:
    key = [group(0, ids=(1, 2, 3))]
    ip = ScoredGroup("ip:9.9.9.9:0", "ip", None, "9.9.9.9", None, 0, H, [2], 9.0, True,
                     ["x"], threshold=5.0, label="Key sharing")
    other_ip = ScoredGroup("ip:8.8.8.8:0", "ip", None, "8.8.8.8", None, 0, H, [2, 99], 9.0,
                           True, ["x"], threshold=5.0, label="Key sharing")
    incidents = merge_incidents([*key, ip, other_ip])
    assert [i.kind for i in incidents] == ["key", "ip"]
    assert "ip:9.9.9.9:0" in incidents[0].groups
