import json
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import Membership, Role, User, Vendor
from apps.audit.models import ObjectLogEntry
from apps.licensing import services
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import AccessToken, Activation, Customer, LicenseKey, Product
from apps.licensing.signing import public_key_xml
from apps.usage.models import WebApiLog

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-1"
JSON_FIELDS = {"base_url", "token", "product_id", "key", "rsa_public_key_xml", "vendor_email"}


def _seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (User, Vendor, Membership, Product, LicenseKey, Customer, AccessToken,
                          Activation, ObjectLogEntry)}


@pytest.fixture
def seeded(db):
    _seed()
    return Membership.objects.get(user__email=DEMO_EMAIL, role=Role.OWNER).vendor


def test_running_twice_creates_the_data_once(seeded):
    first = _counts()
    _seed()
    assert _counts() == first
    assert first["Vendor"] == 1
    assert first["Product"] >= 1 and first["LicenseKey"] >= 5
    assert first["AccessToken"] == 1


def test_demo_user_can_log_in_with_a_verified_address(seeded, client):
    user = User.objects.get(email=DEMO_EMAIL)
    assert user.check_password(DEMO_PASSWORD)
    assert client.login(email=DEMO_EMAIL, password=DEMO_PASSWORD)
    assert EmailAddress.objects.filter(user=user, email=DEMO_EMAIL, verified=True,
                                       primary=True).exists()


def test_demo_keys_cover_every_kind(seeded):
    keys = LicenseKey.objects.for_vendor(seeded)
    now = timezone.now()
    assert Activation.objects.filter(key__in=keys, floating=False,
                                     key__max_no_of_machines__gt=0).exists()
    assert Activation.objects.filter(key__in=keys, floating=True).exists()
    assert keys.filter(trial_activation=True).exists()
    assert keys.filter(block=True).exists()
    assert keys.filter(expires__lt=now, block=False).exists()
    assert keys.filter(block=False, expires__gt=now).exists()
    assert all(k.customer is None or k.customer.vendor_id == seeded.pk for k in keys)


def test_json_output_has_exactly_the_fields_scripts_need(db):
    data = json.loads(_seed("--json"))
    assert set(data) == JSON_FIELDS
    vendor = Membership.objects.get(user__email=DEMO_EMAIL).vendor
    assert data["vendor_email"] == DEMO_EMAIL
    assert data["base_url"] == "http://127.0.0.1:8000"
    product = Product.objects.for_vendor(vendor).get(pk=data["product_id"])
    key = product.keys.get(key=data["key"])
    assert not key.block and key.expires > timezone.now()
    assert data["rsa_public_key_xml"] == public_key_xml(vendor.signing_key.public_key_pem)


def test_json_token_authenticates_with_every_permission(db):
    data = json.loads(_seed("--json"))
    token = services.token_authenticate(data["token"])
    assert token is not None
    assert token.vendor.memberships.filter(user__email=DEMO_EMAIL).exists()
    assert token.permissions == API_METHODS
    assert token.product_id is None and token.locked_key_id is None


def test_each_json_call_gives_a_fresh_working_token(db):
    first = json.loads(_seed("--json"))
    second = json.loads(_seed("--json", "--base-url", "https://portal.test"))
    assert first["token"] != second["token"]
    assert second["base_url"] == "https://portal.test"
    assert services.token_authenticate(first["token"]) is not None
    assert services.token_authenticate(second["token"]) is not None
    assert (first["product_id"], first["key"]) == (second["product_id"], second["key"])


def test_demo_floating_key_has_two_weeks_of_usage_for_the_reports(seeded):
    from apps.reports.floating import floating_usage

    floating = LicenseKey.objects.get(product__vendor=seeded, notes="Floating, 5 concurrent")
    now = timezone.now()
    usage = floating_usage(vendor=seeded, start=now - timezone.timedelta(days=15), end=now,
                           keys=[(floating.product_id, floating.key)], resolution="day")
    rows = WebApiLog.objects.filter(vendor=seeded).count()

    assert 3 <= usage.peak_overall <= floating.max_no_of_machines  # never over the limit
    assert usage.keys[0].seats_started >= 20
    _seed()
    assert WebApiLog.objects.filter(vendor=seeded).count() == rows  # seeded once


def test_demo_customers_team_and_orders_are_in_internal_notes_not_license_notes(seeded):
    """A license's notes go out with it (and, saved as a template, to every reseller's key):
    the demo keeps who bought it and the purchase order in the vendor's internal note."""
    keys = list(LicenseKey.objects.for_vendor(seeded))
    internal = " ".join(k.internal_note for k in keys)
    assert "PO NW-4471" in internal and "Northwind Traders design team" in internal
    assert "chargeback" in internal
    for key in keys:
        assert "PO" not in key.notes and "team" not in key.notes.lower()
        assert "chargeback" not in key.notes
        if key.customer is not None:
            assert key.customer.name not in key.notes


def test_json_token_may_call_every_registered_method(db):
    """Every method the dispatcher serves is allowed to the demo token (any of the method's
    permissions, userauth included), without a lock or feature lock narrowing it, except the
    one method that only an application's own token may call."""
    from django.test import Client

    from apps.api import errors
    from apps.api.registry import METHODS

    data = json.loads(_seed("--json"))
    token = services.token_authenticate(data["token"])
    assert not token.key_lock_required
    assert (token.fields_hidden, token.trial_days, token.max_increment) == (0, None, None)
    missing = [m.name for m in METHODS.values()
               if not set(m.permissions) & set(token.permissions)]
    assert missing == []
    denied = {m.name for m in METHODS.values()
              if Client().post(m.path, {"token": data["token"]}).json()["message"]
              == errors.ACCESS_DENIED}
    # User/GetLicenseKeys answers only the token auth/GetToken issues to an application a
    # customer's person authorized, never a vendor token (tests/api/test_user_account_auth.py).
    assert denied == {"user.GetLicenseKeys"}
