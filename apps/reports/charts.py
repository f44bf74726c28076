"""Report results as charts (apps.core.charts): one builder per figure, shared by the vendor
and customer portals so both draw the same thing the same way."""

from __future__ import annotations

import datetime as dt

from apps.core.charts import Chart, Series
from apps.reports.floating import FloatingUsage


def days(start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    first, count = start.date(), (end - start).days
    return [first + dt.timedelta(days=n) for n in range(count)]


def months(start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    found, month = [], start.date().replace(day=1)
    while month < end.date():
        found.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return found


def floating_chart(usage: FloatingUsage, *, limit: int | None = None) -> Chart:
    """Peak concurrent seats per bucket (a step line), the key's limit when there is one key,
    and refused activations as bars."""
    fmt = "%Y-%m-%d %H:00" if usage.resolution == "hour" else "%Y-%m-%d"
    series = [Series("Peak seats in use", list(usage.peak), kind="step")]
    if limit:
        series.append(Series("Seat limit", [limit] * len(usage.buckets), kind="line"))
    series.append(Series("Refused (no seat free)", list(usage.denied), kind="bar"))
    unit = "hour" if usage.resolution == "hour" else "day"
    return Chart(id="floating-seats", title=f"Concurrent floating seats, peak per {unit}",
                 x_label=f"{unit.capitalize()} (UTC)", y_label="Seats / activations",
                 labels=[b.strftime(fmt) for b in usage.buckets], series=series, kind="step")


def daily_chart(chart_id: str, title: str, y_label: str, values: dict[dt.date, int],
                start: dt.datetime, end: dt.datetime) -> Chart:
    labels = days(start, end)
    return Chart(id=chart_id, title=title, x_label="Day (UTC)", y_label=y_label,
                 labels=[d.isoformat() for d in labels],
                 series=[Series(y_label, [values.get(d, 0) for d in labels])], kind="line")


def monthly_chart(chart_id: str, title: str, y_label: str, values: dict[dt.date, int],
                  start: dt.datetime, end: dt.datetime) -> Chart:
    labels = months(start, end)
    return Chart(id=chart_id, title=title, x_label="Month (UTC)", y_label=y_label,
                 labels=[m.strftime("%Y-%m") for m in labels],
                 series=[Series(y_label, [values.get(m, 0) for m in labels])], kind="bar")


def country_chart(counts: list[tuple[str, int]]) -> Chart:
    return Chart(id="activations-by-country", title="Successful activations by country",
                 x_label="Country", y_label="Activations",
                 labels=[code or "Unknown" for code, _ in counts],
                 series=[Series("Activations", [n for _, n in counts])], kind="bar")


def duration(seconds: int) -> str:
    """1 h 05 min, 12 min, 40 s: how long a key was at or over its limit."""
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
