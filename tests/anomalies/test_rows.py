"""Reading the Web API log for the detector: the streamed frame equals the rows as stored."""

from __future__ import annotations

import datetime as dt

import numpy as np

from apps.anomalies.detection import LogFrame
from apps.anomalies.services import log_frame, log_rows
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
