"""Settings, Webhooks: a vendor's endpoints, their signing secrets (shown once, when made),
and each endpoint's deliveries, with resend and a test event."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.access import (
    VendorRequest,
    access_webhook_delivery,
    access_webhook_endpoint,
    vendor_member,
)
from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.webhooks import selectors, services
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint

from ..forms.webhooks import EndpointEditForm, EndpointForm, ResendSinceForm, RotateSecretForm
from .common import add_domain_error, paginate

STATUSES = dict(WebhookDelivery.STATUSES)


def _secret_page(request: VendorRequest, endpoint: WebhookEndpoint, secret: str, *,
                 rotated: bool) -> HttpResponse:
    # The secret is on this response only: it is stored encrypted and never shown again.
    return render(request, "vendor_portal/webhook_endpoint_secret.html", {
        "endpoint": endpoint, "secret": secret, "rotated": rotated,
        "header": services.SIGNATURE_HEADER})


@vendor_member("read")
def webhook_endpoint_list(request: VendorRequest) -> HttpResponse:
    return render(request, "vendor_portal/webhook_endpoint_list.html", {
        "endpoints": selectors.endpoint_list(request.vendor), "statuses": STATUSES,
        "max_endpoints": services.MAX_ENDPOINTS})


@never_cache
@vendor_member("write")
def webhook_endpoint_create(request: VendorRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.endpoint_create(
                vendor=request.vendor, actor=Actor.for_user(request.user), **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _secret_page(request, endpoint, secret, rotated=False)
    return render(request, "vendor_portal/webhook_endpoint_form.html", {"form": form})


@vendor_member("write")
def webhook_endpoint_edit(request: VendorRequest, endpoint_id: int) -> HttpResponse:
    endpoint = access_webhook_endpoint(request.membership, endpoint_id, level="write")
    initial = {"url": endpoint.url, "description": endpoint.description,
               "events": endpoint.events, "enabled": endpoint.enabled}
    form = EndpointEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(endpoint=endpoint, actor=Actor.for_user(request.user),
                                     **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Endpoint {form.cleaned_data['url']} saved.")
            return redirect("vendor_portal:webhook_endpoint_list")
    return render(request, "vendor_portal/webhook_endpoint_form.html",
                  {"form": form, "endpoint": endpoint})


@never_cache
@vendor_member("write")
def webhook_endpoint_rotate(request: VendorRequest, endpoint_id: int) -> HttpResponse:
    """A confirmation page; its POST makes the new secret and shows it once."""
    endpoint = access_webhook_endpoint(request.membership, endpoint_id, level="write")
    form = RotateSecretForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            secret = services.endpoint_rotate_secret(
                endpoint=endpoint, actor=Actor.for_user(request.user),
                overlap_hours=form.cleaned_data["overlap_hours"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            endpoint.refresh_from_db()
            return _secret_page(request, endpoint, secret, rotated=True)
    return render(request, "vendor_portal/webhook_endpoint_rotate.html",
                  {"form": form, "endpoint": endpoint})


@require_POST
@vendor_member("write")
def webhook_endpoint_remove(request: VendorRequest, endpoint_id: int) -> HttpResponse:
    endpoint = access_webhook_endpoint(request.membership, endpoint_id, level="write")
    url = endpoint.url
    services.endpoint_remove(endpoint=endpoint, actor=Actor.for_user(request.user))
    messages.success(request, f"Endpoint {url} removed.")
    return redirect("vendor_portal:webhook_endpoint_list")


# --- Deliveries ------------------------------------------------------------------------------


@vendor_member("read")
def webhook_delivery_list(request: VendorRequest, endpoint_id: int) -> HttpResponse:
    endpoint = access_webhook_endpoint(request.membership, endpoint_id)
    status = request.GET.get("status", "")
    status = status if status in STATUSES else ""
    return render(request, "vendor_portal/webhook_delivery_list.html", {
        "endpoint": endpoint, "status": status, "statuses": STATUSES,
        "page": paginate(request, selectors.delivery_list(endpoint, status)),
        "since_form": ResendSinceForm(initial={"since": _yesterday()})})


def _yesterday() -> str:
    return (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


def _to_deliveries(endpoint: WebhookEndpoint) -> HttpResponse:
    return redirect("vendor_portal:webhook_delivery_list", endpoint_id=endpoint.pk)


@require_POST
@vendor_member("write")
def webhook_resend(request: VendorRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    endpoint = access_webhook_endpoint(request.membership, endpoint_id, level="write")
    delivery = access_webhook_delivery(request.membership, endpoint, delivery_id)
    try:
        services.resend(endpoint=endpoint, actor=Actor.for_user(request.user),
                        event=delivery.event)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Event {delivery.event.event_id} queued to be sent again.")
    return _to_deliveries(endpoint)


@require_POST
@vendor_member("write")
def webhook_resend_since(request: VendorRequest, endpoint_id: int) -> HttpResponse:
    endpoint = access_webhook_endpoint(request.membership, endpoint_id, level="write")
    form = ResendSinceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the date and time to resend from.")
        return _to_deliveries(endpoint)
    try:
        count = services.resend(endpoint=endpoint, actor=Actor.for_user(request.user),
                                since=form.cleaned_data["since"])
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{count} event{'s' if count != 1 else ''} queued to be "
                                  "sent again.")
    return _to_deliveries(endpoint)


@require_POST
@vendor_member("write")
def webhook_test_event(request: VendorRequest, endpoint_id: int) -> HttpResponse:
    endpoint = access_webhook_endpoint(request.membership, endpoint_id, level="write")
    event = services.send_test_event(endpoint=endpoint, actor=Actor.for_user(request.user))
    messages.success(request, f"Test event {event.event_id} queued.")
    return _to_deliveries(endpoint)
