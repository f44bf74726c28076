"""Page reads of webhooks: a vendor's endpoints with their latest delivery, and an endpoint's
deliveries with their attempts."""

from __future__ import annotations

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from apps.accounts.models import Vendor

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoint_list(vendor: Vendor) -> QuerySet[WebhookEndpoint]:
    """The vendor's endpoints, each with `last_delivery_status` (None before the first)."""
    latest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-id")
    return (WebhookEndpoint.objects.filter(vendor=vendor)
            .annotate(last_delivery_status=Subquery(latest.values("status")[:1]))
            .order_by("created", "id"))


def delivery_list(endpoint: WebhookEndpoint, status: str = "") -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first, with their events and attempts (newest
    attempt first); `status` ("pending", "delivered", "failed") narrows them."""
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    if status:
        deliveries = deliveries.filter(status=status)
    return (deliveries.select_related("event")
            .prefetch_related(Prefetch("attempt_log",
                                       queryset=WebhookAttempt.objects.order_by("-at", "-id")))
            .order_by("-event__created", "-id"))
