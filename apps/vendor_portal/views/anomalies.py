"""Anomaly findings and the detector's model page. Reads come from apps.anomalies.selectors,
writes go through apps.anomalies.services; torch is never imported here."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.access import VendorRequest, access_finding, vendor_member
from apps.anomalies import selectors, services
from apps.anomalies.models import Finding
from apps.audit.log import Actor
from apps.core.charts import Chart, Series, csv_for
from apps.core.errors import DomainError

from ..forms.anomalies import AnomalySettingsForm, FindingFilterForm
from .common import csv_response, paginate


def _per_day_chart(vendor) -> Chart:
    labels, counts = selectors.findings_per_day(vendor=vendor)
    every = [sum(day) for day in zip(*counts.values(), strict=True)]
    return Chart(id="findings-per-day", title="Findings per day (last 30 days)", x_label="Day",
                 y_label="Findings", labels=labels, kind="bar",
                 series=[Series("All findings", every), Series("High severity", counts["high"])])


def _list_csv(vendor, findings) -> HttpResponse:
    products = selectors.finding_product_names(vendor=vendor, findings=findings)
    return csv_response("anomaly-findings.csv", [
        "Id", "Label", "Kind", "Subject", "Product id", "Start", "End", "Score", "Severity",
        "Status", "Reasons", "Product"], ([
            f.pk, f.label, f.subject_kind, f.subject, f.product_id, f.start.isoformat(),
            f.end.isoformat(), round(f.score, 4), f.severity, f.status, " | ".join(f.reasons),
            products.get(f.product_id, ""),
        ] for f in findings.iterator()))


@vendor_member("read")
def anomaly_list(request: VendorRequest) -> HttpResponse:
    form = FindingFilterForm(request.GET)
    filters = form.filters() if form.is_valid() else {}
    findings = selectors.finding_list(vendor=request.vendor, **filters)
    chart = _per_day_chart(request.vendor)
    if (download := csv_for(request, [chart])) is not None:
        return download
    if request.GET.get("format") == "csv":
        return _list_csv(request.vendor, findings)
    query = request.GET.copy()
    for name in ("page", "csv", "format"):
        query.pop(name, None)
    page = paginate(request, findings)
    return render(request, "vendor_portal/anomaly_list.html", {
        "form": form, "page": page, "chart": chart,
        "rows": selectors.finding_products(vendor=request.vendor, findings=page),
        "query": query.urlencode(), "version": selectors.active_version(vendor=request.vendor),
    })


def _log_url(finding: Finding) -> str:
    """The Web API log browser filtered to the finding's subject and time span."""
    subject = ({"key": finding.subject, "product_id": finding.product_id or ""}
               if finding.is_key else {"ip": finding.subject})
    # The finding's end is the end of its last window (exclusive); the browser's is inclusive.
    params = {**subject, "start": int(finding.start.timestamp()),
              "end": math.ceil(finding.end.timestamp()) - 1}
    return f"{reverse('vendor_portal:webapi_log')}?{urlencode(params)}"


def _traffic_chart(finding: Finding) -> Chart:
    traffic = selectors.finding_traffic(finding)
    return Chart(id="finding-traffic", title=f"Traffic of this {finding.subject_name.lower()} "
                                             "around the finding",
                 x_label="Hour (UTC)", y_label="Calls or distinct values per hour",
                 labels=traffic.labels, kind="bar", series=[
                     Series("Successful calls", traffic.succeeded),
                     Series("Failed calls", traffic.failed),
                     Series("Distinct IPs", traffic.ips, kind="line"),
                     Series("Distinct machines", traffic.machines, kind="line")])


@vendor_member("read")
def anomaly_detail(request: VendorRequest, finding_id: int) -> HttpResponse:
    finding = access_finding(request.membership, finding_id)
    chart = _traffic_chart(finding)
    if (download := csv_for(request, [chart])) is not None:
        return download
    ((_, product),) = selectors.finding_products(vendor=request.vendor, findings=[finding])
    return render(request, "vendor_portal/anomaly_detail.html", {
        "finding": finding, "key": selectors.finding_key(finding), "chart": chart,
        "product": product,
        "version": selectors.finding_version(finding),
        "log_url": _log_url(finding),
    })


@require_POST
@vendor_member("write")
def anomaly_mark_expected(request: VendorRequest, finding_id: int) -> HttpResponse:
    finding = access_finding(request.membership, finding_id, level="write")
    services.finding_mark_expected(finding=finding, actor=Actor.for_user(request.user))
    messages.success(request, "Marked as expected: it stays out of the next training.")
    return redirect("vendor_portal:anomaly_detail", finding_id=finding.pk)


