"""A buyer pays on a payment form: the order, Stripe Checkout (the local fake), the signed
webhooks, one key from the form's template, the buyer's e-mail, and the return page that
shows the key once the payment is confirmed and never before."""

from __future__ import annotations

import json
import time

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.audit.models import ObjectLogEntry
from apps.commerce.models import Order, StripeEvent
from apps.licensing.models import Customer, LicenseKey
from tests.factories import CustomerFactory

from .shop import SHOP_KEY, SYSTEM, Shop, make_shop


@pytest.fixture
def stripe_on(settings, fake_stripe):
    settings.STRIPE_API_BASE = fake_stripe.base_url
    fake_stripe.api_keys.add(SHOP_KEY)
    return fake_stripe


@pytest.fixture
def shop(db, stripe_on) -> Shop:
    return make_shop()


def _buy(shop: Shop, client: Client, *, option=None, email="buyer@example.org", **extra):
    url = reverse("storefront:payment_form", args=[shop.form.public_id])
    data = {"option": (option or shop.one_seat).pk, "email": email, "name": "Bea Buyer",
            **extra}
    return client.post(url, data)


def _checkout(shop: Shop, stripe_on, client: Client, **kwargs) -> tuple[Order, str]:
    """Buy; returns the order and the buyer's return-page URL (Stripe's success_url)."""
    response = _buy(shop, client, **kwargs)
    assert response.status_code == 302, response.content[:500]
    order = Order.objects.get()
    assert response["Location"].startswith(stripe_on.base_url)
    session = stripe_on.sessions[order.checkout_session_id]
    return order, session["success_url"].replace("http://testserver", "")


def _pay(shop: Shop, stripe_on, order: Order) -> list[dict]:
    events = stripe_on.complete_checkout(order.checkout_session_id)
    for event in events:
        assert shop.deliver(event)[0] == 200
    return events


