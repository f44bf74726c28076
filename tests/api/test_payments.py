"""paymentform/CreateSession and subscription/RecordUsage through the official Python client
against a live server, with Stripe a local fake: a one-time form session the buyer pays on,
and metered usage recorded to Stripe once, also when Stripe is down for a while."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from licensing.methods import PaymentForm, Subscription

from apps.api import errors
from apps.api.methods.payments import CURRENCY_INCORRECT, NO_STRIPE, PAYMENT_FORM_NOT_FOUND
from apps.commerce.models import FormSession, Order, UsageRecord
from apps.commerce.models import Subscription as StripeSubscription
from apps.commerce.services import (
    NO_SUBSCRIPTION,
    OptionSpec,
    payment_form_create,
    stripe_account_save,
)
from apps.commerce.tasks import usage_sweep_task
from apps.licensing.models import LicenseTemplate
from apps.licensing.services import token_create
from tests.commerce.conftest import fake_stripe  # noqa: F401  (the fixture)
from tests.commerce.shop import SHOP_KEY, SYSTEM
from tests.factories import ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401


@pytest.fixture
def stripe_on(settings, fake_stripe):  # noqa: F811
    settings.STRIPE_API_BASE = fake_stripe.base_url
    fake_stripe.api_keys.add(SHOP_KEY)
    return fake_stripe


@pytest.fixture
def selling(server, stripe_on):
    stripe_account_save(vendor=server.vendor, actor=SYSTEM, secret_key=SHOP_KEY,
                        webhook_secret="whsec_apitests12")
    template = LicenseTemplate.objects.create(product=server.product, name="Pro", period=30)
    return payment_form_create(vendor=server.vendor, actor=SYSTEM, template=template,
                               title="Editor Pro", currency="usd",
                               options=[OptionSpec("1 seat", 4900)])


def test_create_session_makes_a_one_time_price_the_buyer_pays(server, selling, stripe_on):
    result, message = PaymentForm.create_session(
        server.token, selling.pk, "EUR", 600, price=12.5, heading="Upgrade offer",
        product_name="Editor Pro upgrade", metadata='{"order": 7}')
    assert message == "" and result["result"] == 0
    session_id = result["sessionId"]
    assert FormSession.objects.get(session_id=session_id).amount == 1250

    client = Client()
    url = reverse("storefront:payment_form", args=[selling.public_id]) + f"?sessionId={session_id}"
    page = client.get(url).content.decode()
    assert "Upgrade offer" in page and "12.50 EUR" in page and "49.00" not in page
    response = client.post(url, {"email": "upgrade@example.org"})
    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.amount, order.currency) == (1250, "eur")
    assert stripe_on.sessions[order.checkout_session_id]["amount_total"] == 1250
    # One order per session: the link is used up.
    assert client.get(url).status_code == 410


def test_create_session_without_a_price_sells_the_forms_first_price(server, selling):
    result, _ = PaymentForm.create_session(server.token, selling.pk, "USD", 600)
    assert FormSession.objects.get(session_id=result["sessionId"]).amount == 4900


def test_create_session_for_another_vendors_form_is_not_found(server, selling, stripe_on):
    other = make_vendor("Other seller")
    template = LicenseTemplate.objects.create(product=ProductFactory(vendor=other), name="T")
    theirs = payment_form_create(vendor=other, actor=SYSTEM, template=template, title="Theirs",
                                 currency="usd", options=[OptionSpec("x", 100)])
    assert PaymentForm.create_session(server.token, theirs.pk, "USD", 600) == (
        None, PAYMENT_FORM_NOT_FOUND)
    assert not FormSession.objects.exists()


def _metered(server, key) -> StripeSubscription:
    customer = "cus_metered"
    return StripeSubscription.objects.create(
        vendor=server.vendor, subscription_id="sub_metered", item_id="si_metered", key=key,
        stripe_customer_id=customer, meter_event_name="api_calls", status="active")


def test_record_usage_reaches_stripe_once(server, selling, stripe_on):
    key = make_key(server.product)
    sub = _metered(server, key)

    assert Subscription.record_usage_to_stripe(server.token, server.product.pk, key.key,
                                               amount=5)[1] == ""
    assert Subscription.record_usage_to_stripe(server.token, server.product.pk, key.key,
                                               amount=2)[1] == ""

    assert stripe_on.meter_total("api_calls", sub.stripe_customer_id, api_key=SHOP_KEY) == 7
    assert sorted(UsageRecord.objects.values_list("quantity", "status")) == [
        (2, "confirmed"), (5, "confirmed")]
    assert usage_sweep_task() == 0  # nothing left to send
    assert stripe_on.meter_total("api_calls", sub.stripe_customer_id, api_key=SHOP_KEY) == 7


def test_record_usage_while_stripe_is_down_is_sent_once_it_is_back(server, selling, stripe_on):
    key = make_key(server.product)
    sub = _metered(server, key)
    stripe_on.down = True

    _, message = Subscription.record_usage_to_stripe(server.token, server.product.pk, key.key,
                                                     amount=4)

    assert message == ""  # kept: the application need not retry
    record = UsageRecord.objects.get()
    assert (record.status, record.attempts) == ("pending", 1)
    assert usage_sweep_task() == 0  # still down
    UsageRecord.objects.update(created=record.created - dt.timedelta(minutes=2))
    assert usage_sweep_task() == 0
    assert UsageRecord.objects.get().attempts == 2
    stripe_on.down = False

    assert usage_sweep_task() == 1
    assert usage_sweep_task() == 0
    assert stripe_on.meter_total("api_calls", sub.stripe_customer_id, api_key=SHOP_KEY) == 4
    assert UsageRecord.objects.get().status == "confirmed"


def test_a_send_whose_answer_was_lost_is_counted_once(server, selling, stripe_on):
    """Stripe took the meter event but the answer never came: the retry carries the same
    identifier and Idempotency-Key, so Stripe counts it once."""
    from apps.commerce import gateway

    key = make_key(server.product)
    sub = _metered(server, key)
    stripe_on.down = True
    Subscription.record_usage_to_stripe(server.token, server.product.pk, key.key, amount=3)
    stripe_on.down = False
    UsageRecord.objects.update(created=UsageRecord.objects.get().created
                               - dt.timedelta(minutes=2))
    record = UsageRecord.objects.get()
    gateway.call(server.vendor.stripe_account, "billing.meter_events.create", params={
        "event_name": "api_calls", "identifier": record.identifier,
        "timestamp": int(record.created.timestamp()),
        "payload": {"stripe_customer_id": sub.stripe_customer_id, "value": "3"}},
        options={"idempotency_key": f"portal-usage-{record.identifier}"})

    assert usage_sweep_task() == 1

    assert stripe_on.meter_total("api_calls", sub.stripe_customer_id, api_key=SHOP_KEY) == 3
    assert UsageRecord.objects.get().status == "confirmed"


def test_a_send_stripe_already_has_beyond_the_idempotency_window_is_counted_once(
        server, selling, stripe_on):
    """Past the idempotency key's 24 hours Stripe refuses the identifier it already has:
    that record is confirmed, not sent again or marked refused."""
    from apps.commerce import gateway

    key = make_key(server.product)
    sub = _metered(server, key)
    stripe_on.down = True
    Subscription.record_usage_to_stripe(server.token, server.product.pk, key.key, amount=6)
    stripe_on.down = False
    record = UsageRecord.objects.get()
    gateway.call(server.vendor.stripe_account, "billing.meter_events.create", params={
        "event_name": "api_calls", "identifier": record.identifier,
        "payload": {"stripe_customer_id": sub.stripe_customer_id, "value": "6"}})

    UsageRecord.objects.update(created=record.created - dt.timedelta(minutes=2))
    assert usage_sweep_task() == 1

    assert stripe_on.meter_total("api_calls", sub.stripe_customer_id, api_key=SHOP_KEY) == 6
    assert UsageRecord.objects.get().status == "confirmed"


def test_record_usage_needs_stripe_and_a_metered_subscription(server, stripe_on):
    key = make_key(server.product)
    assert Subscription.record_usage_to_stripe(server.token, server.product.pk, key.key,
                                               amount=1) == (None, NO_STRIPE)
    stripe_account_save(vendor=server.vendor, actor=SYSTEM, secret_key=SHOP_KEY)
    assert Subscription.record_usage_to_stripe(server.token, server.product.pk, key.key,
                                               amount=1) == (None, NO_SUBSCRIPTION)
    assert not UsageRecord.objects.exists()


def test_a_product_locked_token_sells_only_its_own_products_forms(server, selling):
    other_product = ProductFactory(vendor=server.vendor, name="Other product")
    _, locked = token_create(vendor=server.vendor, actor=SYSTEM, name="locked",
                             permissions=["paymentform.CreateSession"], product=other_product)
    assert PaymentForm.create_session(locked, selling.pk, "USD", 600, price=0.01) == (
        None, errors.KEY_LOCKED)
    _, own = token_create(vendor=server.vendor, actor=SYSTEM, name="own",
                          permissions=["paymentform.CreateSession"], product=server.product)
    assert PaymentForm.create_session(own, selling.pk, "USD", 600)[1] == ""
    assert FormSession.objects.count() == 1


def test_without_a_price_the_session_is_in_the_forms_currency_only(server, selling):
    assert PaymentForm.create_session(server.token, selling.pk, "JPY", 600) == (
        None, CURRENCY_INCORRECT)
    assert PaymentForm.create_session(server.token, selling.pk, "JPY", 600, price=0) == (
        None, CURRENCY_INCORRECT)
    assert not FormSession.objects.exists()


@pytest.mark.parametrize("price", ["1e28", "1e300", "12.345"])
def test_a_price_out_of_range_or_too_precise_is_incorrect_input(server, selling, price):
    assert PaymentForm.create_session(server.token, selling.pk, "USD", 600, price=price) == (
        None, errors.INCORRECT_INPUT)


def test_zero_usage_records_nothing_and_an_ended_subscription_takes_none(server, selling,
                                                                         stripe_on):
    key = make_key(server.product)
    sub = _metered(server, key)
    assert Subscription.record_usage_to_stripe(server.token, server.product.pk, key.key,
                                               amount=0)[1] == ""
    assert not UsageRecord.objects.exists() and not stripe_on.meter_events
    StripeSubscription.objects.filter(pk=sub.pk).update(ended_at=sub.created)
    assert Subscription.record_usage_to_stripe(server.token, server.product.pk, key.key,
                                               amount=2) == (None, NO_SUBSCRIPTION)


def test_a_broker_outage_still_records_the_use_once(server, selling, stripe_on, monkeypatch):
    """The record is kept before the task is queued: with the broker down the application
    is told it is recorded (so it does not send it again) and the sweep sends it."""
    from kombu.exceptions import OperationalError

    from apps.commerce import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis")

    monkeypatch.setattr(tasks.usage_send_task, "delay", broker_down)
    key = make_key(server.product)
    sub = _metered(server, key)

    assert Subscription.record_usage_to_stripe(server.token, server.product.pk, key.key,
                                               amount=7)[1] == ""

    assert UsageRecord.objects.get().status == "pending"
    UsageRecord.objects.update(created=UsageRecord.objects.get().created
                               - dt.timedelta(minutes=2))
    assert usage_sweep_task() == 1
    assert stripe_on.meter_total("api_calls", sub.stripe_customer_id, api_key=SHOP_KEY) == 7
