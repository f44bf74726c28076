"""The vendor's Web API log: filters, cursor pagination by id, and a streamed CSV export."""

from __future__ import annotations

import csv

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from apps.access import VendorRequest, vendor_member
from apps.licensing.models import Product
from apps.usage import states
from apps.usage.models import WebApiLog
from apps.usage.weblog_io import export_rows, webapi_log_search

from ..forms.reports import WebApiLogFilterForm

PER_PAGE = 100
# The state column's badge: the code and a word or two; the full description is its title.
BADGES = {
    states.VALIDATION_OK: "ok", states.VALIDATION_FAILED: "failed",
    states.ACTIVATION_EXISTING: "ok", states.ACTIVATION_NEW: "ok",
    states.ACTIVATION_ALLOWED_MACHINE: "allowed machine",
    states.ACTIVATION_NOT_NODE_LOCKED: "not node-locked", states.ACTIVATION_FLOATING: "floating",
    states.ACTIVATION_OVERDRAFT: "overdraft", states.ACTIVATION_FAILED: "failed",
    states.ACTIVATION_LIMIT: "machine limit", states.ACTIVATION_BLOCKED: "blocked",
    states.ACTIVATION_FLOATING_LIMIT: "floating limit", states.KEY_CREATED: "created",
    states.TRIAL_CREATED: "trial", states.KEY_CREATION_FAILED: "failed",
    states.DEACTIVATION_OK: "ok", states.FLOATING_RELEASED: "released",
    states.DEACTIVATION_FAILED: "failed", states.KEY_CHANGED: "ok",
    states.KEY_CHANGE_FAILED: "failed", states.DATA_OBJECT_CHANGED: "ok",
    states.DATA_OBJECT_FAILED: "failed", states.OTHER_OK: "ok", states.OTHER_FAILED: "failed",
}


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
    products = dict(Product.objects.for_vendor(request.vendor).order_by("name", "pk")
                    .values_list("pk", "name"))
    form = WebApiLogFilterForm(request.GET, products=products)
    before, page = None, []
    if form.is_valid():
        rows = webapi_log_search(vendor=request.vendor, **form.filters())
        if request.GET.get("export") == "csv":
            return _csv_stream(rows)
        before = form.cleaned_data.get("before")
        page = list((rows.filter(pk__lt=before) if before else rows)[:PER_PAGE + 1])
    for entry in page:
        ok = states.succeeded(entry.state)
        entry.description = states.DESCRIPTIONS.get(entry.state, "")
        entry.badge = BADGES.get(entry.state, "ok" if ok else "failed")
        entry.badge_class = "ok" if ok else "danger"
        entry.product_name = products.get(entry.product_id or 0, "")
    return render(request, "vendor_portal/weblog_list.html", {
        "form": form, "entries": page[:PER_PAGE],
        "older": page[PER_PAGE - 1].pk if len(page) > PER_PAGE else None, "before": before,
    })
