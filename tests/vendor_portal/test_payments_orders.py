"""Orders and subscriptions (filtered, searched, paged, exported as CSV) and a key's metered
usage: what the vendor sees of what Stripe's webhooks recorded."""

from __future__ import annotations

import csv
import io

from django.urls import reverse
from django.utils import timezone

from apps.commerce.models import Order, UsageRecord

from .payments_data import form_of, order_of, subscription_of

ORDERS = reverse("vendor_portal:order_list")
SUBSCRIPTIONS = reverse("vendor_portal:subscription_list")


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def _usage(key) -> str:
    return reverse("vendor_portal:key_usage", args=[key.pk])


def test_the_orders_page_shows_what_the_vendor_sold(tenant, owner_client):
    form = form_of(tenant)
    order = order_of(tenant, form=form, amount=19900, currency="usd", customer=tenant.customer,
                     key=tenant.key, email="ann@buyer.example", company="Ann Ltd")

    response = owner_client.get(ORDERS)

    assert response.status_code == 200
    content = response.content.decode()
    assert "199.00 USD" in content
    assert "ann@buyer.example" in content and "Ann Ltd" in content
    assert reverse("vendor_portal:key_detail", args=[tenant.key.pk]) in content
    assert tenant.key.key in content
    assert reverse("vendor_portal:customer_detail", args=[tenant.customer.pk]) in content
    assert order.checkout_session_id in content and order.payment_intent_id in content
    assert ">Paid</span>" in content


def test_another_vendors_orders_and_subscriptions_are_not_listed(tenant, other_tenant,
                                                                 owner_client):
    order_of(tenant, email="mine@example.com")
    order_of(other_tenant, email="theirs@example.com")
    subscription_of(other_tenant, email="theirs-sub@example.com")

    orders = owner_client.get(ORDERS).content.decode()
    rows = _csv(owner_client.get(ORDERS, {"format": "csv"}))
    subscriptions = owner_client.get(SUBSCRIPTIONS).content.decode()

    assert "mine@example.com" in orders and "theirs@example.com" not in orders
    assert [r[3] for r in rows[1:]] == ["mine@example.com"]
    assert "theirs-sub@example.com" not in subscriptions


def test_orders_are_filtered_by_status_and_searched(tenant, owner_client):
    paid = order_of(tenant, email="paid@example.com", key=tenant.key)
    order_of(tenant, email="refunded@example.com", status=Order.REFUNDED)
    order_of(tenant, email="waiting@example.com", status=Order.PENDING)

    def emails(**params) -> list[str]:
        return [o.email for o in owner_client.get(ORDERS, params).context["page"]]

    assert emails(status="refunded") == ["refunded@example.com"]
    assert emails(q="WAITING@") == ["waiting@example.com"]
    assert emails(q=paid.payment_intent_id) == ["paid@example.com"]
    assert emails(q=paid.checkout_session_id) == ["paid@example.com"]
    assert emails(q=tenant.key.key) == ["paid@example.com"]
    assert emails(status="paid", q="refunded") == []
    assert len(emails(status="no-such-status")) == 3  # ignored, not a 500


def test_orders_are_paged(tenant, owner_client):
    for _ in range(30):
        order_of(tenant)

    first = owner_client.get(ORDERS, {"status": "paid"})
    second = owner_client.get(ORDERS, {"status": "paid", "page": 2})

    assert len(first.context["page"]) == 25
    assert "Page 1 of 2" in first.content.decode()
    assert "?status=paid&amp;page=2" in first.content.decode()
    assert len(second.context["page"]) == 5


def test_the_orders_csv_has_the_filtered_rows_and_escapes_formulas(tenant, owner_client):
    order_of(tenant, email="one@example.com", name="=HYPERLINK(\"http://evil\")",
             company="+cmd", vat_id="@SUM(A1)", amount=4999, currency="eur", key=tenant.key)
    order_of(tenant, email="two@example.com", status=Order.EXPIRED)
    order_of(tenant, email="-minus@example.com")

    rows = _csv(owner_client.get(ORDERS, {"format": "csv", "q": "one@"}))
    everything = _csv(owner_client.get(ORDERS, {"format": "csv"}))
    expired = _csv(owner_client.get(ORDERS, {"format": "csv", "status": "expired"}))

    header, row = rows[0], rows[1]
    assert len(rows) == 2
    assert header[:4] == ["ID", "Created", "Status", "E-mail"]
    values = dict(zip(header, row, strict=True))
    assert values["Name"] == "'=HYPERLINK(\"http://evil\")"
    assert values["Company"] == "'+cmd"
    assert values["VAT id"] == "'@SUM(A1)"
    assert (values["Amount"], values["Currency"], values["Key"]) == ("49.99", "EUR",
                                                                     tenant.key.key)
    assert len(everything) == 4
    assert "'-minus@example.com" in [r[3] for r in everything]
    assert [r[3] for r in expired[1:]] == ["two@example.com"]


