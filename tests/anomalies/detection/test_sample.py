"""Training memory is bounded: beyond `max_windows` the detector keeps a sample of whole keys and
IPs, whatever the size of the log; below it, training is that of every window, bit for bit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from apps.anomalies.detection import (
    DetectorConfig,
    TrainedDetector,
    TrainingWindows,
    merge_incidents,
    score_groups,
    train_detector,
)
from apps.anomalies.detection.chunks import LogChunk, known_key_hashes
from apps.anomalies.detection.features import FEATURES, Windows, featurise
from apps.anomalies.detection.history import Profile, build_profile
from apps.anomalies.detection.sample import entity_priority
from apps.anomalies.detection.scoring import score_windows
from apps.anomalies.detection.synthetic import SyntheticLog

from .conftest import SMALL, small_log, split
from .test_stream import chunks

CAP = 4000  # a third of the sharing log's ~12,700 training windows


def windows_of(frame, *, max_windows: int, seed: int = 0, chunk: int | None = None,
               block_rows: int = 3000) -> TrainingWindows:
    if chunk is None:
        return TrainingWindows.from_frame(frame, 3600, max_windows=max_windows, seed=seed)
    return TrainingWindows.from_chunks(
        chunks(frame, chunk), known_keys=known_key_hashes(LogChunk.from_frame(frame)),
        window_seconds=3600, block_rows=block_rows, max_windows=max_windows, seed=seed)


def per_entity(w: Windows) -> dict[int, int]:
    hashes, counts = np.unique(w.entity_hash, return_counts=True)
    return dict(zip(hashes.tolist(), counts.tolist(), strict=True))


def sample_bytes(w: Windows) -> int:
    return sum(a.nbytes for a in (w.kind, w.subject, w.product_id, w.start, w.end,
                                  w.entity_hash, w.hod, w.order, w.offsets, w.raw, w.features))


def assert_same_detector(a: TrainedDetector, b: TrainedDetector) -> None:
    assert a.threshold == b.threshold
    assert np.array_equal(a.reference, b.reference)
    assert np.array_equal(a.scaler.median, b.scaler.median)
    for name, value in a.profile.arrays().items():
        assert np.array_equal(value, b.profile.arrays()[name]), name
    for name, weights in a.model.state_dict().items():
        assert np.array_equal(weights.numpy(), b.model.state_dict()[name].numpy()), name


@pytest.fixture(scope="module")
def train_frame(sharing_log: SyntheticLog):
    return split(sharing_log.frame)[0]


def test_under_the_cap_every_window_is_kept_with_the_profile_of_all_windows(train_frame):
    whole = featurise(train_frame, window_seconds=3600, profile=Profile())
    w = whole.windows

    data = windows_of(train_frame, max_windows=len(w), chunk=700)

    kept = data.featurised.windows
    assert data.n_windows == len(kept) == len(w)
    assert np.array_equal(kept.features, w.features) and np.array_equal(kept.raw, w.raw)
    assert np.array_equal(kept.entity_hash, w.entity_hash)
    # The profile summed as the windows streamed by is the one built from every window.
    expected = build_profile(
        entity_hash=w.entity_hash, n=w.raw[:, 0].astype(np.float64),
        fails=(w.raw[:, 0] * w.raw[:, FEATURES.index("failure_ratio")]).astype(np.float64),
        hod=w.hod, kind=w.kind, pairs=whole.pairs, known_keys=whole.known_keys,
        until=float(train_frame.time.max()))
    for name, value in expected.arrays().items():
        assert np.array_equal(data.profile.arrays()[name], value), name


def test_under_the_cap_the_detector_is_the_one_trained_on_every_window(train_frame):
    config = dataclasses.replace(SMALL, epochs=2)
    n_windows = windows_of(train_frame, max_windows=10**9).n_windows

    at_cap = train_detector(train_frame, config=dataclasses.replace(config,
                                                                    max_windows=n_windows))
    unbounded = train_detector(train_frame, config=dataclasses.replace(config,
                                                                       max_windows=10**9))

    assert_same_detector(at_cap, unbounded)
    assert at_cap.metadata["n_sampled_windows"] == at_cap.metadata["n_windows"] == n_windows


def test_above_the_cap_only_cap_windows_of_whole_entities_are_kept(train_frame):
    everything = windows_of(train_frame, max_windows=10**9)
    all_windows = everything.featurised.windows
    assert len(all_windows) > 3 * CAP

    data = windows_of(train_frame, max_windows=CAP, chunk=500)

    kept = data.featurised.windows
    assert 0.8 * CAP < len(kept) <= CAP
    assert data.n_windows == len(all_windows)  # counted, not kept
    full, sampled = per_entity(all_windows), per_entity(kept)
    assert all(full[h] == n for h, n in sampled.items())  # every window of a kept entity
    # ... featurised as in the whole log: history features relative to every window's volumes.
    where = {(h, t): i for i, (h, t) in enumerate(zip(all_windows.entity_hash.tolist(),
                                                      all_windows.start.tolist(), strict=True))}
    same = np.array([where[h, t] for h, t in zip(kept.entity_hash.tolist(), kept.start.tolist(),
                                                 strict=True)])
    assert np.array_equal(kept.features, all_windows.features[same])
    assert np.array_equal(kept.raw, all_windows.raw[same])
    # The profile still counts every window of every entity.
    for name, value in everything.profile.arrays().items():
        assert np.array_equal(data.profile.arrays()[name], value), name
    # The same sample however the log was cut into chunks and blocks.
    whole = windows_of(train_frame, max_windows=CAP)
    assert np.array_equal(whole.featurised.windows.features, kept.features)
    assert np.array_equal(whole.featurised.windows.entity_hash, kept.entity_hash)


def test_the_stored_sample_does_not_grow_with_the_log():
    short = split(small_log(days=10, customers=80, seed=4).frame)[0]
    longer = small_log(days=20, customers=160, seed=4).frame

    a = windows_of(short, max_windows=CAP, chunk=2000)
    b = windows_of(longer, max_windows=CAP, chunk=2000)

    assert b.n_windows > 4 * a.n_windows > 4 * CAP
    per_window = sample_bytes(a.featurised.windows) / len(a.featurised.windows)
    assert sample_bytes(b.featurised.windows) <= CAP * per_window
    assert len(b.featurised.windows) <= CAP


def test_another_seed_samples_other_entities(train_frame):
    a = per_entity(windows_of(train_frame, max_windows=CAP, seed=0).featurised.windows)
    b = per_entity(windows_of(train_frame, max_windows=CAP, seed=1).featurised.windows)

    assert len(set(a) & set(b)) < 0.6 * min(len(a), len(b))
    hashes = np.array(list(a), dtype=np.uint64)
    assert not np.array_equal(np.argsort(entity_priority(hashes, 0)),
                              np.argsort(entity_priority(hashes, 1)))


def test_trained_on_a_sample_it_still_flags_key_sharing_and_stays_quiet(
        sharing_log: SyntheticLog) -> None:
    train, test = split(sharing_log.frame)
    config = dataclasses.replace(SMALL, max_windows=CAP)

    detector = train_detector(train, config=config)

    m = detector.metadata
    assert m["n_sampled_windows"] <= CAP < m["n_windows"] and m["max_windows"] == CAP
    assert m["n_training_windows"] + m["n_holdout_windows"] <= CAP
    scored = score_groups(detector, test)
    label = sharing_log.labels[0]
    shared = set(label.row_ids)
    hits = [g for g in scored if g.anomaly and g.key == label.key and shared & set(g.log_ids)]
    assert hits
    false = [i for i in merge_incidents(scored) if not shared & set(i.log_ids)]
    days = (test.time.max() - test.time.min()) / 86400
    assert len(false) / days <= 5
    # The threshold was set on fewer held-out windows, but at the same alert budget.
    assert m["windows_per_day"] == pytest.approx(
        train_detector(train, config=dataclasses.replace(SMALL, epochs=1))
        .metadata["windows_per_day"], rel=0.05)
    assert (score_windows(detector, test).scores > detector.threshold).mean() < 0.02


def test_the_cap_is_stored_with_the_detector():
    blob_config = DetectorConfig(max_windows=1234)
    assert TrainedDetector.from_bytes(
        _tiny_detector(blob_config).to_bytes()).config.max_windows == 1234


def _tiny_detector(config: DetectorConfig) -> TrainedDetector:
    frame = split(small_log(days=5, customers=20, seed=2).frame)[0]
    return train_detector(frame, config=dataclasses.replace(
        config, epochs=1, warmup_seconds=3600, min_windows=50, min_rows=100))
