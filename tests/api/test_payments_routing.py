"""paymentform/CreateSession and subscription/RecordUsage are served (never "Unknown
method."): through the official Python client they validate their parameters as Cryptolens
does and then answer Cryptolens' own "not set up" errors, as no vendor has payments yet."""

from __future__ import annotations

import pytest
from licensing.methods import PaymentForm, Subscription

from apps.api import errors
from apps.api.methods.payments import CURRENCY_INCORRECT, NO_STRIPE, PAYMENT_FORM_NOT_FOUND
from tests.factories import ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401


def test_create_session_answers_that_the_payment_form_does_not_exist(server):
    assert PaymentForm.create_session(server.token, 7, "USD", 3600) == (
        None, PAYMENT_FORM_NOT_FOUND)
    assert PaymentForm.create_session(
        server.token, 7, "eur", 600, price=12.5, heading="Upgrade", product_name="Editor Pro",
        custom_field="seat=3", metadata='{"order": 1}') == (None, PAYMENT_FORM_NOT_FOUND)


@pytest.mark.parametrize("args, kwargs, expected", [
    ((7, "US", 3600), {}, CURRENCY_INCORRECT),
    ((7, "U5D", 3600), {}, CURRENCY_INCORRECT),
    ((7, None, 3600), {}, errors.INCORRECT_INPUT),  # the client sends "None"
    ((7, "USD", None), {}, errors.INCORRECT_INPUT),
    ((7, "USD", "soon"), {}, errors.INCORRECT_INPUT),
    ((7, "USD", -5), {}, errors.INCORRECT_INPUT),
    (("seven", "USD", 3600), {}, errors.INCORRECT_INPUT),
    ((0, "USD", 3600), {}, errors.INCORRECT_INPUT),
    ((7, "USD", 3600), {"price": "free"}, errors.INCORRECT_INPUT),
    ((7, "USD", 3600), {"price": -1}, errors.INCORRECT_INPUT),
    ((7, "USD", 3600), {"price": "nan"}, errors.INCORRECT_INPUT),
    ((7, "USD", 3600), {"heading": "h" * 101}, errors.INCORRECT_INPUT),
    ((7, "USD", 3600), {"product_name": "p" * 201}, errors.INCORRECT_INPUT),
    ((7, "USD", 3600), {"custom_field": "c" * 1001}, errors.INCORRECT_INPUT),
    ((7, "USD", 3600), {"metadata": "m" * 1001}, errors.INCORRECT_INPUT),
])
def test_create_session_validates_what_the_client_sends(server, args, kwargs, expected):
    assert PaymentForm.create_session(server.token, *args, **kwargs) == (None, expected)


def test_record_usage_answers_that_no_stripe_processor_was_set_up(server):
    key = make_key(server.product)
    assert Subscription.record_usage_to_stripe(server.token, server.product.pk, key.key,
                                               amount=3) == (None, NO_STRIPE)
    # The client's default amount is "": Cryptolens' "0 by default".
    assert Subscription.record_usage_to_stripe(server.token, server.product.pk,
                                               key.key) == (None, NO_STRIPE)


def test_record_usage_names_the_product_or_key_first(server):
    key = make_key(server.product)
    foreign = ProductFactory(vendor=make_vendor("Other payments vendor"))
    foreign_key = make_key(foreign)

    assert Subscription.record_usage_to_stripe(server.token, server.product.pk,
                                               "AAAAA-AAAAA-AAAAA-AAAAA") == (
        None, errors.KEY_NOT_FOUND)
    assert Subscription.record_usage_to_stripe(server.token, foreign.pk, foreign_key.key) == (
        None, errors.PRODUCT_NOT_FOUND)
    assert Subscription.record_usage_to_stripe(server.token, server.product.pk, key.key,
                                               amount="lots") == (None, errors.INCORRECT_INPUT)
    assert Subscription.record_usage_to_stripe(server.token, server.product.pk, key.key,
                                               amount=-1) == (None, errors.INCORRECT_INPUT)


def test_locked_tokens(server):
    own, other = make_key(server.product), make_key(server.product)
    methods = ["paymentform.CreateSession", "subscription.RecordUsage"]
    key_locked = server.token_for(methods, locked_key=own, product=server.product)

    assert Subscription.record_usage_to_stripe(key_locked, server.product.pk, other.key) == (
        None, errors.KEY_LOCKED)
    assert Subscription.record_usage_to_stripe(key_locked, server.product.pk, own.key) == (
        None, NO_STRIPE)
    assert PaymentForm.create_session(key_locked, 7, "USD", 3600) == (
        None, errors.ACCESS_DENIED)


def test_each_needs_its_permission(server):
    key = make_key(server.product)
    token = server.token_for(["key.GetKey"])
    assert PaymentForm.create_session(token, 7, "USD", 3600) == (None, errors.ACCESS_DENIED)
    assert Subscription.record_usage_to_stripe(token, server.product.pk, key.key) == (
        None, errors.ACCESS_DENIED)


@pytest.mark.parametrize("path", ["/paymentform/CreateSession", "/paymentform/createsession/",
                                  "/subscription/RecordUsage", "/subscription/recordusage/"])
def test_every_spelling_the_clients_use_is_served(server, path):
    # .NET posts to the lower-case paths with a trailing slash, Python to the mixed-case ones.
    assert server.post(path)["message"] != errors.UNKNOWN_METHOD
