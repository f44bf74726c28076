"""The customer portal links the customer's people to Stripe's billing portal for their
own subscriptions (invoices, payment method, cancelling)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.commerce.models import Subscription
from apps.commerce.services import stripe_account_save
from tests.commerce.conftest import fake_stripe  # noqa: F401  (the fixture)
from tests.commerce.shop import SHOP_KEY, SYSTEM

from .personas import client_for

LIST = reverse("customer_portal:license_list")
BILLING = reverse("customer_portal:billing_portal")


@pytest.fixture
def billed(portal, settings, fake_stripe):  # noqa: F811
    settings.STRIPE_API_BASE = fake_stripe.base_url
    fake_stripe.api_keys.add(SHOP_KEY)
    stripe_account_save(vendor=portal.tenant.vendor, actor=SYSTEM, secret_key=SHOP_KEY)
    customer = fake_stripe.add_customer("admin@customer.example", api_key=SHOP_KEY)
    Subscription.objects.create(vendor=portal.tenant.vendor, subscription_id="sub_1",
                                customer=portal.customer, key=portal.key,
                                stripe_customer_id=customer["id"], status="active")
    return customer


def test_a_customer_with_a_subscription_is_sent_to_stripes_billing_portal(
        portal, billed, fake_stripe):  # noqa: F811
    client = client_for(portal.reader)
    assert "Manage billing" in client.get(LIST).content.decode()

    response = client.post(BILLING)

    assert response.status_code == 302
    assert response["Location"] == f"{fake_stripe.base_url}/billing/{billed['id']}"
    sent = [params for method, path, params, _ in fake_stripe.requests
            if path == "/v1/billing_portal/sessions"]
    assert sent == [{"customer": billed["id"], "return_url": "http://testserver" + LIST}]


def test_another_customer_has_no_billing_link_and_reaches_nothing(portal, billed, fake_stripe):  # noqa: F811
    client = client_for(portal.neighbour_admin)
    assert "Manage billing" not in client.get(LIST).content.decode()
    response = client.post(BILLING, follow=True)
    assert "You have no subscription to manage." in response.content.decode()
    assert not [r for r in fake_stripe.requests if r[1] == "/v1/billing_portal/sessions"]


def test_stripe_down_is_a_message_not_an_error_page(portal, billed, fake_stripe):  # noqa: F811
    fake_stripe.down = True
    response = client_for(portal.admin).post(BILLING, follow=True)
    assert response.status_code == 200
    assert "Payments are unavailable right now" in response.content.decode()
