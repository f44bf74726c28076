"""Charts as data: one object feeds the canvas (Chart.js, vendored in static/vendor/chartjs),
the table under it and its CSV download, so the three never disagree.

Views build a `Chart`, put it in the context and render `partials/chart.html`; the page's
`?csv=<chart id>` answers with `chart_csv_response(chart)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse

from .csvexport import csv_response

KINDS = ("line", "step", "bar")


@dataclass
class Series:
    label: str
    values: Sequence[float | None]
    kind: str | None = None  # overrides the chart's kind for this series (e.g. a limit line)


@dataclass
class Chart:
    id: str  # unique on its page; also the CSV download's name
    title: str
    x_label: str
    y_label: str  # with its unit, e.g. "Seats in use"
    labels: list[str]
    series: list[Series] = field(default_factory=list)
    kind: str = "line"
    stacked: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown chart kind {self.kind!r}")

    @property
    def script_id(self) -> str:
        return f"{self.id}-data"

    @property
    def has_data(self) -> bool:
        return bool(self.labels) and any(
            any(v not in (None, 0) for v in s.values) for s in self.series)

    @property
    def header(self) -> list[str]:
        return [self.x_label, *(s.label for s in self.series)]

    def rows(self) -> list[list[Any]]:
        return [[label, *(s.values[i] for s in self.series)]
                for i, label in enumerate(self.labels)]

    def config(self) -> dict:
        """The JSON the page's script turns into a Chart.js chart."""
        return {
            "kind": self.kind, "stacked": self.stacked, "labels": self.labels,
            "x_label": self.x_label, "y_label": self.y_label, "title": self.title,
            "series": [{"label": s.label, "values": s.values, "kind": s.kind or self.kind}
                       for s in self.series],
        }


def chart_csv_response(chart: Chart) -> HttpResponse:
    return csv_response(f"{chart.id}.csv", chart.header, chart.rows())


def csv_for(request: Any, charts: list[Chart]) -> HttpResponse | None:
    """The CSV of the chart named by ?csv=<id>, or None when the page itself was asked for."""
    wanted = request.GET.get("csv")
    for chart in charts:
        if chart.id == wanted:
            return chart_csv_response(chart)
    return None
