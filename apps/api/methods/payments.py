"""paymentform/CreateSession and subscription/RecordUsage, answering as Cryptolens does;
the rules are apps/commerce's (the same the payment form pages and Stripe's webhooks use).

Parameters as the official clients send them: Python `PaymentForm.create_session` posts
PaymentFormId, Price, Currency, Heading, ProductName, CustomField, Metadata, Expires (the
literal "None" for those it lacks); `Subscription.record_usage_to_stripe` posts ProductId,
Key, Amount ("" by default). Limits and errors from the pages PFCreateSession and
RecordUsage (app.cryptolens.io/docs/api/v3/) and .NET `CreateSessionModel` /
`RecordUsageModel`."""

from __future__ import annotations

import math
import re
from typing import Any

from apps.commerce.services import (
    NO_STRIPE,
    NO_SUBSCRIPTION,
    form_session_create,
    payment_form_of,
    usage_record,
)
from apps.core.errors import DomainError

from .. import access, errors
from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..registry import Param, api_method
from .common import P_KEY, P_PRODUCT

# Cryptolens' errors, word for word (pages PFCreateSession and RecordUsage).
PAYMENT_FORM_NOT_FOUND = "The payment form does not exist."
CURRENCY_INCORRECT = "The currency string is incorrect."

_CURRENCY = re.compile(r"[A-Za-z]{3}")
MAX_EXPIRES = 10 * 365 * 86400  # seconds; a session is meant to live minutes or days


def _price(ctx: ApiContext) -> float:
    raw = ctx.params.raw("Price")
    if raw is None:
        return 0.0
    try:
        price = float(raw.strip())
    except ValueError:
        raise ApiError(errors.INCORRECT_INPUT) from None
    if not math.isfinite(price) or price < 0:
        raise ApiError(errors.INCORRECT_INPUT)
    return price


@api_method(
    "paymentform.CreateSession", reach=Reach.VENDOR,
    summary="A one-time session of one of your payment forms with its own price and texts, "
            "valid for Expires seconds and for one order. Send the buyer to the form's "
            "public address with ?sessionId=<sessionId>; Price 0 or left out sells the form's "
            "first price (Currency must then be the form's). A product-locked token may use "
            "forms of its product only. The key comes from the form's template once Stripe "
            "confirms the payment.",
    params=(Param("PaymentFormId", "int", "The payment form (required)."),
            Param("Price", "double", "What the customer pays, e.g. 12.5.", "0"),
            Param("Currency", "string", "ISO currency code, e.g. USD (required)."),
            Param("Heading", "string", "Shown on top of the form (at most 100 characters)."),
            Param("ProductName", "string", "The item bought (at most 200 characters)."),
            Param("CustomField", "string", "A variable for the form's requests (at most 1000 "
                  "characters)."),
            Param("Metadata", "string", "Kept with the transaction (at most 1000 characters)."),
            Param("Expires", "int", "Seconds the session is valid (required).")),
    returns="sessionId",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            CURRENCY_INCORRECT, PAYMENT_FORM_NOT_FOUND),
)
def create_session(ctx: ApiContext) -> dict[str, Any]:
    params = ctx.params
    form_id = params.int("PaymentFormId", 0, minimum=0, maximum=2**31 - 1)
    expires = params.int("Expires", 0, minimum=0, maximum=MAX_EXPIRES)
    currency = params.str("Currency", max_length=10)
    price = _price(ctx)
    heading = params.str("Heading", max_length=100)
    product_name = params.str("ProductName", max_length=200)
    custom_field = params.str("CustomField", max_length=1000)
    metadata = params.str("Metadata", max_length=1000)
    if not form_id or not expires or not currency:
        raise ApiError(errors.INCORRECT_INPUT)
    if not _CURRENCY.fullmatch(currency):
        raise ApiError(CURRENCY_INCORRECT)
    form = payment_form_of(vendor=ctx.vendor, form_id=form_id)
    if form is None:
        raise ApiError(PAYMENT_FORM_NOT_FOUND)
    # A product-locked token sells its own product's keys only (the product lock's answer).
    access.check_product_id(ctx.token, form.template.product_id)
    if not price and currency.lower() != form.currency:
        raise ApiError(CURRENCY_INCORRECT)  # the form's own price is in the form's currency
    try:
        session = form_session_create(
            form=form, price=price, currency=currency, expires_in=expires, heading=heading,
            product_name=product_name, custom_field=custom_field, metadata=metadata)
    except DomainError:
        raise ApiError(errors.INCORRECT_INPUT) from None
    return {"sessionId": session.session_id}


@api_method(
    "subscription.RecordUsage", reach=Reach.KEY,
    summary="Record metered use of a key's Stripe subscription: the portal keeps it and sends "
            "it to Stripe as a meter event on the subscription's metered price (mapped under "
            "Payments › Subscription prices), retried while Stripe is unreachable and counted "
            "once. The vendor sees each record and Stripe's confirmation on the key's usage "
            "page.",
    params=(P_PRODUCT, P_KEY,
            Param("Amount", "int", "How much to add to the usage counter.", "0")),
    returns="nothing beyond result and message",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            errors.PRODUCT_NOT_FOUND, errors.KEY_NOT_FOUND, errors.KEY_LOCKED, NO_STRIPE,
            NO_SUBSCRIPTION),
)
def record_usage(ctx: ApiContext) -> dict[str, Any]:
    amount = ctx.params.int("Amount", 0, minimum=0, maximum=2**31 - 1)
    key = ctx.key(devices=False)  # the product and key errors come first, within the locks
    try:
        usage_record(key=key, quantity=amount)
    except DomainError as exc:
        raise ApiError(exc.message) from None
    return {}
