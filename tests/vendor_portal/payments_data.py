"""Rows for the payment pages' tests, made as Stripe's webhooks would leave them."""

from __future__ import annotations

import itertools

from django.utils import timezone

from apps.audit.log import Actor
from apps.commerce.models import Order, PaymentForm, StripeAccount, Subscription
from apps.commerce.services import OptionSpec, payment_form_create, stripe_account_save
from apps.licensing.models import LicenseTemplate
from tests.conftest import Tenant

SYSTEM = Actor.for_system("test")
SECRET_KEY = "sk_test_51AbCdEfGhIjKlMnOpQrStUv4242"
WEBHOOK_SECRET = "whsec_ZyXwVuTsRqPoNmLk9876"
_numbers = itertools.count(1)


def template_of(tenant: Tenant, name: str = "Pro") -> LicenseTemplate:
    return LicenseTemplate.objects.get_or_create(product=tenant.product, name=name,
                                                 defaults={"period": 365})[0]


def account_of(tenant: Tenant) -> StripeAccount:
    return stripe_account_save(vendor=tenant.vendor, actor=SYSTEM, secret_key=SECRET_KEY,
                               webhook_secret=WEBHOOK_SECRET)


def form_of(tenant: Tenant, title: str = "Pro licence", **fields) -> PaymentForm:
    fields.setdefault("options", [OptionSpec("1 seat", 4900), OptionSpec("5 seats", 19900, 5)])
    return payment_form_create(vendor=tenant.vendor, actor=SYSTEM, template=template_of(tenant),
                               title=title, currency=fields.pop("currency", "eur"), **fields)


def order_of(tenant: Tenant, **fields) -> Order:
    n = next(_numbers)
    fields.setdefault("status", Order.PAID)
    fields.setdefault("email", f"buyer{n}@example.com")
    fields.setdefault("checkout_session_id", f"cs_test_{n:06d}")
    fields.setdefault("payment_intent_id", f"pi_test_{n:06d}")
    if fields["status"] == Order.PAID:
        fields.setdefault("paid_at", timezone.now())
    return Order.objects.create(vendor=tenant.vendor, description="Pro licence: 1 seat",
                                amount=fields.pop("amount", 4900),
                                currency=fields.pop("currency", "eur"),
                                return_token_hash=f"hash-{n}-{tenant.vendor.pk}", **fields)


def subscription_of(tenant: Tenant, **fields) -> Subscription:
    n = next(_numbers)
    fields.setdefault("status", "active")
    fields.setdefault("email", f"subscriber{n}@example.com")
    fields.setdefault("price_id", "price_monthly")
    return Subscription.objects.create(vendor=tenant.vendor, subscription_id=f"sub_test_{n:06d}",
                                       item_id=f"si_test_{n:06d}", **fields)
