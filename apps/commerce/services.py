"""Payments: what a paid order, a subscription invoice, a refund and a metered use do to
keys. Every entry point (the public form, the Web API, Stripe's webhooks, the vendor pages,
the Celery tasks) calls these functions.

Exactly once, however Stripe delivers:
- each event is written to StripeEvent (unique per vendor and event id) in the transaction
  that applies it, so a second delivery, concurrent or late, applies nothing;
- an order's key is issued under a row lock on the order, by whichever of
  `checkout.session.completed` (payment_status "paid") and `payment_intent.succeeded`
  comes first; the other finds the key and changes nothing;
- a subscription's key is issued under a row lock on the subscription by its first paid
  invoice; later invoices move the paid period on.
The portal answers Stripe 200 for events it does not use, 400 for a bad signature."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.audit.log import Actor, log_change
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.core.hashing import sha256_hex
from apps.core.sealed import hint, seal
from apps.licensing import events
from apps.licensing.models import Customer, DataObject, LicenseKey, LicenseTemplate
from apps.licensing.services import key_set_blocked, key_set_expiry, key_update
from apps.licensing.services.resellers import key_create_from_template
from apps.webhooks.services import emit

from . import gateway
from .gateway import StripeRefused, StripeUnavailable
from .models import (
    FormSession,
    Order,
    PaymentForm,
    PaymentFormOption,
    PriceMapping,
    StripeAccount,
    StripeEvent,
    Subscription,
    UsageRecord,
)
from .money import format_money, to_minor

STRIPE = Actor.for_system("Stripe")
# Cryptolens marks a subscription's key with this data object (its "Block Expired Licenses"
# spares such keys); the value is the Stripe subscription item id.
SUBSCRIPTION_ITEM_OBJECT = "cryptolens_stripesubscriptionitemid"

CURRENCY = re.compile(r"[a-z]{3}")
# Stripe's largest amount (eight digits in the smallest unit), so a form never offers what
# Checkout would refuse.
MAX_AMOUNT = 99_999_999
MAX_OPTIONS = 10
UNAVAILABLE = "Payments are unavailable right now. Please try again in a few minutes."
NOT_SET_UP = "Stripe is not set up for this account yet."
NOT_TAKING_ORDERS = "This form is not taking orders right now. Please try again later."


# --- The vendor's Stripe account -------------------------------------------------------------


def stripe_account_of(vendor: Vendor) -> StripeAccount | None:
    return StripeAccount.objects.filter(vendor=vendor).first()


@transaction.atomic
def stripe_account_save(*, vendor: Vendor, actor: Actor, secret_key: str = "",
                        webhook_secret: str = "", grace_days: int = 3,
                        on_refund: str = StripeAccount.ON_REFUND_BLOCK,
                        on_payment_failed: str = StripeAccount.ON_FAILED_EXPIRE
                        ) -> StripeAccount:
    """Create or change the vendor's Stripe settings. An empty secret keeps the stored one;
    secrets are stored encrypted and only their hint is ever shown."""
    secret_key, webhook_secret = secret_key.strip(), webhook_secret.strip()
    account = StripeAccount.objects.select_for_update().filter(vendor=vendor).first()
    if secret_key and not re.fullmatch(r"(sk|rk)_(test|live)_[A-Za-z0-9]{8,200}", secret_key):
        raise DomainError("A Stripe secret key starts with sk_test_, sk_live_ or rk_ (a "
                          "restricted key).", field="secret_key")
    if webhook_secret and not re.fullmatch(r"whsec_[A-Za-z0-9+/=]{8,200}", webhook_secret):
        raise DomainError("A webhook signing secret starts with whsec_.",
                          field="webhook_secret")
    if account is None and not secret_key:
        raise DomainError("Enter your Stripe secret key.", field="secret_key")
    if not 0 <= grace_days <= 60:
        raise DomainError("The grace period is 0 to 60 days.", field="grace_days")
    if on_refund not in dict(StripeAccount.ON_REFUND):
        raise DomainError("Choose what a refund does.", field="on_refund")
    if on_payment_failed not in dict(StripeAccount.ON_FAILED):
        raise DomainError("Choose what a failed payment does.", field="on_payment_failed")
    created = account is None
    if account is None:
        account = StripeAccount(vendor=vendor, webhook_path=secrets.token_hex(16))
    if secret_key:
        account.secret_key_encrypted = seal(secret_key, purpose=gateway.SECRET_KEY_PURPOSE)
        account.secret_key_hint = hint(secret_key)
    if webhook_secret:
        account.webhook_secret_encrypted = seal(webhook_secret,
                                                purpose=gateway.WEBHOOK_SECRET_PURPOSE)
        account.webhook_secret_hint = hint(webhook_secret)
    account.grace_days = grace_days
    account.on_refund = on_refund
    account.on_payment_failed = on_payment_failed
    account.save()
    changes: dict[str, Any] = {"grace_days": [None, grace_days], "on_refund": [None, on_refund],
                               "on_payment_failed": [None, on_payment_failed]}
    if secret_key:
        changes["secret_key"] = [None, account.secret_key_hint]
    if webhook_secret:
        changes["webhook_secret"] = [None, account.webhook_secret_hint]
    log_change(vendor=vendor, actor=actor, obj=account,
               action="created" if created else "updated", changes=changes)
    return account


# --- Payment forms ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionSpec:
    label: str
    amount: int
    seats: int = 0


def _check_form(vendor: Vendor, template: LicenseTemplate, title: str, currency: str,
                options: Sequence[OptionSpec]) -> None:
    if template.product.vendor_id != vendor.pk:
        raise DomainError("Choose one of your license templates.", field="template")
    if not title.strip():
        raise DomainError("Give the form a title.", field="title")
    if not CURRENCY.fullmatch(currency):
        raise DomainError("A currency is a three-letter ISO code such as usd or eur.",
                          field="currency")
    if not options:
        raise DomainError("Add at least one price.", field="options")
    if len(options) > MAX_OPTIONS:
        raise DomainError(f"A form offers at most {MAX_OPTIONS} prices.", field="options")
    for option in options:
        if not option.label.strip():
            raise DomainError("Each price needs a label (\"1 seat\").", field="options")
        if not 1 <= option.amount <= MAX_AMOUNT:
            raise DomainError(f"A price is more than 0 and at most "
                              f"{format_money(MAX_AMOUNT, currency)}.", field="options")
        if not 0 <= option.seats <= 100_000:
            raise DomainError("Seats are 0 to 100000.", field="options")


def _save_options(form: PaymentForm, options: Sequence[OptionSpec]) -> None:
    form.options.all().delete()
    PaymentFormOption.objects.bulk_create([
        PaymentFormOption(form=form, label=o.label.strip()[:100], amount=o.amount,
                          seats=o.seats, position=i) for i, o in enumerate(options)])


@transaction.atomic
def payment_form_create(*, vendor: Vendor, actor: Actor, template: LicenseTemplate, title: str,
                        currency: str, options: Sequence[OptionSpec], description: str = "",
                        collect_company: bool = False, collect_vat_id: bool = False,
                        success_url: str = "") -> PaymentForm:
    currency = currency.strip().lower()
    _check_form(vendor, template, title, currency, options)
    form = PaymentForm.objects.create(
        vendor=vendor, template=template, public_id=secrets.token_urlsafe(12),
        title=title.strip(), description=description, currency=currency,
        collect_company=collect_company, collect_vat_id=collect_vat_id,
        success_url=success_url)
    _save_options(form, options)
    log_change(vendor=vendor, actor=actor, obj=form, action="created",
               changes={"title": [None, form.title], "template": [None, template.name],
                        "prices": [None, [f"{o.label}: {o.amount}" for o in options]]})
    return form


@transaction.atomic
def payment_form_update(*, form: PaymentForm, actor: Actor, template: LicenseTemplate,
                        title: str, currency: str, options: Sequence[OptionSpec],
                        description: str = "", collect_company: bool = False,
                        collect_vat_id: bool = False, success_url: str = "",
                        active: bool = True) -> PaymentForm:
    currency = currency.strip().lower()
    locked = PaymentForm.objects.select_for_update().get(pk=form.pk)
    _check_form(locked.vendor, template, title, currency, options)
    before = {"title": locked.title, "currency": locked.currency, "active": locked.active,
              "template": locked.template.name}
    locked.template, locked.title, locked.currency = template, title.strip(), currency
    locked.description, locked.success_url, locked.active = description, success_url, active
    locked.collect_company, locked.collect_vat_id = collect_company, collect_vat_id
    locked.save()
    _save_options(locked, options)
    after = {"title": locked.title, "currency": locked.currency, "active": locked.active,
             "template": template.name}
    log_change(vendor=locked.vendor, actor=actor, obj=locked, action="updated",
               changes={k: [before[k], after[k]] for k in after if before[k] != after[k]})
    return locked


def payment_form_of(*, vendor: Vendor, form_id: int) -> PaymentForm | None:
    return PaymentForm.objects.filter(vendor=vendor, pk=form_id, active=True).first()


def form_session_create(*, form: PaymentForm, price: float, currency: str, expires_in: int,
                        heading: str = "", product_name: str = "", custom_field: str = "",
                        metadata: str = "") -> FormSession:
    """paymentform/CreateSession: a one-time variant of the form with its own price (in
    major units, as the API sends it; 0 sells the form's first price) and texts."""
    first = form.options.first()
    if not price:  # the form's own first price, in the form's currency
        currency = form.currency
    amount = to_minor(price, currency) if price else (first.amount if first else 0)
    if amount is None or not 1 <= amount <= MAX_AMOUNT:
        raise DomainError("The price is out of range.", field="price")
    return FormSession.objects.create(
        form=form, session_id=uuid.uuid4().hex, amount=amount, currency=currency.lower(),
        heading=heading, product_name=product_name, custom_field=custom_field,
        metadata=metadata, expires=timezone.now() + dt.timedelta(seconds=expires_in))


def form_session_for(form: PaymentForm, session_id: str) -> FormSession | None:
    """A live, unused session of this form, or None."""
    if not session_id:
        return None
    return FormSession.objects.filter(form=form, session_id=session_id, used=False,
                                      expires__gt=timezone.now()).first()


# --- Orders ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Buyer:
    email: str
    name: str = ""
    company: str = ""
    vat_id: str = ""


def checkout_start(*, form: PaymentForm, buyer: Buyer, return_url: str, cancel_url: str,
                   option: PaymentFormOption | None = None,
                   form_session: FormSession | None = None) -> tuple[Order, str]:
    """Make an order and its Stripe Checkout session; returns the order and the address to
    send the buyer to. `return_url` has a {token} placeholder: the buyer's own link to the
    order's page (only its digest is kept). Nothing is kept if Stripe refuses or is down."""
    account = stripe_account_of(form.vendor)
    if account is None or not form.active:
        raise DomainError(NOT_TAKING_ORDERS)
    if form_session is not None:
        amount, currency = form_session.amount, form_session.currency
        description = form_session.product_name or form_session.heading or form.title
        seats = 0
    elif option is not None and option.form_id == form.pk:
        amount, currency, seats = option.amount, form.currency, option.seats
        description = f"{form.title}: {option.label}"
    else:
        raise DomainError("Choose what to buy.", field="option")
    token = secrets.token_urlsafe(32)
    try:
        return _checkout_session(form, buyer, return_url, cancel_url, option, form_session,
                                 amount, currency, seats, description, account, token)
    except StripeRefused as exc:
        # Stripe's words (they may name the vendor's key) are for the vendor, in its log.
        log_change(vendor=form.vendor, actor=Actor.for_system("Payment form"), obj=form,
                   action="checkout refused by Stripe", changes={"stripe": [None, exc.message]})
        raise DomainError(NOT_TAKING_ORDERS) from None


def _checkout_session(form: PaymentForm, buyer: Buyer, return_url: str, cancel_url: str,
                      option: PaymentFormOption | None, form_session: FormSession | None,
                      amount: int, currency: str, seats: int, description: str,
                      account: StripeAccount, token: str) -> tuple[Order, str]:
    with transaction.atomic():
        if form_session is not None:
            taken = FormSession.objects.filter(pk=form_session.pk, used=False).update(used=True)
            if not taken:
                raise DomainError("This payment link was already used.")
        order = Order.objects.create(
            vendor=form.vendor, form=form, option=option, form_session=form_session,
            email=buyer.email.strip(), name=buyer.name.strip(), company=buyer.company.strip(),
            vat_id=buyer.vat_id.strip(), description=description[:300], amount=amount,
            currency=currency, seats=seats, return_token_hash=sha256_hex(token))
        metadata = {"portal_order": str(order.pk), "portal_vendor": str(form.vendor_id)}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": currency, "unit_amount": amount,
                "product_data": {"name": description[:250]}}}],
            "success_url": return_url.format(token=token),
            "cancel_url": cancel_url,
            "client_reference_id": str(order.pk),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
        }
        if order.email:
            params["customer_email"] = order.email
        try:
            session = gateway.call(account, "checkout.sessions.create", params=params,
                                   options={"idempotency_key": f"portal-order-{order.pk}"})
        except StripeUnavailable:
            raise DomainError(UNAVAILABLE) from None
        order.checkout_session_id = session["id"]
        order.save(update_fields=["checkout_session_id"])
        log_change(vendor=form.vendor, actor=Actor.for_system("Payment form"), obj=order,
                   action="checkout started",
                   changes={"form": [None, form.title], "amount": [None, amount],
                            "currency": [None, currency],
                            "checkout_session": [None, session["id"]]})
    return order, str(session["url"])


