"""Usage and floating-seat reports: a filter form, charts (each with its table and CSV) and
per-key tables. Every figure is computed by apps/reports."""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.access import VendorRequest, vendor_member
from apps.core import geoip
from apps.core.charts import csv_for
from apps.core.errors import DomainError
from apps.core.forms import FloatingReportForm, ReportScopeForm
from apps.licensing import selectors
from apps.reports import charts, usage
from apps.reports.floating import floating_usage
from apps.reports.products import product_choices
from apps.reports.scope import report_keys
from apps.usage.sessions import floating_sessions_refresh

from .common import add_domain_error, csv_response

F = TypeVar("F", bound=ReportScopeForm)

# The product's name comes last, so that columns read by position keep their place.
VERIFICATION_COLUMNS = ["ProductId", "Key", "Calls", "Succeeded", "Failed", "SuccessRatio",
                        "Product"]
FAILING_COLUMNS = ["ProductId", "Key", "KnownKey", "Failed", "DistinctIPs", "DistinctMachines",
                   "Product"]
KEY_COLUMNS = ["ProductId", "Key", "Limit", "PeakSeats", "SecondsAtOrOverLimit",
               "OverdraftUsed", "OverdraftSeatsStarted", "SeatsStarted", "Refused", "Product"]


def _choices(request: VendorRequest, filters: QueryDict) -> dict[str, list[tuple[int, str]]]:
    """The filter's products and customers; a product id that is not (or no longer) one of
    the vendor's products stays a choice, "Unknown product 3105", for the log's keys of it."""
    choices = selectors.report_choices(vendor=request.vendor)
    return {**choices, "products": product_choices(choices["products"], filters.get("product"))}


def _scope_form(request: VendorRequest, form_class: type[F]
                ) -> tuple[F, list[tuple[int, str]] | None]:
    """The bound filter form and the (product, key) pairs it selects, or None when invalid."""
    form = form_class(request.GET, **_choices(request, request.GET))
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    try:
        keys = report_keys(vendor=request.vendor, product_id=data["product"],
                           customer_id=data["customer"], key=data["key"])
    except DomainError as error:
        add_domain_error(form, error)
        return form, None
    return form, keys


@vendor_member("read")
def usage_report(request: VendorRequest) -> HttpResponse:
    form, keys = _scope_form(request, ReportScopeForm)
    context = {"form": form, "geoip": geoip.configured()}
    if form.errors:
        return render(request, "vendor_portal/report_usage.html", context)
    data = form.cleaned_data
    scope = usage.Scope(vendor=request.vendor, start=data["start"], end=data["end"],
                        product_id=data["product"], keys=keys)
    chart_list = [
        charts.daily_chart("active-devices", "Active devices per day", "Devices",
                           usage.active_devices(scope), scope.start, scope.end),
        charts.monthly_chart("end-users", "End users per month (distinct key + machine)",
                             "End users", usage.end_users(scope), scope.start, scope.end),
        charts.monthly_chart("new-keys", "New keys per month", "Keys",
                             usage.new_keys(scope), scope.start, scope.end),
        charts.country_chart(usage.activations_by_country(scope)),
    ]
    verification, failing = usage.verification_by_key(scope), usage.top_failing_keys(scope)
    wanted = request.GET.get("csv")
    if wanted == "verification":
        return csv_response("verification-by-key.csv", VERIFICATION_COLUMNS, (
            [r["product_id"], r["key"], r["total"], r["ok"], r["failed"], f"{r['ratio']:.4f}",
             str(r["product"])]
            for r in verification))
    if wanted == "failing":
        return csv_response("top-failing-keys.csv", FAILING_COLUMNS, (
            [r["product_id"], r["key"], r["known"], r["failed"], r["ips"], r["machines"],
             str(r["product"])]
            for r in failing))
    return csv_for(request, chart_list) or render(request, "vendor_portal/report_usage.html", {
        **context, "charts": chart_list, "verification": verification[:usage.TOP],
        "failing": failing, "has_countries": usage.has_countries(scope)})


@vendor_member("read")
def floating_report(request: VendorRequest) -> HttpResponse:
    form, keys = _scope_form(request, FloatingReportForm)
    context = {"form": form}
    if form.errors:
        return render(request, "vendor_portal/report_floating.html", context)
    data = form.cleaned_data
    result = floating_usage(vendor=request.vendor, start=data["start"], end=data["end"],
                            product_id=data["product"], keys=keys,
                            resolution=data["resolution"])
    limit = result.keys[0].limit if keys is not None and len(keys) == 1 and result.keys else None
    chart = charts.floating_chart(result, limit=limit)
    if request.GET.get("csv") == "keys":
        return csv_response("floating-by-key.csv", KEY_COLUMNS, (
            [k.product_id, k.key, k.limit, k.peak, k.seconds_at_or_over_limit,
             k.overdraft_used, k.overdraft_seats_started, k.seats_started, k.denied,
             str(k.product or "")] for k in result.keys))
    return csv_for(request, [chart]) or render(request, "vendor_portal/report_floating.html", {
        **context, "chart": chart, "usage": result, "catch_up": True,
        "at_limit": charts.duration(result.seconds_at_or_over_limit),
        "key_rows": [(k, charts.duration(k.seconds_at_or_over_limit)) for k in result.keys]})


@require_POST
@vendor_member("read")
def floating_catch_up(request: VendorRequest) -> HttpResponse:
    """Condense the log's newest floating calls now instead of at the next beat run (the
    report itself only reads), then show the report again with the same filters."""
    read = floating_sessions_refresh(vendor=request.vendor)
    messages.success(request, f"Floating seats are up to date ({read} seat"
                              f"{'' if read == 1 else 's'} brought up to date).")
    filters = QueryDict(request.POST.get("query", "")[:2000])
    form = FloatingReportForm(filters, **_choices(request, filters))
    query = {name: filters[name] for name in form.fields if filters.get(name)} \
        if form.is_valid() else {}
    url = reverse("vendor_portal:floating_report")
    return redirect(f"{url}?{urlencode(query)}" if query else url)