@require_POST
@vendor_member("write")
def anomaly_block_key(request: VendorRequest, finding_id: int) -> HttpResponse:
    finding = access_finding(request.membership, finding_id, level="write")
    try:
        key = services.finding_block_key(finding=finding, actor=Actor.for_user(request.user))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Key {key.key} blocked.")
    return redirect("vendor_portal:anomaly_detail", finding_id=finding.pk)


def _loss_chart(version) -> Chart:
    meta = version.metadata
    losses = list(meta.get("train_loss") or [])
    series = [Series("Training loss", losses)]
    if meta.get("validation_loss"):
        series.append(Series("Validation loss", list(meta["validation_loss"])))
    return Chart(id="training-loss", title="Training loss per epoch", x_label="Epoch",
                 y_label="Loss (mean squared error)",
                 labels=[str(n + 1) for n in range(len(losses))], series=series)


def _histogram_chart(version) -> Chart:
    """Scores of the training windows, split at the threshold: what lies right of the
    boundary would have been flagged. So few windows lie there that their bars can be too
    small to see; a marker bar in the threshold's bin shows where the boundary is."""
    histogram, threshold = version.metadata.get("score_histogram") or {}, version.threshold
    edges, counts = list(histogram.get("edges") or []), list(histogram.get("counts") or [])
    bins = list(zip(edges, edges[1:], counts, strict=False))
    above = [threshold is not None and low >= threshold for low, _, _ in bins]
    tallest = max(counts, default=0)
    marker = [tallest if threshold is not None and low <= threshold < high else None
              for low, high, _ in bins]
    return Chart(
        id="score-histogram", kind="bar", stacked=True,
        title=f"Scores of the training windows (threshold {threshold:.3g})"
        if threshold is not None else "Scores of the training windows",
        x_label="Anomaly score", y_label="Windows",
        labels=[f"{low:.3g}–{high:.3g}" for low, high, _ in bins],
        series=[Series("Below the threshold", [0 if a else c for (_, _, c), a
                                               in zip(bins, above, strict=True)]),
                Series("At or above the threshold", [c if a else 0 for (_, _, c), a
                                                     in zip(bins, above, strict=True)]),
                Series("Threshold (marker)", marker)])


def _left_out(version) -> str:
    """The training windows the detector did not learn from, in words."""
    dropped = version.metadata.get("dropped_windows")
    if not isinstance(dropped, dict):
        return str(dropped or "")
    parts = [(dropped.get("warmup"), "in the first days (warm-up)"),
             (dropped.get("hygiene"), f"ranked most unusual by {dropped.get('hygiene_method')}"),
             (dropped.get("excluded_by_vendor"), "of findings you reviewed")]
    return "; ".join(f"{count} {why}" for count, why in parts if count)


def _model_page(request: VendorRequest, form: AnomalySettingsForm | None = None
                ) -> HttpResponse:
    version = selectors.active_version(vendor=request.vendor)
    charts = [_loss_chart(version), _histogram_chart(version)] if version else []
    if (download := csv_for(request, charts)) is not None:
        return download
    current = selectors.settings_of(request.vendor)
    form = form or AnomalySettingsForm(initial={
        name: getattr(current, name) for name in AnomalySettingsForm.base_fields})
    return render(request, "vendor_portal/anomaly_model.html", {
        "version": version, "charts": charts, "form": form, "settings": current,
        "left_out": _left_out(version) if version else "",
        "versions": selectors.detector_versions(vendor=request.vendor),
    })


@vendor_member("read")
def anomaly_model(request: VendorRequest) -> HttpResponse:
    return _model_page(request)


@require_POST
@vendor_member("write")
def anomaly_settings(request: VendorRequest) -> HttpResponse:
    form = AnomalySettingsForm(request.POST)
    if not form.is_valid():
        return _model_page(request, form)
    services.anomaly_settings_update(vendor=request.vendor, actor=Actor.for_user(request.user),
                                     **form.cleaned_data)
    messages.success(request, "Settings saved. A new sensitivity applies from the next "
                              "training.")
    return redirect("vendor_portal:anomaly_model")


@require_POST
@vendor_member("write")
def anomaly_retrain(request: VendorRequest) -> HttpResponse:
    services.anomaly_retrain_request(vendor=request.vendor, actor=Actor.for_user(request.user))
    messages.success(request, "Retraining queued. The new version appears here when it is done.")
    return redirect("vendor_portal:anomaly_model")
