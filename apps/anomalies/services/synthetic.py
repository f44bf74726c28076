"""Synthetic Web API logs (the detection package's generator) into a vendor's real log.

The generator numbers its rows from 1, but log Ids are global across vendors and the import
skips Ids already present; so the rows (and the labels' row Ids) are shifted past the largest
Id in the log first, and the file written, the labels and the database all agree."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Iterator

from django.db.models import Max

from apps.accounts.models import Vendor
from apps.usage.models import WebApiLog
from apps.usage.weblog_io import ImportResult, webapi_log_import


def synthetic_log_generate(*, days: int, seed: int, customers: int,
                           start: dt.datetime | None = None, instances_per_kind: int = 2):
    """A labelled synthetic log of `days` days starting at `start` (default: `days` before
    today, midnight UTC, so the log ends at the start of today and never in the future)."""
    from apps.anomalies.detection.synthetic import GeneratorConfig, generate_license_logs

    if start is None:
        today = dt.datetime.now(tz=dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = today - dt.timedelta(days=days)
    return generate_license_logs(GeneratorConfig(
        days=days, seed=seed, customers=customers, start=start,
        instances_per_kind=instances_per_kind))


def synthetic_log_shift_ids(log, *, offset: int) -> None:
    """Move the log's row Ids (and its labels' row Ids) up by `offset`."""
    if offset:
        log.frame.ids = log.frame.ids + offset
        for label in log.labels:
            label.row_ids = [i + offset for i in label.row_ids]


def free_id_offset() -> int:
    return WebApiLog.objects.aggregate(n=Max("id"))["n"] or 0


def _csv_lines(frame) -> Iterator[str]:
    from apps.anomalies.detection import COLUMNS

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    rows = ((row[0], "" if row[1] is None else row[1], row[2], row[3], int(row[4]), row[5],
             row[6], row[7], "" if row[8] is None else int(row[8]), row[9], row[10])
            for row in frame.rows())
    for row in itertools.chain([COLUMNS], rows):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def synthetic_log_import(*, vendor: Vendor, log) -> ImportResult:
    """Load a generated log into the vendor's Web API log through the normal CSV import (so it
    is stored exactly like an imported Cryptolens export). Call synthetic_log_shift_ids first."""
    return webapi_log_import(vendor=vendor, lines=_csv_lines(log.frame))
