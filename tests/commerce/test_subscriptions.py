"""Subscriptions sold through the vendor's own Stripe (Checkout, payment links): the vendor
maps a Stripe price to a template; the first paid invoice issues a key whose expiry follows
the paid period plus the grace period; renewals extend it; a failed payment lets it run to
the end of the grace period, then blocks it or lets it expire (the vendor's choice); a
cancellation ends it at the period's end."""

from __future__ import annotations

import datetime as dt

import pytest
import stripe

from apps.commerce.models import PriceMapping, StripeAccount, Subscription
from apps.commerce.services import SUBSCRIPTION_ITEM_OBJECT, subscriptions_enforce
from apps.licensing.models import DataObject, LicenseKey

from .shop import SHOP_KEY, Shop, make_shop

GRACE = 3


@pytest.fixture
def stripe_on(settings, fake_stripe):
    settings.STRIPE_API_BASE = fake_stripe.base_url
    fake_stripe.api_keys.add(SHOP_KEY)
    return fake_stripe


def _stripe(fake) -> stripe.StripeClient:
    return stripe.StripeClient(SHOP_KEY, base_addresses={"api": fake.base_url},
                               max_network_retries=0)


def _when(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


class Seller:
    """The vendor's Stripe side: a monthly price mapped to the shop's template."""

    def __init__(self, shop: Shop, fake, *, metered: bool = False) -> None:
        self.shop, self.fake, self.metered = shop, fake, metered
        client = _stripe(fake)
        recurring: dict = {"interval": "month"}
        if metered:
            meter = client.v1.billing.meters.create(params={
                "display_name": "API calls", "event_name": "api_calls",
                "default_aggregation": {"formula": "sum"}})
            recurring.update(usage_type="metered", meter=meter.id)
        self.price = client.v1.prices.create(params={
            "currency": "usd", "unit_amount": 1500, "recurring": recurring,
            "product_data": {"name": "Editor subscription"}})
        PriceMapping.objects.create(vendor=shop.vendor, price_id=self.price.id,
                                    template=shop.template,
                                    meter_event_name="api_calls" if metered else "")

    def subscribe(self, email: str = "subscriber@example.org") -> str:
        item: dict = {"price": self.price.id}
        if not self.metered:  # Stripe refuses a quantity on a metered price
            item["quantity"] = 1
        session = _stripe(self.fake).v1.checkout.sessions.create(params={
            "mode": "subscription", "success_url": "https://vendor.example/thanks",
            "customer_email": email, "line_items": [item]})
        self.send(self.fake.complete_checkout(session.id))
        return self.fake.sessions[session.id]["subscription"]

    def send(self, events: list[dict]) -> list[tuple[int, str]]:
        answers = [self.shop.deliver(event) for event in events]
        assert all(status == 200 for status, _ in answers), answers
        return answers

    def period_end(self, sub_id: str) -> dt.datetime:
        item = self.fake.subscriptions[sub_id]["items"]["data"][0]
        return _when(item["current_period_end"])


@pytest.fixture
def seller(db, stripe_on) -> Seller:
    return Seller(make_shop(grace_days=GRACE), stripe_on)


def test_a_new_subscription_issues_a_key_running_to_the_period_end_plus_grace(seller):
    sub_id = seller.subscribe()

    sub = Subscription.objects.get(subscription_id=sub_id)
    key = LicenseKey.objects.get()
    assert sub.key == key and key.product == seller.shop.product
    assert key.customer.email == "subscriber@example.org"
    assert key.expires == seller.period_end(sub_id) + dt.timedelta(days=GRACE)
    item = seller.fake.subscriptions[sub_id]["items"]["data"][0]["id"]
    assert DataObject.objects.get(key=key, name=SUBSCRIPTION_ITEM_OBJECT).string_value == item
    assert sub.item_id == item and sub.stripe_customer_id.startswith("cus_")


def test_each_paid_invoice_extends_the_key(seller):
    sub_id = seller.subscribe()
    first_end = seller.period_end(sub_id)

    seller.send(seller.fake.renew(sub_id))

    second_end = seller.period_end(sub_id)
    assert second_end > first_end
    assert LicenseKey.objects.get().expires == second_end + dt.timedelta(days=GRACE)
    assert LicenseKey.objects.count() == 1


def test_a_second_delivery_of_the_first_invoice_issues_nothing_more(seller):
    session = _stripe(seller.fake).v1.checkout.sessions.create(params={
        "mode": "subscription", "success_url": "https://vendor.example/thanks",
        "customer_email": "twice@example.org",
        "line_items": [{"price": seller.price.id, "quantity": 1}]})
    events = seller.fake.complete_checkout(session.id)
    seller.send(events)
    assert seller.send(events) == [(200, "Already handled.")] * len(events)
    invoice_paid = next(e for e in events if e["type"] == "invoice.paid")
    replay = {**invoice_paid, "id": invoice_paid["id"] + "_resent"}  # same invoice, new event
    seller.send([replay])
    assert LicenseKey.objects.count() == 1


@pytest.mark.parametrize("on_failed, blocked_after_grace", [("expire", False), ("block", True)])
def test_a_failed_payment_runs_to_the_end_of_the_grace_period(seller, on_failed,
                                                              blocked_after_grace):
    StripeAccount.objects.update(on_payment_failed=on_failed)
    sub_id = seller.subscribe()
    paid_end = seller.period_end(sub_id)
    key = LicenseKey.objects.get()

    seller.send(seller.fake.fail_payment(sub_id))

    key.refresh_from_db()
    assert key.expires == paid_end + dt.timedelta(days=GRACE)  # not extended, not cut
    assert not key.block
    assert subscriptions_enforce(now=paid_end + dt.timedelta(days=GRACE - 1)) == 0
    assert subscriptions_enforce(now=paid_end + dt.timedelta(days=GRACE, minutes=1)) == int(
        blocked_after_grace)
    key.refresh_from_db()
    assert key.block is blocked_after_grace

    seller.send(seller.fake.renew(sub_id))  # the retry succeeds

    key.refresh_from_db()
    assert not key.block
    assert key.expires == seller.period_end(sub_id) + dt.timedelta(days=GRACE)


def test_a_cancellation_ends_the_key_at_the_periods_end(seller):
    sub_id = seller.subscribe()
    end = seller.period_end(sub_id)

    seller.send(seller.fake.cancel(sub_id, at_period_end=True))

    key = LicenseKey.objects.get()
    assert key.expires == end  # no grace: nothing will renew
    seller.send(seller.fake.renew(sub_id))  # the period ends: Stripe deletes it
    sub = Subscription.objects.get()
    key.refresh_from_db()
    assert sub.status == "canceled" and sub.ended_at is not None
    assert key.expires == end


def test_an_immediate_cancellation_keeps_what_was_paid_for(seller):
    sub_id = seller.subscribe()
    end = seller.period_end(sub_id)
    seller.send(seller.fake.cancel(sub_id, at_period_end=False))
    assert LicenseKey.objects.get().expires == end
    assert Subscription.objects.get().status == "canceled"


def test_an_unmapped_price_issues_no_key(db, stripe_on):
    shop = make_shop()
    seller = Seller(shop, stripe_on)
    PriceMapping.objects.all().delete()
    session = _stripe(stripe_on).v1.checkout.sessions.create(params={
        "mode": "subscription", "success_url": "https://vendor.example/thanks",
        "customer_email": "x@example.org",
        "line_items": [{"price": seller.price.id, "quantity": 1}]})
    answers = seller.send(stripe_on.complete_checkout(session.id))
    assert any("no template is mapped" in outcome for _, outcome in answers)
    assert not LicenseKey.objects.exists()


def test_a_metered_subscription_gets_its_key_at_once_and_runs_with_its_period(db, stripe_on):
    """Billed in arrears: the first invoice has nothing to pay, so the key comes with the
    subscription itself and follows the current period while it is in good standing."""
    seller = Seller(make_shop(grace_days=GRACE), stripe_on, metered=True)
    sub_id = seller.subscribe()

    key = LicenseKey.objects.get()
    sub = Subscription.objects.get(subscription_id=sub_id)
    assert sub.key == key and sub.meter_event_name == "api_calls"
    assert key.expires == seller.period_end(sub_id) + dt.timedelta(days=GRACE)

    seller.send(seller.fake.renew(sub_id))

    key.refresh_from_db()
    assert key.expires == seller.period_end(sub_id) + dt.timedelta(days=GRACE)
    assert LicenseKey.objects.count() == 1


def test_the_subscriber_is_emailed_the_key(seller, django_capture_on_commit_callbacks):
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        seller.subscribe("mail@example.org")
    key = LicenseKey.objects.get()
    assert [m.to for m in mail.outbox] == [["mail@example.org"]]
    assert key.key in mail.outbox[0].body


@pytest.mark.parametrize("how", ["refund", "dispute"])
def test_a_refunded_or_disputed_subscription_payment_blocks_the_key(seller, how):
    sub_id = seller.subscribe()
    invoice = seller.fake.subscriptions[sub_id]["latest_invoice"]
    invoice_id = invoice if isinstance(invoice, str) else invoice["id"]

    seller.send(getattr(seller.fake, how)(invoice_id))

    key = LicenseKey.objects.get()
    assert key.block
    seller.send(seller.fake.renew(sub_id))  # a later invoice does not lift that block
    key.refresh_from_db()
    assert key.block


def test_a_paid_invoice_never_lifts_a_block_the_vendor_set_by_hand(seller):
    from apps.audit.log import Actor
    from apps.licensing.services import key_set_blocked

    StripeAccount.objects.update(on_payment_failed="block")
    sub_id = seller.subscribe()
    paid_end = seller.period_end(sub_id)
    seller.send(seller.fake.fail_payment(sub_id))
    assert subscriptions_enforce(now=paid_end + dt.timedelta(days=GRACE + 1)) == 1
    key = LicenseKey.objects.get()
    vendor = Actor.for_system("vendor by hand")
    key_set_blocked(key=key, actor=vendor, blocked=False)
    key_set_blocked(key=key, actor=vendor, blocked=True)  # for abuse, say

    seller.send(seller.fake.renew(sub_id))

    key.refresh_from_db()
    assert key.block


def test_subscription_changes_tell_the_vendors_webhooks(seller, settings):
    from apps.audit.log import Actor
    from apps.webhooks.models import WebhookEvent
    from apps.webhooks.services import endpoint_create

    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    endpoint_create(vendor=seller.shop.vendor, actor=Actor.for_system("test"),
                    url="http://127.0.0.1:9/hook", events=["subscription.changed"])
    sub_id = seller.subscribe()
    seller.send(seller.fake.fail_payment(sub_id))

    payloads = [e.payload["data"]["object"] for e in
                WebhookEvent.objects.filter(type="subscription.changed").order_by("id")]
    assert {p["SubscriptionId"] for p in payloads} == {sub_id}
    assert payloads[-1]["Status"] == "past_due" and payloads[-1]["PaymentFailedAt"]
    assert any(p["Key"] == LicenseKey.objects.get().key for p in payloads)
