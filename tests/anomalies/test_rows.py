"""Reading the Web API log for the detector: the frame and the streamed chunks equal the rows
as stored, and the windows streamed from the database are those of the log read whole."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.db import connection

from apps.anomalies.detection import LogFrame
from apps.anomalies.services import log_frame, log_rows
from apps.anomalies.services.rows import known_key_hashes, log_chunks
from apps.usage.models import WebApiLog


def _same(a: LogFrame, b: LogFrame) -> None:
    assert np.array_equal(a.ids, b.ids) and np.array_equal(a.time, b.time)
    assert np.array_equal(a.product_id, b.product_id) and np.array_equal(a.state, b.state)
    assert np.array_equal(a.floating_expires, b.floating_expires, equal_nan=True)
    for name in ("key", "ip", "machine", "friendly", "method", "country"):
        assert list(a.strings(name)) == list(b.strings(name)), name


def test_streamed_frame_equals_the_generated_log(loaded, tenant):
    frame = log_frame(vendor=tenant.vendor)

    _same(frame, loaded.frame)
    _same(frame, LogFrame.from_rows(log_rows(vendor=tenant.vendor)))


def test_frame_of_a_time_range_and_of_nothing(loaded, tenant, other_tenant):
    first = dt.datetime.fromtimestamp(float(loaded.frame.time.min()), tz=dt.UTC)
    day_2 = first + dt.timedelta(days=1)

    part = log_frame(vendor=tenant.vendor, since=first, until=day_2)

    assert len(part) == int((loaded.frame.time < day_2.timestamp()).sum())
    assert len(log_frame(vendor=other_tenant.vendor)) == 0


def test_nulls_become_the_frames_markers(tenant):
    WebApiLog.objects.create(vendor=tenant.vendor, state=1010, method="key.GetKey")

    frame = log_frame(vendor=tenant.vendor)

    assert frame.product_id.tolist() == [-1] and np.isnan(frame.floating_expires[0])
    assert frame.strings("ip").tolist() == [""] and frame.strings("key").tolist() == [""]


def _chunk_rows(chunks) -> list[tuple]:
    out = []
    for c in chunks:
        strings = {name: [c.vocabs[name][code] for code in c.codes[name]] for name in c.codes}
        out += zip(c.ids.tolist(), c.product_id.tolist(), strings["key"], strings["ip"],
                   c.time.tolist(), c.state.tolist(), strings["machine"], strings["country"],
                   strict=True)
    return out


def test_chunks_come_in_time_order_whatever_the_ids(tenant):
    """An export imported later gets higher ids for older times: the reader orders by time,
    as the windows need, not by id."""
    now = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    for minutes in (5, 0, 10, 5):  # two rows at the same second: then by id
        WebApiLog.objects.create(vendor=tenant.vendor, time=now + dt.timedelta(minutes=minutes),
                                 state=2010, method="key.Activate", key=f"K{minutes}",
                                 ip="10.0.0.1", machine_code="m", country="SE", product_id=7)
    WebApiLog.objects.create(vendor=tenant.vendor, time=now, state=1010, method="key.GetKey")

    chunks = list(log_chunks(vendor=tenant.vendor, chunk=2))

    rows = _chunk_rows(chunks)
    stored = sorted(WebApiLog.objects.filter(vendor=tenant.vendor), key=lambda r: (r.time, r.id))
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert [r[0] for r in rows] == [r.pk for r in stored]
    assert [r[4] for r in rows] == [r.time.timestamp() for r in stored]
    assert rows[1] == (stored[1].pk, -1, "", "", now.timestamp(), 1010, "", "")
    assert rows[0][1:4] == (7, "K0", "10.0.0.1")


def test_streamed_windows_equal_those_of_the_log_read_whole(loaded, tenant):
    from apps.anomalies.detection import TrainingWindows
    from apps.anomalies.detection.features import featurise
    from apps.anomalies.detection.history import Profile

    whole = featurise(log_frame(vendor=tenant.vendor), window_seconds=3600,
                      profile=Profile()).windows
    data = TrainingWindows.from_chunks(log_chunks(vendor=tenant.vendor, chunk=500),
                                       known_keys=known_key_hashes(vendor=tenant.vendor),
                                       window_seconds=3600, block_rows=1000)
    streamed = data.featurised.windows

    assert len(data) == len(loaded.frame) and len(streamed) == len(whole)
    ids, expected = streamed.group_ids(), whole.group_ids()
    order, order_expected = np.argsort(ids), np.argsort(expected)
    assert [ids[i] for i in order] == [expected[i] for i in order_expected]
    assert np.array_equal(streamed.raw[order], whole.raw[order_expected])
    assert np.array_equal(streamed.features[order], whole.features[order_expected])
    assert (data.first, data.last) == (float(loaded.frame.time.min()),
                                       float(loaded.frame.time.max()))


def test_a_log_read_for_training_keeps_at_most_max_windows_of_it(loaded, tenant):
    from apps.anomalies.services.rows import log_training_windows

    def read(max_windows: int):
        return log_training_windows(vendor=tenant.vendor, since=None, until=None,
                                    window_seconds=3600, max_windows=max_windows, seed=3)

    everything = read(10**9)
    cap = everything.n_windows // 3
    sample = read(cap)

    assert len(everything.featurised.windows) == everything.n_windows
    assert 0 < len(sample.featurised.windows) <= cap
    assert sample.n_windows == everything.n_windows and len(sample) == len(loaded.frame)
    for name, value in everything.profile.arrays().items():  # summed over every window
        assert np.array_equal(sample.profile.arrays()[name], value), name


def test_training_from_the_database_stores_the_detector_of_the_log_read_whole(loaded, tenant,
                                                                               settings):
    from apps.anomalies.detection import DetectorConfig, TrainedDetector, train_detector
    from apps.anomalies.services import anomaly_model_train

    version = anomaly_model_train(vendor=tenant.vendor, rescore=False)
    in_memory = train_detector(log_frame(vendor=tenant.vendor),
                               config=DetectorConfig(seed=settings.ANOMALY_SEED))

    stored = TrainedDetector.from_bytes(bytes(version.blob))
    assert version.rows_trained == len(loaded.frame)
    assert stored.threshold == in_memory.threshold
    assert np.array_equal(stored.reference, in_memory.reference)
    assert np.array_equal(stored.profile.pairs["machine"], in_memory.profile.pairs["machine"])
    for name, weights in stored.model.state_dict().items():
        assert np.array_equal(weights.numpy(), in_memory.model.state_dict()[name].numpy()), name


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's server-side cursors")
def test_the_rows_stay_in_the_database_until_their_chunk_is_read(loaded, tenant):
    chunks = log_chunks(vendor=tenant.vendor, chunk=100)

    first = next(chunks)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE NOT is_holdable")
        open_cursors = cursor.fetchone()[0]
    rest = sum(len(c) for c in chunks)

    assert len(first) == 100 and open_cursors == 1
    assert len(first) + rest == len(loaded.frame)
