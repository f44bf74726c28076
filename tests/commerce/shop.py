"""A vendor that sells through Stripe, for the payments tests: a product, a template, a
payment form with two prices and the vendor's Stripe account (keys of the local fake)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.urls import reverse

from apps.accounts.models import Vendor
from apps.audit.log import Actor
from apps.commerce.models import PaymentForm, PaymentFormOption, StripeAccount
from apps.commerce.services import OptionSpec, payment_form_create, stripe_account_save
from apps.licensing.models import LicenseTemplate, Product
from apps.licensing.services.resellers import template_create
from tests.factories import ProductFactory, make_vendor

from .fake_stripe import sign

SYSTEM = Actor.for_system("test")
# The Stripe secret key of every test shop; the fake must accept it (stripe_on adds it).
SHOP_KEY = "sk_test_shop00000001"


@dataclass
class Shop:
    vendor: Vendor
    product: Product
    template: LicenseTemplate
    account: StripeAccount
    form: PaymentForm
    secret_key: str
    webhook_secret: str

    @property
    def one_seat(self) -> PaymentFormOption:
        return self.form.options.get(seats=0)

    @property
    def five_seats(self) -> PaymentFormOption:
        return self.form.options.get(seats=5)

    @property
    def webhook_url(self) -> str:
        return reverse("storefront:stripe_webhook", args=[self.account.webhook_path])

    def deliver(self, event: dict[str, Any], *, secret: str | None = None,
                timestamp: int | None = None, client: Client | None = None,
                body: bytes | None = None) -> tuple[int, str]:
        """POST one event to the vendor's webhook address, signed as Stripe signs; `body`
        replaces what is sent (not what was signed), as a tampering proxy would."""
        payload = json.dumps(event).encode()
        header = sign(payload, secret or self.webhook_secret,
                      timestamp=timestamp if timestamp is not None else int(time.time()))
        response = (client or Client()).post(self.webhook_url,
                                             payload if body is None else body,
                                             content_type="application/json",
                                             HTTP_STRIPE_SIGNATURE=header)
        return response.status_code, response.content.decode()


def make_shop(name: str = "Shop Ltd", *, secret_key: str = SHOP_KEY,
              webhook_secret: str = "whsec_testsecret1", grace_days: int = 3,
              on_refund: str = "block", on_payment_failed: str = "expire") -> Shop:
    vendor = make_vendor(name)
    product = ProductFactory(vendor=vendor, name=f"{name} Editor")
    template = template_create(product=product, actor=SYSTEM, name="Editor, 1 year",
                               period=365, max_no_of_machines=1)
    account = stripe_account_save(vendor=vendor, actor=SYSTEM, secret_key=secret_key,
                                  webhook_secret=webhook_secret, grace_days=grace_days,
                                  on_refund=on_refund, on_payment_failed=on_payment_failed)
    form = payment_form_create(
        vendor=vendor, actor=SYSTEM, template=template, title="Buy Editor", currency="usd",
        description="One year of updates.",
        options=[OptionSpec("1 seat", 4900), OptionSpec("5 seats", 19900, seats=5)])
    return Shop(vendor, product, template, account, form, secret_key, webhook_secret)
