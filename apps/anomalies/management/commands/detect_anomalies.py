"""`python manage.py detect_anomalies --vendor EMAIL [--since ISO-or-unix] [--output FILE]`:
score the vendor's Web API log with the active detector (training one first if there is none)
and store the findings, as the Celery task does every few minutes. With --output, every
scored group, flagged or not, is written as one JSON object per line, its rows named by the
Id they had in the file they were imported from (where they were imported), like an export.
The groups are written as the log is scored, block by block (in time order of the blocks),
into `.FILE.part`, which takes the output's name once complete."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from apps.accounts.models import Vendor
from apps.anomalies.services import DetectResult, anomaly_detect
from apps.usage.management.commands.import_webapi_log import owned_vendor
from apps.usage.weblog_io import source_ids


def parse_since(value: str) -> dt.datetime:
    """Unix seconds or an ISO 8601 date/time (UTC unless it says otherwise)."""
    try:
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        pass
    parsed = parse_datetime(value) or parse_datetime(f"{value}T00:00:00")
    if parsed is None:
        raise CommandError(f"--since: not a Unix time or ISO date/time: {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = "Score a vendor's Web API log for anomalies and store the findings."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--vendor", required=True, metavar="EMAIL",
                            help="e-mail of the owner of the vendor")
        parser.add_argument("--since", help="score rows from this time (ISO 8601 or Unix "
                                            "seconds); default: since the last run")
        parser.add_argument("--output", metavar="FILE.jsonl",
                            help="write every scored group as one JSON object per line")

    def handle(self, *args, **options) -> None:
        vendor = owned_vendor(options["vendor"])
        since = parse_since(options["since"]) if options["since"] else None
        if options["output"]:
            result = _detect_to_file(vendor, since, Path(options["output"]))
        else:
            result = anomaly_detect(vendor=vendor, since=since, train_if_missing=True)
        if result.version is None:
            raise CommandError("No detector could be trained: see the failed version on the "
                               "model page (or run train_anomaly_model).")
        self.stdout.write(
            f"{vendor.name}: scored {result.rows} rows in {result.groups} groups with "
            f"detector v{result.version.number}; {len(result.flagged)} flagged, "
            f"{len(result.created)} new finding(s), {len(result.updated)} updated.")


def _write_groups(out: TextIO, vendor: Vendor, groups: list) -> None:
    named = source_ids(vendor=vendor, ids=(i for group in groups for i in group.log_ids))
    for group in groups:
        line = group.as_json()
        line["log_ids"] = [named.get(i, i) for i in group.log_ids]
        out.write(json.dumps(line) + "\n")


def _detect_to_file(vendor: Vendor, since: dt.datetime | None, path: Path) -> DetectResult:
    partial = path.with_name(f".{path.name}.part")
    try:
        with open(partial, "w", encoding="utf-8") as out:
            result = anomaly_detect(vendor=vendor, since=since, train_if_missing=True,
                                    on_groups=lambda groups: _write_groups(out, vendor, groups))
        if result.version is not None:
            os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return result
