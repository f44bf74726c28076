"""Training and scoring end to end on a small generated log (one injected key-sharing burst
after the training days), plus determinism, persistence and training hygiene."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from apps.anomalies.detection import (
    DetectorConfig,
    TrainedDetector,
    TrainingError,
    merge_incidents,
    score_groups,
    train_detector,
)
from apps.anomalies.detection.detector import select_training_windows
from apps.anomalies.detection.features import FEATURES, featurise
from apps.anomalies.detection.history import Profile
from apps.anomalies.detection.model import RobustScaler
from apps.anomalies.detection.scoring import score_windows
from apps.anomalies.detection.synthetic import SyntheticLog

from .conftest import SMALL, small_log, split


def test_injected_key_sharing_is_flagged_and_normal_days_are_quiet(
        sharing_log: SyntheticLog, trained: TrainedDetector) -> None:
    _, test = split(sharing_log.frame)
    scored = score_groups(trained, test)
    label = sharing_log.labels[0]
    shared = {i for i in label.row_ids}
    hits = [g for g in scored if g.anomaly and g.key == label.key and shared & set(g.log_ids)]
    assert hits
    false = [i for i in merge_incidents(scored) if not shared & set(i.log_ids)]
    days = (test.time.max() - test.time.min()) / 86400
    assert len(false) / days <= 5
    assert any(i.label == "Key sharing" for i in merge_incidents(hits))


def test_every_group_is_scored_with_its_log_ids(sharing_log: SyntheticLog,
                                                trained: TrainedDetector) -> None:
    _, test = split(sharing_log.frame)
    scored = score_groups(trained, test)
    ip_ids = sorted(i for g in scored if g.kind == "ip" for i in g.log_ids)
    assert ip_ids == sorted(test.ids.tolist())  # every row with an IP is in one IP window
    assert {g.kind for g in scored} == {"key", "ip"}
    assert len({g.group for g in scored}) == len(scored)


def test_metadata_reports_threshold_and_measured_false_positive_rate(
        trained: TrainedDetector) -> None:
    m = trained.metadata
    assert m["threshold"] == trained.threshold > 0
    assert "held-out training scores" in m["threshold_method"]
    assert 0 <= m["false_positive_rate"] < 0.01
    assert len(m["train_loss"]) == SMALL.epochs
    assert sum(m["score_histogram"]["counts"]) == m["n_holdout_windows"]
    assert m["n_training_windows"] + m["n_holdout_windows"] <= m["n_windows"]


def test_same_seed_gives_identical_scores() -> None:
    log = small_log(days=6, customers=40, seed=5)
    train, test = split(log.frame)
    config = dataclasses.replace(SMALL, epochs=3)
    a = score_windows(train_detector(train, config=config), test).scores
    b = score_windows(train_detector(train, config=config), test).scores
    assert np.array_equal(a, b)


def test_bytes_round_trip_gives_identical_scores(sharing_log: SyntheticLog,
                                                 trained: TrainedDetector) -> None:
    _, test = split(sharing_log.frame)
    blob = trained.to_bytes()
    assert isinstance(blob, bytes)
    again = TrainedDetector.from_bytes(blob)
    assert again.metadata == trained.metadata
    assert again.config == trained.config
    assert np.array_equal(score_windows(again, test).scores,
                          score_windows(trained, test).scores)


def test_history_frame_makes_known_machines_not_new(sharing_log: SyntheticLog,
                                                    trained: TrainedDetector) -> None:
    _, test = split(sharing_log.frame)
    cut = float(test.time.min()) + 86400
    before, after = test.take(test.time < cut), test.take(test.time >= cut)
    with_history = score_windows(trained, after, history=before)
    alone = score_windows(trained, after)
    assert len(with_history.windows) == len(alone.windows)
    new = FEATURES.index("new_machines")
    assert with_history.windows.raw[:, new].sum() < alone.windows.raw[:, new].sum()


def _selection(log: SyntheticLog, config: DetectorConfig, exclude: frozenset[str]):
    train, _ = split(log.frame)
    w = featurise(train, window_seconds=3600, profile=Profile()).windows
    x = RobustScaler.fit(w.features).transform(w.features)
    ids = w.group_ids()
    span = (float(train.time.min()), float(train.time.max()))
    return ids, select_training_windows(span, ids, w.start, x, config, exclude)


def test_vendor_marked_groups_are_never_trained_on(sharing_log: SyntheticLog) -> None:
    ids, sel = _selection(sharing_log, SMALL, frozenset())
    marked = frozenset(ids[i] for i in sel.fit[:50])
    ids, sel = _selection(sharing_log, SMALL, marked)
    used = {ids[i] for i in np.r_[sel.fit, sel.holdout]}
    assert not used & marked
    assert sel.marked.sum() == 50


@pytest.mark.parametrize("method", ["ecod", "iforest"])
def test_hygiene_drops_the_configured_share(sharing_log: SyntheticLog, method: str) -> None:
    config = dataclasses.replace(SMALL, hygiene=method, contamination=0.1)
    _, sel = _selection(sharing_log, config, frozenset())
    n = int(sel.candidates.sum())
    n_hold = int(n * config.holdout_fraction)
    # the same share leaves the training windows and the threshold's held-out windows
    assert len(sel.dropped) == round(0.1 * (n - n_hold)) + round(0.1 * n_hold)
    assert len(sel.fit) + len(sel.holdout) + len(sel.dropped) == n
    assert not set(sel.dropped) & set(sel.fit)
    assert not set(sel.holdout) & set(sel.fit)


def test_too_little_data_raises_a_clear_training_error(sharing_log: SyntheticLog) -> None:
    tiny = sharing_log.frame.take(np.arange(100))
    with pytest.raises(TrainingError, match="Too little log data"):
        train_detector(tiny, config=SMALL)
    day = sharing_log.frame.take(sharing_log.frame.time < sharing_log.frame.time.min() + 86400)
    with pytest.raises(TrainingError, match="Too few usable log windows"):
        train_detector(day, config=dataclasses.replace(SMALL, min_windows=5000))


def test_hygiene_ranks_persistent_oddities_above_single_windows() -> None:
    from apps.anomalies.detection.detector import persistent_scores

    # entity 1: one odd window alone; entity 2: three odd windows in a row.
    entity = np.array([1, 1, 1, 2, 2, 2, 3])
    start = np.array([0, 10, 20, 5, 6, 7, 0]) * 3600.0
    scores = np.array([1.0, 9.0, 1.0, 8.0, 7.0, 8.0, 5.0])
    out = persistent_scores(scores, entity, start, 3600, 3)
    assert out[1] == -np.inf  # no window of entity 1 within 3 hours of it
    assert list(out[3:6]) == [8.0, 7.0, 8.0]  # each capped by its best neighbour
    assert out[6] == -np.inf  # an entity with one window has nothing to sustain it