def test_the_subscriptions_page_lists_filters_and_exports(tenant, owner_client):
    live = subscription_of(tenant, email="live@example.com", key=tenant.key,
                           customer=tenant.customer, meter_event_name="api_calls",
                           paid_until=timezone.now())
    subscription_of(tenant, email="=gone@example.com", status="canceled")

    page = owner_client.get(SUBSCRIPTIONS)
    content = page.content.decode()
    assert page.status_code == 200
    assert live.subscription_id in content and "price_monthly" in content
    assert reverse("vendor_portal:key_detail", args=[tenant.key.pk]) in content
    assert _usage(tenant.key) in content
    canceled = owner_client.get(SUBSCRIPTIONS, {"status": "canceled"}).context["page"]
    assert [s.email for s in canceled] == ["=gone@example.com"]
    found = owner_client.get(SUBSCRIPTIONS, {"q": live.subscription_id}).context["page"]
    assert [s.pk for s in found] == [live.pk]
    rows = _csv(owner_client.get(SUBSCRIPTIONS, {"format": "csv"}))
    assert rows[0][:5] == ["ID", "Created", "Status", "E-mail", "Subscription"]
    assert sorted(r[3] for r in rows[1:]) == ["'=gone@example.com", "live@example.com"]
    active_only = _csv(owner_client.get(SUBSCRIPTIONS, {"format": "csv", "status": "active"}))
    assert [r[4] for r in active_only[1:]] == [live.subscription_id]


def test_read_only_members_see_orders_and_subscriptions(tenant, read_only_client):
    order_of(tenant, email="ro@example.com")

    assert "ro@example.com" in read_only_client.get(ORDERS).content.decode()
    assert read_only_client.get(SUBSCRIPTIONS).status_code == 200
    assert len(_csv(read_only_client.get(ORDERS, {"format": "csv"}))) == 2


def test_the_key_page_links_to_usage_only_for_a_subscription_key(tenant, owner_client):
    detail = reverse("vendor_portal:key_detail", args=[tenant.key.pk])
    assert _usage(tenant.key) not in owner_client.get(detail).content.decode()

    subscription_of(tenant, key=tenant.key, meter_event_name="api_calls")

    assert _usage(tenant.key) in owner_client.get(detail).content.decode()


def test_the_usage_page_lists_records_and_totals(tenant, owner_client):
    sub = subscription_of(tenant, key=tenant.key, meter_event_name="api_calls")
    for n, (quantity, status, error) in enumerate([
            (5, UsageRecord.CONFIRMED, ""), (7, UsageRecord.CONFIRMED, ""),
            (3, UsageRecord.PENDING, "Stripe did not answer"),
            (2, UsageRecord.REJECTED, "No such meter")]):
        UsageRecord.objects.create(
            vendor=tenant.vendor, subscription=sub, key=tenant.key, quantity=quantity,
            identifier=f"usage-{n}", status=status, attempts=n + 1, last_error=error,
            confirmed_at=timezone.now() if status == UsageRecord.CONFIRMED else None)

    response = owner_client.get(_usage(tenant.key))

    assert response.status_code == 200
    totals = response.context["totals"]
    assert (totals.recorded, totals.confirmed, totals.pending, totals.rejected) == (17, 12, 3, 2)
    content = response.content.decode()
    assert "<b>17</b> recorded" in content and "<b>12</b> confirmed by Stripe" in content
    for words in ("Waiting for Stripe", "Confirmed by Stripe", "Refused by Stripe",
                  "Stripe did not answer", "No such meter", "api_calls"):
        assert words in content


def test_another_vendors_key_usage_is_404(tenant, other_tenant, owner_client,
                                          read_only_client):
    assert owner_client.get(_usage(other_tenant.key)).status_code == 404
    assert read_only_client.get(_usage(tenant.key)).status_code == 200