def test_the_form_page_shows_the_prices_in_a_plain_form(shop, client):
    page = client.get(reverse("storefront:payment_form", args=[shop.form.public_id]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Buy Editor" in html and "49.00 USD" in html and "199.00 USD" in html
    assert '<form method="post">' in html and 'type="radio"' in html  # no script needed


def test_a_paid_order_issues_one_key_and_the_page_shows_it_only_then(
        shop, stripe_on, client, django_capture_on_commit_callbacks):
    order, return_url = _checkout(shop, stripe_on, client)
    waiting = client.get(return_url).content.decode()
    assert "Waiting for the payment" in waiting
    assert not LicenseKey.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        _pay(shop, stripe_on, order)

    order.refresh_from_db()
    key = LicenseKey.objects.get()
    assert (order.status, order.key, key.product) == (Order.PAID, key, shop.product)
    assert key.customer.email == "buyer@example.org"
    assert key.max_no_of_machines == 1 and key.period == 365
    shown = client.get(return_url).content.decode()
    assert key.key in shown and "Waiting for the payment" not in shown
    assert len(mail.outbox) == 1 and key.key in mail.outbox[0].body
    assert mail.outbox[0].to == ["buyer@example.org"]


def test_the_return_page_needs_the_buyers_own_token(shop, stripe_on, client):
    order, return_url = _checkout(shop, stripe_on, client)
    _pay(shop, stripe_on, order)
    assert client.get(reverse("storefront:order", args=["guess" * 8])).status_code == 404
    assert client.get(return_url).status_code == 200


def test_a_second_delivery_or_the_other_event_changes_nothing(
        shop, stripe_on, client, django_capture_on_commit_callbacks):
    order, _ = _checkout(shop, stripe_on, client)
    with django_capture_on_commit_callbacks(execute=True):
        events = _pay(shop, stripe_on, order)
    key = Order.objects.get().key

    with django_capture_on_commit_callbacks(execute=True):
        for event in events:  # Stripe retries: each event again
            assert shop.deliver(event) == (200, "Already handled.")

    assert list(LicenseKey.objects.all()) == [key]
    assert len(mail.outbox) == 1


def test_payment_intent_succeeded_before_checkout_completed(shop, stripe_on, client):
    order, _ = _checkout(shop, stripe_on, client)
    completed, succeeded = stripe_on.complete_checkout(order.checkout_session_id)
    assert completed["type"] == "checkout.session.completed"

    assert shop.deliver(succeeded)[0] == 200
    key = Order.objects.get().key
    assert key is not None
    status, outcome = shop.deliver(completed)

    assert status == 200 and "already has key" in outcome
    assert list(LicenseKey.objects.all()) == [key]
    assert Order.objects.get().payment_intent_id == succeeded["data"]["object"]["id"]


def test_the_five_seat_price_makes_a_five_seat_key(shop, stripe_on, client):
    order, _ = _checkout(shop, stripe_on, client, option=shop.five_seats)
    _pay(shop, stripe_on, order)
    assert LicenseKey.objects.get().max_no_of_machines == 5
    assert stripe_on.sessions[order.checkout_session_id]["amount_total"] == 19900


def test_an_existing_customer_is_matched_by_email(shop, stripe_on, client):
    known = CustomerFactory(vendor=shop.vendor, email="Buyer@Example.org")
    order, _ = _checkout(shop, stripe_on, client)
    _pay(shop, stripe_on, order)
    assert LicenseKey.objects.get().customer == known
    assert Customer.objects.filter(vendor=shop.vendor).count() == 1


@pytest.mark.parametrize("on_refund, blocked", [("block", True), ("keep", False)])
def test_a_refund_blocks_the_key_if_the_vendor_chose_so(db, stripe_on, client, on_refund,
                                                        blocked):
    shop = make_shop(on_refund=on_refund)
    order, return_url = _checkout(shop, stripe_on, client)
    _pay(shop, stripe_on, order)
    order.refresh_from_db()

    for event in stripe_on.refund(order.payment_intent_id):
        assert shop.deliver(event)[0] == 200

    order.refresh_from_db()
    assert order.status == Order.REFUNDED
    assert order.key.block is blocked
    assert "refunded" in client.get(return_url).content.decode()


def test_a_chargeback_blocks_the_key(shop, stripe_on, client):
    order, _ = _checkout(shop, stripe_on, client)
    _pay(shop, stripe_on, order)
    order.refresh_from_db()
    for event in stripe_on.dispute(order.payment_intent_id):
        assert shop.deliver(event)[0] == 200
    order.refresh_from_db()
    assert (order.status, order.key.block) == (Order.DISPUTED, True)


def test_a_tampered_or_stale_or_foreign_signed_webhook_is_refused(shop, stripe_on, client):
    order, _ = _checkout(shop, stripe_on, client)
    completed, _ = stripe_on.complete_checkout(order.checkout_session_id)
    payload = json.dumps(completed).encode()

    tampered = payload.replace(b'"paid"', b'"PAID"')
    assert shop.deliver(completed, body=tampered)[0] == 400
    assert shop.deliver(completed, timestamp=int(time.time()) - 301)[0] == 400
    assert shop.deliver(completed, secret="whsec_someoneelse1")[0] == 400
    unsigned = client.post(shop.webhook_url, payload, content_type="application/json")
    assert unsigned.status_code == 400

    assert not LicenseKey.objects.exists() and not StripeEvent.objects.exists()
    assert Order.objects.get().status == Order.PENDING
    refusals = ObjectLogEntry.objects.filter(vendor=shop.vendor, action="webhook refused")
    assert refusals.count() == 4


def test_another_vendors_webhook_secret_cannot_issue_this_vendors_keys(shop, stripe_on, client):
    order, _ = _checkout(shop, stripe_on, client)
    completed, _ = stripe_on.complete_checkout(order.checkout_session_id)
    other = make_shop("Other Shop", webhook_secret="whsec_othervendor1")

    # Signed with the other vendor's secret: refused at this vendor's address ...
    assert shop.deliver(completed, secret=other.webhook_secret)[0] == 400
    # ... and at the other vendor's own address the event names no order of theirs.
    assert other.deliver(completed) == (200, "no order of this account")

    assert not LicenseKey.objects.exists()
    assert Order.objects.get().status == Order.PENDING


def test_events_the_portal_does_not_use_are_answered_200(shop):
    event = {"id": "evt_other", "object": "event", "type": "customer.created",
             "data": {"object": {"id": "cus_1", "object": "customer"}}}
    assert shop.deliver(event) == (200, "not used by the portal")
    assert shop.deliver({"id": "x"})[0] == 400  # not an event at all


def test_stripe_down_shows_a_form_error_and_keeps_no_order(shop, stripe_on, client):
    stripe_on.down = True
    response = _buy(shop, client)
    assert response.status_code == 200
    assert "Payments are unavailable right now" in response.content.decode()
    assert not Order.objects.exists()


def test_bad_input_is_a_form_error(shop, client):
    for data in ({"option": shop.one_seat.pk, "email": "not-an-address"},
                 {"option": 999999, "email": "a@example.org"},
                 {"option": "abc", "email": "a@example.org"},
                 {"email": "a@example.org"}):
        response = client.post(reverse("storefront:payment_form",
                                       args=[shop.form.public_id]), data)
        assert response.status_code == 200
        assert 'class="errorlist' in response.content.decode()
    assert not Order.objects.exists()


def test_another_forms_price_cannot_be_bought_here(shop, stripe_on, client):
    other = make_shop("Cheap Shop")
    response = _buy(shop, client, option=other.one_seat)
    assert response.status_code == 200 and not Order.objects.exists()


def test_an_inactive_or_unknown_form_is_404(shop, client):
    shop.form.active = False
    shop.form.save()
    assert client.get(reverse("storefront:payment_form",
                              args=[shop.form.public_id])).status_code == 404
    assert client.get(reverse("storefront:payment_form", args=["nope"])).status_code == 404


def test_an_expired_checkout_says_so(shop, stripe_on, client):
    order, return_url = _checkout(shop, stripe_on, client)
    event = {"id": "evt_exp", "object": "event", "type": "checkout.session.expired",
             "data": {"object": {**stripe_on.sessions[order.checkout_session_id],
                                 "status": "expired"}}}
    assert shop.deliver(event)[0] == 200
    assert Order.objects.get().status == Order.EXPIRED
    assert "expired before it was paid" in client.get(return_url).content.decode()


def test_secrets_are_stored_encrypted(shop):
    account = type(shop.account).objects.get()
    assert shop.secret_key not in account.secret_key_encrypted
    assert shop.webhook_secret not in account.webhook_secret_encrypted
    assert account.secret_key_hint == "sk_test_…0001"
    assert account.webhook_secret_hint == "whsec_…ret1"


@pytest.mark.parametrize("obj", [
    {"object": "checkout.session", "mode": "payment", "payment_status": "paid",
     "metadata": {"portal_order": "9" * 40}},
    {"object": "checkout.session", "mode": "payment", "metadata": "not a dict"},
    {"object": "subscription", "id": "sub_x", "items": "not a list"},
    {"object": "invoice", "parent": {"subscription_details": {"subscription": "sub_y"}},
     "lines": {"data": [{"period": {"end": "soon"}}]}},
])
def test_a_signed_but_misshapen_event_is_refused_or_ignored_never_a_500(shop, obj):
    kind = {"checkout.session": "checkout.session.completed",
            "subscription": "customer.subscription.updated",
            "invoice": "invoice.paid"}[obj["object"]]
    status, _ = shop.deliver({"id": f"evt_{kind}", "object": "event", "type": kind,
                              "data": {"object": obj}})
    assert status in (200, 400)
    assert not LicenseKey.objects.exists()


def test_a_long_name_from_stripe_still_issues_the_key(shop, stripe_on, client):
    order, _ = _checkout(shop, stripe_on, client, name="")
    completed, _ = stripe_on.complete_checkout(order.checkout_session_id)
    completed["data"]["object"]["customer_details"] = {"email": "buyer@example.org",
                                                       "name": "N" * 300}
    assert shop.deliver(completed)[0] == 200
    order.refresh_from_db()
    assert order.key is not None and order.name == "N" * 100


def test_stripes_words_reach_the_vendors_log_not_the_buyer(shop, stripe_on, client):
    stripe_on.api_keys.discard(SHOP_KEY)  # the vendor's key was revoked in Stripe
    response = _buy(shop, client)
    html = response.content.decode()
    assert "This form is not taking orders right now" in html
    assert "API Key" not in html and "sk_test" not in html
    entry = ObjectLogEntry.objects.get(vendor=shop.vendor, action="checkout refused by Stripe")
    assert "Invalid API Key" in str(entry.changes)
    assert not Order.objects.exists()


def test_a_paid_order_tells_the_vendors_webhooks(shop, stripe_on, client, settings):
    from apps.webhooks.models import WebhookEvent
    from apps.webhooks.services import endpoint_create

    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    endpoint_create(vendor=shop.vendor, actor=SYSTEM, url="http://127.0.0.1:9/hook",
                    events=["order.completed", "customer.created", "key.created"])
    order, _ = _checkout(shop, stripe_on, client)
    _pay(shop, stripe_on, order)

    assert list(WebhookEvent.objects.order_by("id").values_list("type", flat=True)) == [
        "customer.created", "key.created", "order.completed"]
    data = WebhookEvent.objects.get(type="order.completed").payload["data"]["object"]
    key = Order.objects.get().key
    assert (data["Status"], data["Key"], data["LicenseKey"]["Key"]) == ("paid", key.key,
                                                                        key.key)
    assert data["Amount"] == 4900 and data["Currency"] == "usd"
