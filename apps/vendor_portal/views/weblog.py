"""The vendor's Web API log: filters, cursor pagination by id, and a streamed CSV export."""

from __future__ import annotations

import csv

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from apps.access import VendorRequest, vendor_member
from apps.usage.models import WebApiLog
from apps.usage.states import DESCRIPTIONS
from apps.usage.weblog_io import export_rows, webapi_log_search

from ..forms import WebApiLogFilterForm

PER_PAGE = 100


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_stream(rows: QuerySet[WebApiLog]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in export_rows(rows)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="webapi-log.csv"'
    return response


@vendor_member("read")
def webapi_log(request: VendorRequest) -> HttpResponse | StreamingHttpResponse:
    form = WebApiLogFilterForm(request.GET)
    before, page = None, []
    if form.is_valid():
        rows = webapi_log_search(vendor=request.vendor, **form.filters())
        if request.GET.get("export") == "csv":
            return _csv_stream(rows)
        before = form.cleaned_data.get("before")
        page = list((rows.filter(pk__lt=before) if before else rows)[:PER_PAGE + 1])
    for entry in page:
        entry.description = DESCRIPTIONS.get(entry.state, "")
    return render(request, "vendor_portal/weblog_list.html", {
        "form": form, "entries": page[:PER_PAGE],
        "older": page[PER_PAGE - 1].pk if len(page) > PER_PAGE else None, "before": before,
    })
