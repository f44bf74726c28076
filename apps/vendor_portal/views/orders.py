"""What the vendor sold through Stripe: orders and subscriptions (filtered, searched, paged,
exported as CSV), and the metered use of a subscription's key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render

from apps.access import VendorRequest, access_key, vendor_member
from apps.commerce import selectors
from apps.commerce.models import Order, Subscription
from apps.commerce.money import decimals

from ..forms.payments import OrderFilterForm, SubscriptionFilterForm
from .common import csv_response, paginate


def _when(value: dt.datetime | None) -> str:
    return value.isoformat() if value else ""


def major_units(amount: int, currency: str) -> str:
    """49.00 for 4900 cents, 1200 for 1200 yen: amounts are kept in the smallest unit."""
    places = decimals(currency)
    return f"{Decimal(amount).scaleb(-places):.{places}f}"


def _orders_csv(orders: QuerySet[Order]) -> HttpResponse:
    return csv_response(
        "orders.csv",
        ["ID", "Created", "Status", "E-mail", "Name", "Company", "VAT id", "Description",
         "Amount", "Currency", "Seats", "Customer", "Key", "Payment form", "Checkout session",
         "Payment intent", "Stripe customer", "Paid"],
        ([o.pk, _when(o.created), o.status, o.email, o.name, o.company, o.vat_id,
          o.description, major_units(o.amount, o.currency), o.currency.upper(), o.seats,
          str(o.customer or ""), o.key.key if o.key else "", o.form.title if o.form else "",
          o.checkout_session_id, o.payment_intent_id, o.stripe_customer_id, _when(o.paid_at)]
         for o in orders.iterator()),
    )


@vendor_member("read")
def order_list(request: VendorRequest) -> HttpResponse:
    form = OrderFilterForm(request.GET)
    form.is_valid()  # an unknown status is dropped: the list shows every status
    status, query = form.cleaned_data.get("status", ""), form.cleaned_data.get("q", "").strip()
    orders = selectors.order_list(vendor=request.vendor, status=status, query=query)
    if request.GET.get("format") == "csv":
        return _orders_csv(orders)
    return render(request, "vendor_portal/order_list.html", {
        "page": paginate(request, orders), "form": form, "status": status, "query": query,
        "statuses": Order.STATUSES})


def _subscriptions_csv(subscriptions: QuerySet[Subscription]) -> HttpResponse:
    return csv_response(
        "subscriptions.csv",
        ["ID", "Created", "Status", "E-mail", "Subscription", "Subscription item", "Price",
         "Meter event", "Stripe customer", "Current period end", "Paid until",
         "Cancels at period end", "Payment failed", "Ended", "Blocked for payment",
         "Customer", "Key"],
        ([s.pk, _when(s.created), s.status, s.email, s.subscription_id, s.item_id, s.price_id,
          s.meter_event_name, s.stripe_customer_id, _when(s.current_period_end),
          _when(s.paid_until), s.cancel_at_period_end, _when(s.payment_failed_at),
          _when(s.ended_at), s.blocked_for_payment, str(s.customer or ""),
          s.key.key if s.key else ""]
         for s in subscriptions.iterator()),
    )


@vendor_member("read")
def subscription_list(request: VendorRequest) -> HttpResponse:
    form = SubscriptionFilterForm(request.GET)
    form.is_valid()  # an unknown status is dropped: the list shows every status
    status, query = form.cleaned_data.get("status", ""), form.cleaned_data.get("q", "").strip()
    subscriptions = selectors.subscription_list(vendor=request.vendor, status=status,
                                                query=query)
    if request.GET.get("format") == "csv":
        return _subscriptions_csv(subscriptions)
    return render(request, "vendor_portal/subscription_list.html", {
        "page": paginate(request, subscriptions), "form": form, "status": status,
        "query": query, "statuses": selectors.SUBSCRIPTION_STATUSES})


@vendor_member("read")
def key_usage(request: VendorRequest, key_id: int) -> HttpResponse:
    """The metered use recorded for a key (subscription/RecordUsage) and what Stripe made
    of each record."""
    key = access_key(request.membership, key_id)
    return render(request, "vendor_portal/key_usage.html", {
        "key": key, "product": key.product,
        "subscription": selectors.key_subscription(key=key),
        "page": paginate(request, selectors.key_usage_records(key=key)),
        "totals": selectors.key_usage_totals(key=key)})