def order_for_token(token: str) -> Order | None:
    if not token or len(token) > 100:
        return None
    return (Order.objects.select_related("key__product", "form", "vendor")
            .filter(return_token_hash=sha256_hex(token)).first())


def _customer_for(vendor: Vendor, email: str, name: str, company: str) -> Customer | None:
    """The vendor's customer with this e-mail (the oldest), or a new one. The vendor row is
    locked first, so two payments by a new buyer make one customer."""
    email = email.strip()
    if not email:
        return None
    Vendor.objects.select_for_update().filter(pk=vendor.pk).first()
    customer = (Customer.objects.filter(vendor=vendor, email__iexact=email)
                .order_by("pk").first())
    if customer is None:
        customer = Customer.objects.create(vendor=vendor, email=email[:100],
                                           name=(name or email)[:100],
                                           company_name=company[:100])
        log_change(vendor=vendor, actor=STRIPE, obj=customer, action="created",
                   changes={"email": [None, customer.email], "source": [None, "payment"]})
        events.customer_event(customer)
    return customer


def _issue_order_key(order: Order, email: str, name: str) -> str:
    """Under the order's row lock: issue its key unless it has one."""
    if order.key_id is not None:
        return f"order {order.pk} already has key {order.key_id}"
    form = order.form
    if form is None:
        return f"order {order.pk}: its form was deleted"
    order.email = order.email or email.strip()[:254]
    order.name = order.name or name.strip()[:100]
    customer = _customer_for(order.vendor, order.email, order.name, order.company)
    key = key_create_from_template(template=form.template, actor=STRIPE, customer=customer)
    if order.seats:
        key_update(key=key, actor=STRIPE, max_no_of_machines=order.seats)
    order.key, order.customer = key, customer
    order.status, order.paid_at = Order.PAID, timezone.now()
    order.save()
    log_change(vendor=order.vendor, actor=STRIPE, obj=order, action="paid",
               changes={"key": [None, key.key], "customer": [None, str(customer or "")]})
    emit(vendor_id=order.vendor_id, type="order.completed",
         data=lambda: {**order_payload(order), "LicenseKey": events.key_payload(key)})
    if order.email:
        _mail_key(order, key)
    return f"order {order.pk} paid: key {key.pk} issued"


