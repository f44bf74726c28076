"""Settings, Payments (Stripe): the secret key and webhook signing secret (stored
encrypted, shown only as hints), what refunds and failed payments do, and the webhook URL
and events to give Stripe."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from apps.commerce.gateway import SECRET_KEY_PURPOSE, WEBHOOK_SECRET_PURPOSE
from apps.commerce.models import StripeAccount
from apps.core.sealed import unseal
from apps.vendor_portal.views.payments import WEBHOOK_EVENTS

from .payments_data import SECRET_KEY, WEBHOOK_SECRET, account_of

PAGE = reverse("vendor_portal:stripe_settings")
SAVE = reverse("vendor_portal:stripe_settings_save")
EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded",
          "checkout.session.expired", "payment_intent.succeeded", "charge.refunded",
          "charge.dispute.created", "customer.subscription.created",
          "customer.subscription.updated", "customer.subscription.deleted", "invoice.paid",
          "invoice.payment_failed")
VALID = {"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET, "grace_days": 5,
         "on_refund": "keep", "on_payment_failed": "block"}


def test_without_an_account_the_page_says_stripe_is_not_set_up(tenant, owner_client):
    response = owner_client.get(PAGE)

    assert response.status_code == 200
    content = response.content.decode()
    assert "Stripe is not set up yet." in content
    assert 'id="stripe-settings"' in content
    assert "/stripe/webhook/" not in content


def test_owner_saves_the_keys_and_the_page_shows_only_their_hints(tenant, owner_client):
    response = owner_client.post(SAVE, VALID)

    assert response.status_code == 302
    assert response["Location"] == PAGE
    account = StripeAccount.objects.get(vendor=tenant.vendor)
    assert unseal(account.secret_key_encrypted, purpose=SECRET_KEY_PURPOSE) == SECRET_KEY
    assert unseal(account.webhook_secret_encrypted,
                  purpose=WEBHOOK_SECRET_PURPOSE) == WEBHOOK_SECRET
    assert (account.grace_days, account.on_refund, account.on_payment_failed) == (
        5, "keep", "block")
    content = owner_client.get(PAGE).content.decode()
    assert SECRET_KEY not in content
    assert WEBHOOK_SECRET not in content
    assert "AbCdEfGh" not in content  # no part of the key beyond the hint
    assert account.secret_key_hint in content
    assert account.webhook_secret_hint in content
    assert "Leave empty to keep it." in content
    assert 'value="sk_' not in content and 'value="whsec_' not in content


def test_the_page_shows_the_webhook_url_and_every_event_to_enable(tenant, owner_client):
    account = account_of(tenant)

    content = owner_client.get(PAGE).content.decode()

    assert f"http://testserver/stripe/webhook/{account.webhook_path}/" in content
    for event in EVENTS:
        assert f"<li>{event}</li>" in content
    assert set(WEBHOOK_EVENTS) == set(EVENTS)


def test_an_empty_secret_keeps_the_stored_one(tenant, owner_client):
    before = account_of(tenant)

    response = owner_client.post(SAVE, {**VALID, "secret_key": "", "webhook_secret": "",
                                        "grace_days": 9})

    assert response.status_code == 302
    after = StripeAccount.objects.get(vendor=tenant.vendor)
    assert after.secret_key_encrypted == before.secret_key_encrypted
    assert after.webhook_secret_encrypted == before.webhook_secret_encrypted
    assert after.grace_days == 9


def test_a_wrong_secret_key_is_a_form_error_and_is_not_echoed(tenant, owner_client):
    typed = "pk_live_PublishableNotSecret123"

    response = owner_client.post(SAVE, {**VALID, "secret_key": typed})

    assert response.status_code == 200
    assert "starts with sk_test_" in str(response.context["form"].errors["secret_key"])
    assert typed not in response.content.decode()
    assert WEBHOOK_SECRET not in response.content.decode()
    assert not StripeAccount.objects.exists()


def test_the_first_save_needs_a_secret_key(tenant, owner_client):
    response = owner_client.post(SAVE, {**VALID, "secret_key": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["secret_key"] == ["Enter your Stripe secret key."]
    assert not StripeAccount.objects.exists()


def test_a_grace_period_out_of_range_or_an_unknown_choice_is_a_form_error(tenant, owner_client):
    for bad in ({"grace_days": 61}, {"grace_days": "x"}, {"on_refund": "refund-twice"},
                {"on_payment_failed": ""}):
        response = owner_client.post(SAVE, {**VALID, **bad})
        assert response.status_code == 200, bad
        assert response.context["form"].errors, bad
    assert not StripeAccount.objects.exists()


def test_admins_and_read_only_members_see_the_settings_but_cannot_save(tenant):
    account = account_of(tenant)
    for user in (tenant.admin, tenant.read_only):
        client = Client()
        client.force_login(user)
        page = client.get(PAGE)
        assert page.status_code == 200
        content = page.content.decode()
        assert 'id="stripe-settings"' not in content
        assert account.secret_key_hint in content
        assert SECRET_KEY not in content
        assert client.post(SAVE, {**VALID, "grace_days": 1}).status_code == 403
    assert StripeAccount.objects.get(pk=account.pk).grace_days == 3


def test_another_vendor_sees_nothing_of_this_vendors_account(tenant, other_vendor_client):
    account = account_of(tenant)

    content = other_vendor_client.get(PAGE).content.decode()

    assert "Stripe is not set up yet." in content
    assert account.webhook_path not in content
    assert account.secret_key_hint not in content


def test_another_vendors_save_makes_his_own_account(tenant, other_tenant, other_vendor_client):
    mine = account_of(tenant)

    assert other_vendor_client.post(SAVE, {**VALID, "grace_days": 1}).status_code == 302

    assert StripeAccount.objects.get(pk=mine.pk).grace_days == 3
    assert StripeAccount.objects.get(vendor=other_tenant.vendor).grace_days == 1
