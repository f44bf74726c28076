"""Page reads for the vendor's payment pages, with the joins each page needs."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from apps.accounts.models import Vendor
from apps.licensing.models import LicenseKey, LicenseTemplate

from .models import Order, PaymentForm, PriceMapping, Subscription, UsageRecord

# Stripe's subscription statuses, for the filter of the subscriptions list.
SUBSCRIPTION_STATUSES = [
    ("active", "Active"), ("trialing", "Trialing"), ("past_due", "Past due"),
    ("unpaid", "Unpaid"), ("canceled", "Canceled"), ("incomplete", "Incomplete"),
    ("incomplete_expired", "Incomplete, expired"), ("paused", "Paused"),
]


def vendor_templates(*, vendor: Vendor) -> QuerySet[LicenseTemplate]:
    """The templates a form or a price can sell, by product and name."""
    return (LicenseTemplate.objects.for_vendor(vendor).select_related("product")
            .order_by("product__name", "name", "pk"))


def payment_form_list(*, vendor: Vendor) -> QuerySet[PaymentForm]:
    """The vendor's forms with their prices, `order_count` (all orders) and `paid_count`."""
    return (PaymentForm.objects.filter(vendor=vendor)
            .select_related("template__product").prefetch_related("options")
            .annotate(order_count=Count("orders"),
                      paid_count=Count("orders", filter=Q(orders__status=Order.PAID)))
            .order_by("-created", "-id"))


def price_mapping_list(*, vendor: Vendor) -> QuerySet[PriceMapping]:
    """The vendor's mapped prices with `subscription_count`: subscriptions to each price."""
    subscriptions = (Subscription.objects.filter(vendor=OuterRef("vendor"),
                                                 price_id=OuterRef("price_id"))
                     .order_by().values("price_id").annotate(n=Count("pk")).values("n"))
    return (PriceMapping.objects.filter(vendor=vendor).select_related("template__product")
            .annotate(subscription_count=Coalesce(Subquery(subscriptions), 0))
            .order_by("price_id"))


def order_list(*, vendor: Vendor, status: str = "", query: str = "") -> QuerySet[Order]:
    """The vendor's orders, newest first; `query` finds an e-mail, name, company, Stripe id
    or key (any part of it)."""
    orders = (Order.objects.filter(vendor=vendor)
              .select_related("customer", "key__product", "form")
              .order_by("-created", "-id"))
    if status:
        orders = orders.filter(status=status)
    if query:
        orders = orders.filter(
            Q(email__icontains=query) | Q(name__icontains=query)
            | Q(company__icontains=query) | Q(checkout_session_id__icontains=query)
            | Q(payment_intent_id__icontains=query) | Q(stripe_customer_id__icontains=query)
            | Q(key__key__icontains=query))
    return orders


def subscription_list(*, vendor: Vendor, status: str = "", query: str = ""
                      ) -> QuerySet[Subscription]:
    """The vendor's subscriptions, newest first; `query` as for orders."""
    subscriptions = (Subscription.objects.filter(vendor=vendor)
                     .select_related("customer", "key__product")
                     .order_by("-created", "-id"))
    if status:
        subscriptions = subscriptions.filter(status=status)
    if query:
        subscriptions = subscriptions.filter(
            Q(email__icontains=query) | Q(subscription_id__icontains=query)
            | Q(item_id__icontains=query) | Q(price_id__icontains=query)
            | Q(stripe_customer_id__icontains=query) | Q(key__key__icontains=query))
    return subscriptions


def key_subscription(*, key: LicenseKey) -> Subscription | None:
    """The subscription that issued (or keeps) the key, if any."""
    return (Subscription.objects.filter(vendor_id=key.product.vendor_id, key=key)
            .order_by("-created", "-id").first())


@dataclass(frozen=True)
class UsageTotals:
    recorded: int
    confirmed: int
    pending: int
    rejected: int


def key_usage_records(*, key: LicenseKey) -> QuerySet[UsageRecord]:
    return (UsageRecord.objects.filter(vendor_id=key.product.vendor_id, key=key)
            .select_related("subscription").order_by("-created", "-id"))


def key_usage_totals(*, key: LicenseKey) -> UsageTotals:
    """Quantities recorded for the key, and how many of them Stripe confirmed or refused."""
    sums = key_usage_records(key=key).aggregate(
        recorded=Sum("quantity"),
        confirmed=Sum("quantity", filter=Q(status=UsageRecord.CONFIRMED)),
        pending=Sum("quantity", filter=Q(status=UsageRecord.PENDING)),
        rejected=Sum("quantity", filter=Q(status=UsageRecord.REJECTED)))
    return UsageTotals(**{name: value or 0 for name, value in sums.items()})
