"""The log featurised and scored chunk by chunk: the same windows and scores as the frame in
memory, from a builder that holds a block of rows, never the log."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from apps.anomalies.detection import LogFrame, StreamScorer, TrainedDetector
from apps.anomalies.detection.baselines import Ecod
from apps.anomalies.detection.chunks import LogChunk, known_key_hashes
from apps.anomalies.detection.features import Featurised, featurise
from apps.anomalies.detection.history import Profile
from apps.anomalies.detection.scoring import score_windows
from apps.anomalies.detection.stream import WindowBuilder, collect
from apps.anomalies.detection.synthetic import SyntheticLog

from .conftest import split

WINDOW_FIELDS = ("kind", "product_id", "start", "end", "entity_hash", "hod", "order", "offsets",
                 "raw", "features")


def chunks(frame: LogFrame, size: int) -> Iterator[LogChunk]:
    whole = LogChunk.from_frame(frame)
    for lo in range(0, len(frame), size):
        yield whole.part(lo, lo + size)


def streamed(frame: LogFrame, profile: Profile, *, block_rows: int, chunk: int) -> Featurised:
    builder = WindowBuilder(window_seconds=3600, profile=profile, block_rows=block_rows,
                            known_keys=known_key_hashes(LogChunk.from_frame(frame)))
    return collect(builder, chunks(frame, chunk), keep_rows=True)


def assert_same_windows(a: Featurised, b: Featurised) -> None:
    for name in WINDOW_FIELDS:
        assert np.array_equal(getattr(a.windows, name), getattr(b.windows, name)), name
    assert a.windows.subject.tolist() == b.windows.subject.tolist()
    for kind in a.pairs:
        assert np.array_equal(np.unique(a.pairs[kind]), np.unique(b.pairs[kind])), kind
    assert np.array_equal(np.unique(a.known_keys), np.unique(b.known_keys))


def test_a_log_fed_in_small_chunks_makes_the_windows_of_the_whole_frame(
        sharing_log: SyntheticLog) -> None:
    frame = sharing_log.frame

    whole = featurise(frame, window_seconds=3600, profile=Profile())
    in_blocks = streamed(frame, Profile(), block_rows=2000, chunk=333)

    assert len(whole.windows) > 10_000
    assert_same_windows(whole, in_blocks)


def test_windows_scored_against_a_profile_are_the_same_fed_in_chunks(
        sharing_log: SyntheticLog, trained: TrainedDetector) -> None:
    _, test = split(sharing_log.frame)

    whole = featurise(test, window_seconds=3600, profile=trained.profile)
    in_blocks = streamed(test, trained.profile, block_rows=1500, chunk=250)

    assert_same_windows(whole, in_blocks)


def test_the_builder_holds_a_block_of_rows_not_the_log(sharing_log: SyntheticLog) -> None:
    frame = sharing_log.frame
    read = [0]

    def counted() -> Iterator[LogChunk]:
        for chunk in chunks(frame, 100):
            read[0] += len(chunk)
            yield chunk

    builder = WindowBuilder(window_seconds=3600, profile=Profile(), block_rows=2000,
                            known_keys=known_key_hashes(LogChunk.from_frame(frame)))
    emitted, waiting = 0, []
    for block in builder.blocks(counted()):
        emitted += len(block.rows)
        waiting.append(read[0] - emitted)  # rows read but not yet featurised

    assert emitted == len(frame) and len(waiting) > 10
    # Rows wait for the end of their window slot only: never a block's worth, never the log.
    assert max(waiting[:-1]) < 2000 and waiting[-1] == 0


def test_chunks_out_of_time_order_are_refused(sharing_log: SyntheticLog) -> None:
    frame = sharing_log.frame
    first, second = chunks(frame.take(np.arange(2000)), 1000)
    builder = WindowBuilder(window_seconds=3600, profile=Profile(), block_rows=10_000,
                            known_keys=known_key_hashes(LogChunk.from_frame(frame)))

    with pytest.raises(ValueError, match="time order"):
        list(builder.blocks([second, first]))


def test_streamed_scoring_equals_scoring_in_memory_with_history(
        sharing_log: SyntheticLog, trained: TrainedDetector) -> None:
    _, test = split(sharing_log.frame)
    cut = float(test.time.min()) + 86400
    before, after = test.take(test.time < cut), test.take(test.time >= cut)
    in_memory = score_windows(trained, after, history=before)

    scorer = StreamScorer(trained, scored_from=cut, block_rows=2000,
                          known_keys=known_key_hashes(LogChunk.from_frame(test)))
    blocks = list(scorer.score(chunks(test, 700)))

    expected = dict(zip(in_memory.windows.group_ids(), in_memory.scores.tolist(), strict=True))
    scored = {g: s for sw in blocks for g, s in zip(sw.windows.group_ids(), sw.scores.tolist(),
                                                    strict=True)}
    assert len(blocks) > 1
    assert scored == pytest.approx(expected, rel=1e-6)
    assert scorer.rows == len(after) and scorer.latest == float(after.time.max())


def test_ecod_counts_the_tails_of_the_sorted_training_values() -> None:
    """The distinct-value tables give the counts a binary search in the sorted training
    values gives, ties and values outside the training range included."""
    rng = np.random.default_rng(5)
    train = np.c_[rng.integers(0, 6, 3000), rng.standard_normal(3000) ** 3,
                  rng.choice([0.0, 0.5, 20.0], 3000)].astype(np.float32)
    query = np.r_[train[:500], train[:50] * 3 - 1].astype(np.float32)
    ecod = Ecod.fit(train, chunk=700)

    x, ordered = train.astype(np.float64), np.sort(train.astype(np.float64), axis=0)
    centred = x - x.mean(axis=0)
    skew = (centred**3).mean(axis=0) / centred.std(axis=0) ** 3
    n, q = len(x), query.astype(np.float64)
    left = np.stack([np.searchsorted(ordered[:, j], q[:, j], side="right")
                     for j in range(3)], axis=1)
    right = n - np.stack([np.searchsorted(ordered[:, j], q[:, j], side="left")
                          for j in range(3)], axis=1)
    nl = -np.log(np.maximum(left, 1) / (n + 1))
    nr = -np.log(np.maximum(right, 1) / (n + 1))
    auto = np.where(skew < 0, nl, nr)
    expected = np.maximum.reduce([nl.sum(1), nr.sum(1), auto.sum(1)])

    assert np.array_equal(ecod.skew_left, skew < 0)
    assert np.array_equal(ecod.score(query, chunk=128), expected)
