"""CSV downloads for every portal."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]
                 ) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return response


def safe_cell(value: Any) -> Any:
    """A text cell starting with = + - @ (or a tab/CR) would run as a formula in a
    spreadsheet; a leading quote keeps it text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
