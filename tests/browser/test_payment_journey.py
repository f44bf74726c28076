"""Payment forms in the browser (issue #18): a buyer opens a vendor's payment form, pays on
Stripe's hosted Checkout (the local fake), Stripe's signed webhook reaches the portal, the
buyer's order page shows the key, and the official Python client activates it.

Browsers apply the Content-Security-Policy's form-action to the redirects that follow a form
submission, so the form page's policy must allow Stripe's Checkout (here the fake, named by
STRIPE_API_BASE): test_the_portals_policy_lets_the_form_reach_stripe keeps it so (it failed
while the page sent `form-action 'self'` only).
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from licensing.internal import HelperMethods
from licensing.methods import Helpers, Key
from licensing.models import LicenseKey as ClientLicenseKey

from apps.audit.log import Actor
from apps.commerce.models import Order
from apps.licensing.models import LicenseKey
from apps.licensing.services import token_create
from apps.licensing.signing import public_key_xml
from tests.commerce.conftest import fake_stripe  # noqa: F401  (the fixture)
from tests.commerce.fake_stripe import FakeStripe
from tests.commerce.shop import SHOP_KEY, Shop, make_shop

from .conftest import DEFAULT_TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUYER_EMAIL = "bea.buyer@example.org"
BUYER_NAME = "Bea Buyer"
CHECKOUT_HEADING = "Fake Stripe Checkout"


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    cache.clear()  # orders of earlier tests must not count against this one's address


@pytest.fixture
def shop(settings, fake_stripe, live_server, transactional_db) -> Shop:  # noqa: F811
    """A vendor selling through the fake Stripe, whose webhooks reach the live server."""
    settings.STRIPE_API_BASE = fake_stripe.base_url  # the live server's thread sees it too
    fake_stripe.api_keys.add(SHOP_KEY)
    shop = make_shop()
    fake_stripe.webhooks[SHOP_KEY] = (live_server.url + shop.webhook_url, shop.webhook_secret)
    return shop


def form_path(shop: Shop) -> str:
    return reverse("storefront:payment_form", args=[shop.form.public_id])


def new_context(browser, live_server, **options):
    """A fresh context like the `page` fixture's; CSP violations are collected in the list."""
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 1280, "height": 800}, **options)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    return context, page, blocked


def open_the_form(page, shop: Shop, fake: FakeStripe) -> None:
    page.goto(form_path(shop))
    page.get_by_role("heading", name="Buy Editor").wait_for()


def fill_the_form(page, shop: Shop, fake: FakeStripe, option: str) -> None:
    open_the_form(page, shop, fake)
    fill_in(page, option)


def fill_in(page, option: str) -> None:
    page.get_by_label(f"{option}: ").check()
    page.get_by_label("E-mail").fill(BUYER_EMAIL)
    page.get_by_label("Your name").fill(BUYER_NAME)


def to_checkout(page, amount: str) -> None:
    """Submit the form; the buyer lands on Stripe's hosted page with the amount to pay."""
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_role("heading", name=CHECKOUT_HEADING).wait_for()
    assert page.locator("#amount").inner_text() == amount


def pay(page) -> None:
    """Pay on the hosted page; Stripe redirects to the portal's order page."""
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("heading", name="Your order").wait_for()


def the_key_shown(page) -> str:
    field = page.locator("input#license-key")
    field.wait_for()
    return field.input_value()


def test_a_buyer_pays_and_the_python_client_activates_the_key(
        page, live_server, screenshot, shop, fake_stripe, monkeypatch):  # noqa: F811
    open_the_form(page, shop, fake_stripe)
    assert page.get_by_label("1 seat: 49.00 USD").is_visible()
    assert page.get_by_label("5 seats: 199.00 USD").is_visible()
    fill_in(page, "5 seats")
    screenshot(page, "payment_form")

    to_checkout(page, "199.00 USD")
    assert page.url.startswith(fake_stripe.base_url)
    assert page.get_by_text("Buy Editor: 5 seats").is_visible()
    screenshot(page, "payment_fake_checkout")
    pay(page)
    assert page.url.startswith(live_server.url + "/order/")

    order = Order.objects.select_related("key").get()
    assert order.status == Order.PAID
    assert the_key_shown(page) == order.key.key
    assert page.get_by_text("Thank you: the payment is confirmed.").is_visible()
    assert page.get_by_text("The key allows 5 devices.").is_visible()
    assert page.get_by_text(f"We also sent it to {BUYER_EMAIL}.").is_visible()
    screenshot(page, "payment_order_paid")
    assert [message.to for message in mail.outbox] == [[BUYER_EMAIL]]
    assert order.key.key in mail.outbox[0].body

    # The buyer's software: the official client, against the live server's Web API.
    monkeypatch.setattr(HelperMethods, "server_address", live_server.url + "/api/")
    token = token_create(vendor=shop.vendor, actor=Actor.for_system("test"), name="app",
                         permissions=["key.Activate"])[1]
    pubkey = public_key_xml(shop.vendor.signing_key.public_key_pem)
    license_key, message = Key.activate(token=token, rsa_pub_key=pubkey,
                                        product_id=shop.product.pk, key=order.key.key,
                                        machine_code="buyer-pc")
    assert license_key is not None, message  # None also when the signature does not verify
    assert license_key.key == order.key.key
    assert license_key.max_no_of_machines == 5
    assert Helpers.IsOnRightMachine(license_key, custom_machine_code="buyer-pc")
    reloaded = ClientLicenseKey.load_from_string(pubkey, license_key.save_as_string())
    assert reloaded is not None and reloaded.max_no_of_machines == 5
    assert order.key.activations.filter(machine_code="buyer-pc").count() == 1