def _mail_key(order: Order, key: LicenseKey) -> None:
    vendor_name = order.vendor.name
    body = (f"Thank you for your purchase of {order.description}.\n\n"
            f"Your license key: {key.key}\n\n"
            f"To activate it, start {key.product.name} and enter the key when it asks for "
            f"one. The key allows {key.max_no_of_machines} device(s).\n\n{vendor_name}")
    subject = " ".join(f"Your {key.product.name} license key".split())  # no header breaks
    # robust: a mail server that fails must not turn Stripe's delivery into an error.
    transaction.on_commit(lambda: send_mail(subject, body, None, [order.email]), robust=True)


def _locked_order(vendor: Vendor, metadata: Any) -> Order | None:
    order_id = str((metadata or {}).get("portal_order", "")) if isinstance(metadata, dict) else ""
    if not re.fullmatch(r"[0-9]{1,15}", order_id):
        return None
    return (Order.objects.select_for_update(of=("self",))
            .select_related("form__template__product")
            .filter(vendor=vendor, pk=int(order_id)).first())


# --- Webhooks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookResult:
    status: int
    message: str


def webhook_receive(*, webhook_path: str, payload: bytes, signature: str) -> WebhookResult:
    """One delivery of a Stripe event to a vendor's webhook address."""
    account = (StripeAccount.objects.select_related("vendor")
               .filter(webhook_path=webhook_path).first())
    if account is None:
        return WebhookResult(404, "No such webhook.")
    if not account.webhook_secret_encrypted:
        return WebhookResult(400, "No webhook signing secret is set up.")
    if not gateway.verify_signature(payload, signature, gateway.webhook_secret(account)):
        log_change(vendor=account.vendor, actor=STRIPE, obj=account,
                   action="webhook refused", changes={"reason": [None, "bad signature"]})
        return WebhookResult(400, "Bad signature.")
    try:
        event = json.loads(payload)
        event_id, kind = str(event["id"]), str(event["type"])
        obj = event["data"]["object"]
        if not isinstance(obj, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return WebhookResult(400, "Not a Stripe event.")
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():  # only this insert's conflict: "handled before"
                    row = StripeEvent.objects.create(vendor=account.vendor,
                                                     event_id=event_id[:255], type=kind[:100])
            except IntegrityError:
                return WebhookResult(200, "Already handled.")
            handler = HANDLERS.get(kind)
            outcome = handler(account, obj) if handler else "not used by the portal"
            row.outcome = outcome[:300]
            row.save(update_fields=["outcome"])
            log_change(vendor=account.vendor, actor=STRIPE, obj=row, action=kind,
                       changes={"event": [None, event_id], "outcome": [None, outcome]})
    except (AttributeError, TypeError, ValueError, KeyError, RecursionError):
        # Signed with the vendor's secret but not shaped as Stripe shapes this event.
        return WebhookResult(400, "Not a Stripe event.")
    return WebhookResult(200, outcome)


def _on_checkout_completed(account: StripeAccount, session: dict[str, Any]) -> str:
    if session.get("mode") == "subscription":
        sub_id = _id(session.get("subscription"))
        if sub_id:
            sub = _locked_subscription(account, sub_id)
            details = session.get("customer_details") or {}
            sub.email = sub.email or str(details.get("email") or session.get("customer_email")
                                         or "")[:254]
            _attach_customer(account, sub, str(details.get("name") or ""))
            sub.save()
        return "subscription checkout completed"
    order = _locked_order(account.vendor, session.get("metadata"))
    if order is None:
        return "no order of this account"
    order.payment_intent_id = order.payment_intent_id or _id(session.get("payment_intent"))
    order.stripe_customer_id = order.stripe_customer_id or _id(session.get("customer"))
    order.save(update_fields=["payment_intent_id", "stripe_customer_id"])
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        return f"order {order.pk}: checkout completed, payment pending"
    details = session.get("customer_details") or {}
    return _issue_order_key(order, str(details.get("email") or session.get("customer_email")
                                       or ""), str(details.get("name") or ""))


def _on_payment_succeeded(account: StripeAccount, intent: dict[str, Any]) -> str:
    order = _locked_order(account.vendor, intent.get("metadata"))
    if order is None:
        return "no order of this account"
    order.payment_intent_id = order.payment_intent_id or str(intent.get("id") or "")
    order.save(update_fields=["payment_intent_id"])
    return _issue_order_key(order, str(intent.get("receipt_email") or ""), "")


def _on_checkout_expired(account: StripeAccount, session: dict[str, Any]) -> str:
    order = _locked_order(account.vendor, session.get("metadata"))
    if order is None or order.status != Order.PENDING:
        return "nothing to expire"
    order.status = Order.EXPIRED
    order.save(update_fields=["status"])
    return f"order {order.pk} expired unpaid"


def _order_of_intent(account: StripeAccount, intent_id: str) -> Order | None:
    if not intent_id:
        return None
    return (Order.objects.select_for_update(of=("self",)).select_related("key")
            .filter(vendor=account.vendor, payment_intent_id=intent_id).first())


def _take_back(account: StripeAccount, order: Order, status: str) -> str:
    order.status = status
    order.save(update_fields=["status"])
    if order.key is not None and account.on_refund == StripeAccount.ON_REFUND_BLOCK:
        key_set_blocked(key=order.key, actor=STRIPE, blocked=True)
        return f"order {order.pk} {status}: key {order.key_id} blocked"
    return f"order {order.pk} {status}"


def _on_charge_refunded(account: StripeAccount, charge: dict[str, Any]) -> str:
    if not charge.get("refunded"):
        return "partly refunded: keys kept"
    order = _order_of_intent(account, _id(charge.get("payment_intent")))
    if order is None:
        return _subscriptions_take_back(account, _id(charge.get("customer")), "refunded")
    return _take_back(account, order, Order.REFUNDED)


def _on_dispute(account: StripeAccount, dispute: dict[str, Any]) -> str:
    order = _order_of_intent(account, _id(dispute.get("payment_intent")))
    if order is not None:
        return _take_back(account, order, Order.DISPUTED)
    charge_id = _id(dispute.get("charge"))
    if not charge_id:
        return "no order of this account"
    try:  # a dispute names the charge, whose customer names the subscription
        charge = gateway.call(account, "charges.retrieve", charge_id)
    except StripeRefused:
        return "no order of this account"
    # A StripeObject, not a dict: subscript it.
    return _subscriptions_take_back(account, _id(charge["customer"]), "disputed")


def _subscriptions_take_back(account: StripeAccount, stripe_customer_id: str, what: str) -> str:
    """A subscription invoice's payment refunded or disputed: the keys of that Stripe
    customer's subscriptions with this vendor, blocked if the vendor chose so."""
    if not stripe_customer_id:
        return "no order of this account"
    subs = list(Subscription.objects.select_for_update(of=("self",)).select_related("key")
                .filter(vendor=account.vendor, stripe_customer_id=stripe_customer_id,
                        key__isnull=False))
    if not subs:
        return "no order of this account"
    if account.on_refund != StripeAccount.ON_REFUND_BLOCK:
        return f"subscription payment {what}: keys kept"
    for sub in subs:
        assert sub.key is not None
        key_set_blocked(key=sub.key, actor=STRIPE, blocked=True)
        # Not a block for non-payment: a later invoice does not lift it.
        sub.blocked_for_payment = False
        sub.save(update_fields=["blocked_for_payment", "updated"])
    return f"subscription payment {what}: " + ", ".join(
        f"key {sub.key_id} blocked" for sub in subs)


# --- Subscriptions ---------------------------------------------------------------------------


def _id(value: Any) -> str:
    """A Stripe reference is an id or, expanded, an object with one."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value or "")[:255]


def _when(seconds: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(seconds), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _locked_subscription(account: StripeAccount, sub_id: str) -> Subscription:
    try:
        with transaction.atomic():
            Subscription.objects.get_or_create(vendor=account.vendor, subscription_id=sub_id)
    except IntegrityError:
        pass  # made by a concurrent event: locked below
    return (Subscription.objects.select_for_update(of=("self",))
            .select_related("key__product")
            .get(vendor=account.vendor, subscription_id=sub_id))


def _mapped_item(account: StripeAccount, items: list[dict[str, Any]]
                 ) -> tuple[dict[str, Any], PriceMapping | None]:
    """The first item whose price the vendor mapped to a template (else the first item)."""
    prices = [_price_of(item) for item in items]
    mappings = {m.price_id: m for m in PriceMapping.objects.select_related(
        "template__product").filter(vendor=account.vendor, price_id__in=prices)}
    for item, price in zip(items, prices, strict=True):
        if price in mappings:
            return item, mappings[price]
    return (items[0] if items else {}), None


def _price_of(item: dict[str, Any]) -> str:
    """The price of a subscription item or an invoice line, in either API shape."""
    if item.get("price"):
        return _id(item["price"])
    pricing = item.get("pricing") or {}
    return _id((pricing.get("price_details") or {}).get("price"))


def _blocked_by_stripe(key: LicenseKey) -> bool:
    """Whether the key's block is the portal's own for non-payment: its latest block or
    unblock in the object log was by Stripe. A block the vendor set by hand stays."""
    last = (ObjectLogEntry.objects.filter(object_type=key._meta.label_lower,
                                          object_id=str(key.pk),
                                          action__in=("blocked", "unblocked"))
            .order_by("-id").values_list("action", "actor_label").first())
    return last == ("blocked", STRIPE.label)


def _sync_key(account: StripeAccount, sub: Subscription) -> None:
    """Keep the key's expiry and block on the subscription's state: it runs to the paid
    period's end, plus the grace period while the subscription goes on."""
    if sub.key is None or sub.paid_until is None:
        return
    ending = sub.ended_at is not None or sub.cancel_at_period_end
    expires = sub.paid_until if ending else (
        sub.paid_until + dt.timedelta(days=account.grace_days))
    key_set_expiry(key=sub.key, actor=STRIPE, expires=expires)
    if sub.blocked_for_payment and sub.payment_failed_at is None:
        if sub.key.block and _blocked_by_stripe(sub.key):
            key_set_blocked(key=sub.key, actor=STRIPE, blocked=False)
        sub.blocked_for_payment = False


def _mapping_for(account: StripeAccount, sub: Subscription, items: list[dict[str, Any]]
                 ) -> tuple[dict[str, Any], PriceMapping | None]:
    item, mapping = _mapped_item(account, items)
    if mapping is None and sub.price_id:  # an invoice without lines (metered, first period)
        mapping = (PriceMapping.objects.select_related("template__product")
                   .filter(vendor=account.vendor, price_id=sub.price_id).first())
    return item, mapping


def _issue_subscription_key(account: StripeAccount, sub: Subscription, mapping: PriceMapping,
                            name: str) -> str:
    """Under the subscription's row lock: its key, from the mapped template, with Cryptolens'
    subscription-item data object; e-mailed to the subscriber when the address is known."""
    customer = _customer_for(account.vendor, sub.email, name, "")
    key = key_create_from_template(template=mapping.template, actor=STRIPE, customer=customer)
    sub.key, sub.customer = key, customer
    sub.price_id = sub.price_id or mapping.price_id
    sub.meter_event_name = sub.meter_event_name or mapping.meter_event_name
    DataObject.objects.create(vendor=account.vendor, key=key, name=SUBSCRIPTION_ITEM_OBJECT,
                              string_value=sub.item_id)
    if sub.email:
        _mail_subscription_key(sub.email, key)
    return f"key {key.pk} issued"


def _attach_customer(account: StripeAccount, sub: Subscription, name: str) -> None:
    """The subscriber's address arrived after the key was issued: its customer, and the
    e-mail with the key."""
    if sub.key is None or sub.customer_id is not None or not sub.email:
        return
    customer = _customer_for(account.vendor, sub.email, name, "")
    if customer is not None:
        key_update(key=sub.key, actor=STRIPE, customer=customer)
        sub.customer = customer
        _mail_subscription_key(sub.email, sub.key)


def _mail_subscription_key(email: str, key: LicenseKey) -> None:
    product = key.product
    body = (f"Thank you for subscribing to {product.name}.\n\n"
            f"Your license key: {key.key}\n\n"
            f"Start {product.name} and enter the key when it asks for one. It stays valid "
            f"while your subscription is paid.\n\n{product.vendor.name}")
    subject = " ".join(f"Your {product.name} license key".split())
    transaction.on_commit(lambda: send_mail(subject, body, None, [email]), robust=True)


def order_payload(order: Order) -> dict[str, Any]:
    return {"Id": order.pk, "Status": order.status, "Email": order.email, "Name": order.name,
            "Company": order.company, "VatId": order.vat_id, "Description": order.description,
            "Amount": order.amount, "Currency": order.currency, "Seats": order.seats,
            "CustomerId": order.customer_id, "Key": order.key.key if order.key else None,
            "ProductId": order.key.product_id if order.key else None,
            "CheckoutSessionId": order.checkout_session_id,
            "PaymentIntentId": order.payment_intent_id,
            "PaidAt": int(order.paid_at.timestamp()) if order.paid_at else None}


def subscription_payload(sub: Subscription) -> dict[str, Any]:
    def unix(value: dt.datetime | None) -> int | None:
        return int(value.timestamp()) if value else None

    return {"SubscriptionId": sub.subscription_id, "Status": sub.status,
            "StripeCustomerId": sub.stripe_customer_id, "PriceId": sub.price_id,
            "ItemId": sub.item_id, "Email": sub.email, "CustomerId": sub.customer_id,
            "Key": sub.key.key if sub.key else None,
            "ProductId": sub.key.product_id if sub.key else None,
            "PaidUntil": unix(sub.paid_until), "CurrentPeriodEnd": unix(sub.current_period_end),
            "CancelAtPeriodEnd": sub.cancel_at_period_end,
            "PaymentFailedAt": unix(sub.payment_failed_at), "EndedAt": unix(sub.ended_at)}


def _subscription_event(sub: Subscription) -> None:
    emit(vendor_id=sub.vendor_id, type="subscription.changed",
         data=lambda: subscription_payload(sub))


def _on_subscription_changed(account: StripeAccount, obj: dict[str, Any]) -> str:
    sub = _locked_subscription(account, _id(obj.get("id")))
    items = list(((obj.get("items") or {}).get("data")) or [])
    item, mapping = _mapping_for(account, sub, items)
    sub.status = str(obj.get("status") or sub.status)[:30]
    sub.stripe_customer_id = _id(obj.get("customer")) or sub.stripe_customer_id
    sub.item_id = sub.item_id or _id(item.get("id"))
    sub.price_id = sub.price_id or _price_of(item)
    if mapping is not None and not sub.meter_event_name:
        sub.meter_event_name = mapping.meter_event_name
    sub.current_period_end = (_when(item.get("current_period_end"))
                              or _when(obj.get("current_period_end")) or sub.current_period_end)
    sub.cancel_at_period_end = bool(obj.get("cancel_at_period_end"))
    if sub.status in ("past_due", "unpaid"):
        sub.payment_failed_at = sub.payment_failed_at or timezone.now()
    elif sub.status in ("active", "trialing"):
        sub.payment_failed_at = None
    if sub.status in ("canceled", "incomplete_expired"):
        sub.ended_at = sub.ended_at or _when(obj.get("ended_at")) or timezone.now()
    outcome = f"subscription {sub.subscription_id}: {sub.status}"
    # A metered price is billed in arrears: no invoice pays for the period ahead, so the
    # subscription in good standing is what keeps its key running (and issues it).
    if sub.meter_event_name and sub.status in ("active", "trialing") and sub.ended_at is None:
        if sub.current_period_end is not None:
            sub.paid_until = max(sub.current_period_end, sub.paid_until or
                                 sub.current_period_end)
        if sub.key is None and mapping is not None:
            outcome += ": " + _issue_subscription_key(account, sub, mapping, "")
    _sync_key(account, sub)
    sub.save()
    _subscription_event(sub)
    return outcome


def _invoice_subscription(invoice: dict[str, Any]) -> str:
    """The subscription an invoice bills: under parent.subscription_details in current API
    versions, at the top in older ones."""
    parent = ((invoice.get("parent") or {}).get("subscription_details") or {})
    return _id(parent.get("subscription") or invoice.get("subscription"))


def _on_invoice_paid(account: StripeAccount, invoice: dict[str, Any]) -> str:
    sub_id = _invoice_subscription(invoice)
    if not sub_id:
        return "not a subscription invoice"
    sub = _locked_subscription(account, sub_id)
    lines = list(((invoice.get("lines") or {}).get("data")) or [])
    line, mapping = _mapping_for(account, sub, lines)
    metered = bool(sub.meter_event_name or (mapping and mapping.meter_event_name))
    # A licensed price's line is the period paid ahead; a metered one's is past use.
    ends = [sub.current_period_end] if metered else [
        _when((ln.get("period") or {}).get("end")) for ln in lines]
    known = [e for e in [*ends, sub.paid_until] if e is not None]
    if known:
        sub.paid_until = max(known)
    sub.payment_failed_at = None
    sub.email = sub.email or str(invoice.get("customer_email") or "")[:254]
    sub.stripe_customer_id = sub.stripe_customer_id or _id(invoice.get("customer"))
    if sub.status in ("incomplete", "past_due", "unpaid"):
        sub.status = "active"
    name = str(invoice.get("customer_name") or "")
    outcome = f"subscription {sub_id} paid until {sub.paid_until:%Y-%m-%d}" if sub.paid_until \
        else f"subscription {sub_id} paid"
    if sub.key is None:
        if mapping is None:
            sub.save()
            price = _price_of(line) or sub.price_id or "(none on the invoice)"
            return f"subscription {sub_id}: no template is mapped to price {price}"
        item_id = str((((line.get("parent") or {}).get("subscription_item_details") or {})
                       .get("subscription_item")) or line.get("subscription_item") or "")
        sub.item_id = sub.item_id or item_id[:255]
        outcome += ": " + _issue_subscription_key(account, sub, mapping, name)
    else:
        _attach_customer(account, sub, name)
    _sync_key(account, sub)
    sub.save()
    _subscription_event(sub)
    return outcome


def _on_invoice_failed(account: StripeAccount, invoice: dict[str, Any]) -> str:
    sub_id = _invoice_subscription(invoice)
    if not sub_id:
        return "not a subscription invoice"
    sub = _locked_subscription(account, sub_id)
    sub.payment_failed_at = sub.payment_failed_at or timezone.now()
    sub.save(update_fields=["payment_failed_at", "updated"])
    _subscription_event(sub)
    grace_end = (sub.paid_until + dt.timedelta(days=account.grace_days)
                 if sub.paid_until else None)
    return (f"subscription {sub_id}: payment failed; the key runs until "
            f"{grace_end:%Y-%m-%d}" if grace_end else f"subscription {sub_id}: payment failed")


HANDLERS = {
    "checkout.session.completed": _on_checkout_completed,
    "checkout.session.async_payment_succeeded": _on_checkout_completed,
    "checkout.session.expired": _on_checkout_expired,
    "payment_intent.succeeded": _on_payment_succeeded,
    "charge.refunded": _on_charge_refunded,
    "charge.dispute.created": _on_dispute,
    "customer.subscription.created": _on_subscription_changed,
    "customer.subscription.updated": _on_subscription_changed,
    "customer.subscription.deleted": _on_subscription_changed,
    "invoice.paid": _on_invoice_paid,
    "invoice.payment_failed": _on_invoice_failed,
}


def subscriptions_enforce(*, now: dt.datetime | None = None) -> int:
    """Block the keys of subscriptions whose payment failed and whose grace period is over,
    where the vendor chose blocking (keys otherwise simply expire). Returns how many."""
    now = now or timezone.now()
    blocked = 0
    candidates = (Subscription.objects.filter(
        payment_failed_at__isnull=False, blocked_for_payment=False, key__isnull=False,
        vendor__stripe_account__on_payment_failed=StripeAccount.ON_FAILED_BLOCK)
        .values_list("pk", flat=True))
    for pk in list(candidates):
        with transaction.atomic():
            sub = (Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                   .select_related("key__product")
                   .filter(pk=pk, payment_failed_at__isnull=False, blocked_for_payment=False)
                   .first())
            if sub is None or sub.key is None or sub.paid_until is None:
                continue
            account = StripeAccount.objects.get(vendor_id=sub.vendor_id)
            grace = dt.timedelta(days=account.grace_days)
            if now < sub.paid_until + grace:
                continue
            key_set_blocked(key=sub.key, actor=STRIPE, blocked=True)
            sub.blocked_for_payment = True
            sub.save(update_fields=["blocked_for_payment", "updated"])
            blocked += 1
    return blocked


def customer_has_subscription(customer: Customer) -> bool:
    return (Subscription.objects.filter(customer=customer).exclude(stripe_customer_id="")
            .exists() and StripeAccount.objects.filter(vendor_id=customer.vendor_id).exists())


def billing_portal_url(*, customer: Customer, return_url: str) -> str | None:
    """Stripe's customer billing portal for this customer's subscriptions, or None when it
    has none."""
    sub = (Subscription.objects.filter(customer=customer).exclude(stripe_customer_id="")
           .order_by("-created").first())
    account = stripe_account_of(customer.vendor)
    if sub is None or account is None:
        return None
    try:
        session = gateway.call(account, "billing_portal.sessions.create", params={
            "customer": sub.stripe_customer_id, "return_url": return_url})
    except StripeUnavailable:
        raise DomainError(UNAVAILABLE) from None
    except StripeRefused as exc:
        log_change(vendor=customer.vendor, actor=STRIPE, obj=account,
                   action="billing portal refused by Stripe",
                   changes={"stripe": [None, exc.message]})
        raise DomainError("The billing portal is not available right now. Please contact "
                          f"{customer.vendor.name}.") from None
    return str(session["url"])


# --- Metered usage ---------------------------------------------------------------------------


NO_STRIPE = "No Stripe payment processor was set up."
NO_SUBSCRIPTION = "The license key is not linked to a metered Stripe subscription."


@transaction.atomic
def usage_record(*, key: LicenseKey, quantity: int) -> UsageRecord | None:
    """subscription/RecordUsage: keep the use, then send it to Stripe (usage_send, by a
    Celery task after the commit, retried while Stripe is down)."""
    vendor = key.product.vendor
    if stripe_account_of(vendor) is None:
        raise DomainError(NO_STRIPE)
    sub = (Subscription.objects.filter(vendor=vendor, key=key, ended_at__isnull=True)
           .exclude(meter_event_name="").exclude(stripe_customer_id="")
           .order_by("-created").first())
    if sub is None:
        raise DomainError(NO_SUBSCRIPTION)
    if quantity <= 0:
        return None  # nothing to bill
    record = UsageRecord.objects.create(vendor=vendor, subscription=sub, key=key,
                                        quantity=quantity, identifier=uuid.uuid4().hex)
    from .tasks import usage_send_task  # the task module imports this one

    # robust: with the broker down the record is kept all the same, and the sweep sends it;
    # the application was told it is recorded, so it must not be asked to try again.
    transaction.on_commit(lambda: usage_send_task.delay(record.pk), robust=True)
    return record


def usage_send(record_id: int) -> str:
    """Send one pending record as a Stripe meter event. Its identifier is both the meter
    event's `identifier` and the Idempotency-Key, so a retry after a lost answer is counted
    once by Stripe. Raises StripeUnavailable to be retried (the attempt is counted)."""
    with transaction.atomic():
        record = (UsageRecord.objects.select_for_update(skip_locked=True, of=("self",))
                  .select_related("subscription")
                  .filter(pk=record_id, status=UsageRecord.PENDING).first())
        if record is None:
            return "not pending"
        record.attempts += 1
        account = StripeAccount.objects.get(vendor_id=record.vendor_id)
        sub = record.subscription
        unavailable: StripeUnavailable | None = None
        try:
            gateway.call(account, "billing.meter_events.create", params={
                "event_name": sub.meter_event_name,
                "identifier": record.identifier,
                "timestamp": int(record.created.timestamp()),
                "payload": {"stripe_customer_id": sub.stripe_customer_id,
                            "value": str(record.quantity)},
            }, options={"idempotency_key": f"portal-usage-{record.identifier}"})
        except StripeUnavailable as exc:
            unavailable = exc
        except StripeRefused as exc:
            if not _already_recorded(exc):
                record.status, record.last_error = UsageRecord.REJECTED, exc.message[:300]
                record.save(update_fields=["attempts", "status", "last_error"])
                return "rejected"
        if unavailable is not None:
            record.last_error = str(unavailable)[:300]
            record.save(update_fields=["attempts", "last_error"])
        else:
            record.status, record.confirmed_at = UsageRecord.CONFIRMED, timezone.now()
            record.last_error = ""
            record.save(update_fields=["attempts", "status", "confirmed_at", "last_error"])
            return "confirmed"
    raise unavailable


def _already_recorded(exc: StripeRefused) -> bool:
    """Stripe refuses a meter event whose identifier it has: an earlier try of this record
    got through (its answer was lost, and its idempotency key has expired)."""
    return exc.param == "identifier" and "already exists" in exc.message


def usage_pending_ids(*, older_than: dt.timedelta = dt.timedelta(minutes=1)
                      ) -> list[tuple[int, int]]:
    """(record, vendor) of records still waiting for Stripe, oldest first (for the periodic
    sweep that backs up the retries)."""
    return list(UsageRecord.objects.filter(status=UsageRecord.PENDING,
                                           created__lt=timezone.now() - older_than)
                .order_by("pk").values_list("pk", "vendor_id")[:500])
