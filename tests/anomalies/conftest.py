"""Fixtures of the anomaly tests: a small generated log (a few days, a few dozen customers),
one detector trained on it once per session, and a way to stand that detector in for
training so that most tests never train a torch model themselves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pytest
from django.core.management.color import no_style
from django.db import connection

from apps.anomalies.services.synthetic import (
    free_id_offset,
    synthetic_log_generate,
    synthetic_log_shift_ids,
)
from apps.usage.models import WebApiLog

LOG_START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # a Monday
LOG_DAYS, LOG_CUSTOMERS, LOG_SEED = 4, 20, 11


def make_log(start: dt.datetime = LOG_START):
    """The tests' generated log: same seed, same rows every time (~7,000 rows, a third of
    them injected anomalies)."""
    return synthetic_log_generate(days=LOG_DAYS, seed=LOG_SEED, customers=LOG_CUSTOMERS,
                                  start=start, instances_per_kind=1)


@pytest.fixture(scope="session")
def trained_detector():
    """A detector trained once on the tests' log, shared by every test that needs one. The
    High sensitivity (8 false-alarm windows a day) keeps a few findings in so small a log,
    whatever the detector's tuning of the day."""
    from apps.anomalies.detection import DetectorConfig, train_detector

    return train_detector(make_log().frame, config=DetectorConfig(seed=0, sensitivity=8.0))


def _when(unix: float | None) -> dt.datetime | None:
    return None if unix is None else dt.datetime.fromtimestamp(unix, tz=dt.UTC)


def load_log(vendor, start: dt.datetime = LOG_START, rows: int | None = None):
    """Generate the tests' log (or its first `rows` rows) and store it as `vendor`'s Web API
    log; the returned log carries the Ids the rows got in the database. Stored directly, not
    through the CSV import (three times faster; the import path has its own tests in
    test_commands.py)."""
    log = make_log(start)
    if rows is not None:
        log.frame = log.frame.take(np.arange(rows))
    synthetic_log_shift_ids(log, offset=free_id_offset())
    WebApiLog.objects.bulk_create([
        WebApiLog(id=pk, vendor=vendor, product_id=product_id, key=key, ip=ip or None,
                  time=_when(time), state=state, machine_code=machine, friendly_name=friendly,
                  floating_expires=_when(expires), method=method, country=country)
        for (pk, product_id, key, ip, time, state, machine, friendly, expires, method,
             country) in log.frame.rows()], batch_size=2000)
    # Explicit ids leave PostgreSQL's sequence behind: move it past them, or the next row a
    # test creates the usual way collides with id 1 (as it did whenever no earlier test in
    # the same worker had advanced the sequence).
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [WebApiLog]):
            cursor.execute(sql)
    return log


@pytest.fixture
def loaded(tenant):
    """`tenant` with the generated log in its Web API log."""
    return load_log(tenant.vendor)


@pytest.fixture
def some_rows(tenant):
    """`tenant` with the first 300 rows of the log: enough where training is stood in for."""
    return load_log(tenant.vendor, rows=300)


@dataclass
class TrainingCalls:
    """What the stand-in for train_detector was called with."""

    excluded: list[frozenset] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)


@pytest.fixture
def fake_training(monkeypatch, trained_detector) -> TrainingCalls:
    """train_detector returns the session's detector at once and records its arguments."""
    import apps.anomalies.detection as detection

    calls = TrainingCalls()

    def train(frame, *, config=None, exclude_groups=frozenset()):
        calls.excluded.append(frozenset(exclude_groups))
        calls.rows.append(len(frame))
        return trained_detector

    monkeypatch.setattr(detection, "train_detector", train)
    return calls


@pytest.fixture
def all_high(monkeypatch):
    """Every incident the detector merges counts as high severity (for the digest's tests,
    which are about the mail, not about how the detector grades)."""
    import dataclasses

    import apps.anomalies.detection as detection

    merge = detection.merge_incidents
    monkeypatch.setattr(detection, "merge_incidents", lambda scored: [
        dataclasses.replace(incident, severity="high") for incident in merge(scored)])