def test_the_order_page_waits_for_the_webhook_before_it_shows_the_key(
        page, screenshot, shop, fake_stripe):  # noqa: F811
    fake_stripe.hold_webhooks = True
    fill_the_form(page, shop, fake_stripe, "1 seat")
    to_checkout(page, "49.00 USD")
    pay(page)

    page.get_by_text("Waiting for the payment.").wait_for()
    assert page.locator("input#license-key").count() == 0
    assert not re.search(r"\b[A-Z]{5}-[A-Z]{5}-[A-Z]{5}-[A-Z]{5}\b", page.content())
    assert not LicenseKey.objects.exists()
    screenshot(page, "payment_order_waiting")

    delivered = fake_stripe.release_webhooks()
    assert [status for status, _ in delivered] == [200, 200], delivered
    page.reload()
    key = the_key_shown(page)
    assert key == Order.objects.get().key.key
    assert page.get_by_text("The key allows 1 device.").is_visible()
    assert not page.get_by_text("Waiting for the payment").is_visible()


def test_the_form_works_without_javascript(browser, live_server, screenshot, shop,
                                          fake_stripe):  # noqa: F811
    context, page, blocked = new_context(browser, live_server, java_script_enabled=False)
    try:
        fill_the_form(page, shop, fake_stripe, "1 seat")
        to_checkout(page, "49.00 USD")
        pay(page)
        key = the_key_shown(page)
        screenshot(page, "payment_order_paid_no_js")
    finally:
        context.close()
    order = Order.objects.select_related("key").get()
    assert key == order.key.key
    assert order.key.max_no_of_machines == 1
    assert blocked == [], "the Content-Security-Policy blocked something"


def test_a_double_submitted_form_issues_one_key_for_one_payment(
        page, live_server, shop, fake_stripe):  # noqa: F811
    fill_the_form(page, shop, fake_stripe, "5 seats")
    posts: list = []
    page.on("request", lambda request: posts.append(request)
            if request.method == "POST" and request.url.endswith(form_path(shop)) else None)
    # An impatient buyer double-clicks; the browser may or may not cancel the first request.
    page.get_by_role("button", name="Continue to payment").dblclick()
    page.get_by_role("heading", name=CHECKOUT_HEADING).wait_for()
    assert posts, "the form was not submitted"
    # The same POST once more (same CSRF token and cookie), as a slow network resends it.
    replay = page.context.request.post(
        live_server.url + form_path(shop), data=posts[0].post_data_buffer,
        headers={"Content-Type": "application/x-www-form-urlencoded"}, max_redirects=0)
    assert replay.status == 302 and replay.headers["location"].startswith(fake_stripe.base_url)
    assert Order.objects.count() >= 2

    pay(page)
    key = the_key_shown(page)

    assert list(LicenseKey.objects.filter(product=shop.product)
                .values_list("key", flat=True)) == [key]
    paid = Order.objects.exclude(status=Order.PENDING)
    assert [(order.status, order.key.key) for order in paid] == [(Order.PAID, key)]
    assert not Order.objects.filter(status=Order.PENDING, key__isnull=False).exists()
    # Going back to the order page (a reload) shows the same key and issues nothing new.
    page.reload()
    assert the_key_shown(page) == key
    assert LicenseKey.objects.filter(product=shop.product).count() == 1


def test_the_portals_policy_lets_the_form_reach_stripe(browser, live_server, shop,
                                                       fake_stripe):  # noqa: F811
    """The policy the portal sends lets the buyer reach Checkout, and blocks nothing."""
    context, page, blocked = new_context(browser, live_server)
    try:
        page.goto(form_path(shop))
        fill_in(page, "1 seat")
        page.get_by_role("button", name="Continue to payment").click()
        page.wait_for_url(lambda url: url.startswith(fake_stripe.base_url), timeout=3_000)
        page.get_by_role("heading", name=CHECKOUT_HEADING).wait_for()
    finally:
        context.close()
    assert blocked == [], "the Content-Security-Policy blocked something"


def test_a_subscriber_reaches_stripes_billing_portal_from_the_customer_portal(
        browser, live_server, shop, fake_stripe):  # noqa: F811
    """The customer portal's "Manage billing" answer redirects to Stripe's billing portal:
    the page's form-action must allow it, as the payment form's does."""
    from apps.commerce.models import Subscription
    from apps.licensing.models import Customer, CustomerMembership
    from tests.factories import PASSWORD, UserFactory, make_key

    user = UserFactory(email="it@subscriber.example")
    customer = Customer.objects.create(vendor=shop.vendor, name="Subscriber",
                                       email=user.email)
    CustomerMembership.objects.create(customer=customer, user=user)
    stripe_customer = fake_stripe.add_customer(user.email, api_key=SHOP_KEY)
    Subscription.objects.create(vendor=shop.vendor, subscription_id="sub_portal",
                                customer=customer, key=make_key(shop.product, customer=customer),
                                stripe_customer_id=stripe_customer["id"], status="active")
    context, page, blocked = new_context(browser, live_server)
    try:
        page.goto("/accounts/login/")
        page.fill("input[name=login]", user.email)
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        page.wait_for_url(lambda url: "/accounts/" not in url)
        page.goto("/portal/")
        page.get_by_role("button", name="Manage billing").click()
        page.wait_for_url(lambda url: url.startswith(fake_stripe.base_url), timeout=5_000)
        page.get_by_text("Fake Stripe billing portal").first.wait_for()
    finally:
        context.close()
    assert blocked == [], "the Content-Security-Policy blocked something"
