"""Acceptance: the real Cryptolens Python client (`licensing` from PyPI) against a live server.

Only the client's base address changes; every call below is the client's own code path, so a
wire incompatibility (a missing field, a wrong casing, a bad signature) fails here the way it
would fail for a vendor's software."""

from __future__ import annotations

import base64
import datetime as dt
import json

from django.utils import timezone
from licensing.methods import AI, Helpers, Key, Product
from licensing.methods import Customer as CustomerApi
from licensing.models import LicenseKey as ClientLicenseKey

from apps.audit.log import Actor
from apps.licensing import services
from apps.licensing.models import Activation, Customer, LicenseKey
from apps.licensing.signing import public_key_xml
from apps.usage import states
from apps.usage.models import Event
from tests.api.live import Server
from tests.factories import ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

UNABLE_TO_AUTHENTICATE = "Unable to authenticate."
ACCESS_DENIED = "Access denied."
PRODUCT_NOT_FOUND = "Could not find the product."
KEY_NOT_FOUND = "Could not find the key."
BLOCKED = "The key is blocked and cannot be accessed."
LIMIT_REACHED = "Cannot activate the new device as the limit has been reached."
NEVER_ACTIVATED = ("Either the machine code was never activated or key activation feature was "
                   "never set up.")
KEY_LOCKED = "Not enough permission and/or key not found."
ALREADY_TRIALLED = "This machine code has already activated the trial."
MACHINE_CODE_NULL = "The machine code cannot be null."
MACHINE_CODE_TOO_LONG = "The machine code cannot exceed 128 chars in length."
NOTES_TOO_LONG = "The notes field cannot be more than 500 characters."
CUSTOMER_NOT_FOUND = "Could not find the customer."
INCORRECT_INPUT = "The input parameters were incorrect."

FLOATING_INTERVAL = 100


def activate(server: Server, key: LicenseKey, machine_code: str, **kwargs):
    return Key.activate(server.token, server.pubkey, server.product.pk, key.key, machine_code,
                        **kwargs)


def floating(server: Server, key: LicenseKey, machine_code: str, overdraft: int = 1):
    return activate(server, key, machine_code, floating_time_interval=FLOATING_INTERVAL,
                    max_overdraft=overdraft)


def mids(license_key) -> list[str]:
    return [m.Mid for m in license_key.activated_machines]


# --- Node-locked and floating activation -------------------------------------------------


def test_node_locked_activation_fills_the_seats_then_refuses(server):
    key = make_key(server.product, max_no_of_machines=2)
    for code in ("pc-1", "pc-2"):
        license_key, message = activate(server, key, code)
        assert license_key is not None, message
        assert message == ""
        assert Helpers.IsOnRightMachine(license_key, custom_machine_code=code)
    assert not Helpers.IsOnRightMachine(license_key, custom_machine_code="pc-3")

    assert activate(server, key, "pc-3") == (None, LIMIT_REACHED)

    again, message = activate(server, key, "pc-1")
    assert again is not None, message
    assert Helpers.IsOnRightMachine(again, custom_machine_code="pc-1")
    assert sorted(mids(again)) == ["pc-1", "pc-2"]
    assert sorted(key.activations.values_list("machine_code", flat=True)) == ["pc-1", "pc-2"]


def test_floating_activation_with_overdraft(server):
    key = make_key(server.product, max_no_of_machines=1)

    first, message = floating(server, key, "f-1")
    assert first is not None, message
    assert Helpers.IsOnRightMachine(first, is_floating_license=True, custom_machine_code="f-1")
    assert "floating:f-1" in mids(first)

    second, message = floating(server, key, "f-2")
    assert second is not None, message
    assert "floating:overdraft:f-2" in mids(second)
    assert Helpers.IsOnRightMachine(second, is_floating_license=True, allow_overdraft=True,
                                    custom_machine_code="f-2")
    assert not Helpers.IsOnRightMachine(second, is_floating_license=True,
                                        custom_machine_code="f-2")
    overdraft_seat = next(m for m in second.activated_machines if m.Mid.endswith("f-2"))
    assert overdraft_seat.FloatingExpires > overdraft_seat.Time

    assert floating(server, key, "f-3") == (None, LIMIT_REACHED)
    assert key.activations.filter(floating=False).count() == 0  # counted separately


def test_floating_heartbeat_keeps_the_same_seat(server):
    key = make_key(server.product, max_no_of_machines=1)
    assert floating(server, key, "f-1", overdraft=0)[0] is not None
    again, message = floating(server, key, "f-1", overdraft=0)
    assert again is not None, message
    assert key.activations.filter(floating=True).count() == 1


def test_get_key_returns_the_signed_key_without_activating(server):
    key = make_key(server.product, max_no_of_machines=3, notes="hello",
                   features=[True, False, True, False, False, False, False, True])
    Activation.objects.create(key=key, machine_code="known", ip="192.0.2.7")

    license_key, message = Key.get_key(server.token, server.pubkey, server.product.pk, key.key)

    assert license_key is not None, message
    assert (license_key.product_id, license_key.id, license_key.key, license_key.global_id) == (
        server.product.pk, key.serial, key.key, key.pk)
    assert [license_key.f1, license_key.f2, license_key.f3, license_key.f8] == [
        True, False, True, True]
    assert license_key.notes == "hello"
    assert license_key.max_no_of_machines == 3
    assert license_key.block is False
    assert mids(license_key) == ["known"]
    assert license_key.expires == dt.datetime.fromtimestamp(int(key.expires.timestamp()))
    assert key.activations.count() == 1


# --- Deactivation --------------------------------------------------------------------------


def test_node_locked_deactivation_frees_the_seat(server):
    key = make_key(server.product, max_no_of_machines=1)
    assert activate(server, key, "old")[0] is not None
    assert activate(server, key, "new") == (None, LIMIT_REACHED)

    assert Key.deactivate(server.token, server.product.pk, key.key, "old") == (True, "")

    license_key, message = activate(server, key, "new")
    assert license_key is not None, message
    assert list(key.activations.values_list("machine_code", flat=True)) == ["new"]


def test_floating_deactivation_releases_the_seat(server):
    key = make_key(server.product, max_no_of_machines=1)
    assert floating(server, key, "f-1", overdraft=0)[0] is not None
    assert floating(server, key, "f-2", overdraft=0) == (None, LIMIT_REACHED)

    assert Key.deactivate(server.token, server.product.pk, key.key, "f-1",
                          floating=True) == (True, "")

    license_key, message = floating(server, key, "f-2", overdraft=0)
    assert license_key is not None, message
    assert Helpers.IsOnRightMachine(license_key, is_floating_license=True,
                                    custom_machine_code="f-2")


def test_deactivating_an_unknown_machine_is_refused(server):
    key = make_key(server.product, max_no_of_machines=1)
    assert Key.deactivate(server.token, server.product.pk, key.key, "never") == (
        False, NEVER_ACTIVATED)


# --- Key management ------------------------------------------------------------------------


def test_create_key(server):
    body, message = Key.create_key(server.token, server.product.pk, period=30, f2=True,
                                   notes="from the client", max_no_of_machines=3)

    assert message == ""
    assert body["result"] == 0
    key = LicenseKey.objects.get(product=server.product, key=body["key"])
    assert (key.period, key.f2, key.f1, key.notes, key.max_no_of_machines, key.customer) == (
        30, True, False, "from the client", 3, None)
    assert abs(key.expires - (timezone.now() + dt.timedelta(days=30))) < dt.timedelta(minutes=1)


def test_create_key_with_a_new_customer(server):
    body, message = Key.create_key(server.token, server.product.pk, new_customer=True,
                                   name="Ada Lovelace", email="ada@example.org",
                                   company_name="Engines Ltd")

    assert message == ""
    key = LicenseKey.objects.select_related("customer").get(key=body["key"])
    assert key.customer is not None
    assert (key.customer.name, key.customer.email, key.customer.company_name) == (
        "Ada Lovelace", "ada@example.org", "Engines Ltd")
    assert key.customer.vendor == server.vendor
    assert body["customerId"] == key.customer.pk


def test_create_trial_key_returns_the_same_key_for_the_same_machine(server):
    first, message = Key.create_trial_key(server.token, server.product.pk, "trial-pc")
    assert first is not None, message
    again, message = Key.create_trial_key(server.token, server.product.pk, "trial-pc")
    assert again == first, message

    key = LicenseKey.objects.get(product=server.product, key=first)
    expected = timezone.now() + dt.timedelta(days=server.product.trial_period_days)
    assert abs(key.expires - expected) < dt.timedelta(minutes=1)
    assert key.f1  # the product's trial feature
    assert list(key.activations.values_list("machine_code", flat=True)) == ["trial-pc"]

    license_key, _, meta = activate(server, key, "trial-pc", metadata=True)
    assert Helpers.IsOnRightMachine(license_key, custom_machine_code="trial-pc")
    assert meta["LicenseStatus"]["Trial"] is True
    assert meta["LicenseStatus"]["IsValid"] is True
    assert meta["LicenseStatus"]["TimeLeft"] in (6, 7)


def test_block_and_unblock(server):
    key = make_key(server.product, max_no_of_machines=2)

    assert Key.block_key(server.token, server.product.pk, key.key) == (True, "")
    key.refresh_from_db()
    assert key.block
    assert activate(server, key, "pc-1") == (None, BLOCKED)
    assert Key.deactivate(server.token, server.product.pk, key.key, "pc-1") == (False, BLOCKED)
    blocked, message = Key.get_key(server.token, server.pubkey, server.product.pk, key.key)
    assert blocked is not None, message
    assert blocked.block is True

    assert Key.unblock_key(server.token, server.product.pk, key.key) == (True, "")
    license_key, message = activate(server, key, "pc-1")
    assert license_key is not None, message
    assert license_key.block is False


def test_extend_license_adds_days_to_the_expiry(server):
    key = make_key(server.product, period=30)
    before = key.expires

    assert Key.extend_license(server.token, server.product.pk, key.key, 10) == (True, "")

    key.refresh_from_db()
    assert key.expires == before + dt.timedelta(days=10)
    license_key, _ = Key.get_key(server.token, server.pubkey, server.product.pk, key.key)
    assert license_key.expires == dt.datetime.fromtimestamp(int(key.expires.timestamp()))


def test_add_feature_shows_in_get_key(server):
    key = make_key(server.product)

    assert Key.add_feature(server.token, server.product.pk, key.key, 3) == (True, "")

    license_key, message = Key.get_key(server.token, server.pubkey, server.product.pk, key.key)
    assert license_key is not None, message
    assert license_key.f3 is True
    assert license_key.f4 is False


def test_add_customer(server):
    body, message = CustomerApi.add_customer(server.token, name="Grace", email="g@example.org",
                                             company_name="Navy")

    assert message == ""
    customer = Customer.objects.get(pk=body["customerId"])
    assert (customer.vendor, customer.name, customer.email, customer.company_name) == (
        server.vendor, "Grace", "g@example.org", "Navy")
    assert body["secret"]


def test_get_keys_pages_by_99(server):
    services.key_create(product=server.product, actor=Actor.for_system("test"),
                        spec=services.KeySpec(period=1), count=100)

    first, message, paging = Product.get_keys(server.token, server.product.pk)
    assert message == ""
    assert paging == {"returned": 99, "total": 100, "pageCount": 2}
    assert [k["id"] for k in first] == list(range(1, 100))

    rest, _, paging = Product.get_keys(server.token, server.product.pk, page=2)
    assert paging == {"returned": 1, "total": 100, "pageCount": 2}
    assert rest[0]["id"] == 100


def test_register_event(server):
    key = make_key(server.product)

    ok, message = AI.register_event(server.token, product_id=server.product.pk, key=key.key,
                                    machine_code="pc-1", feature_name="export",
                                    event_name="click", value=3, currency="EUR")

    assert (ok, message) == (True, "")
    event = Event.objects.get()
    assert (event.vendor, event.product_id, event.key, event.machine_code) == (
        server.vendor, server.product.pk, key.key, "pc-1")
    assert (event.feature_name, event.event_name, event.value, event.currency) == (
        "export", "click", 3, "EUR")


def test_web_api_log_records_every_state(server):
    body, _ = Key.create_key(server.token, server.product.pk, max_no_of_machines=2)  # 3010
    node_key = LicenseKey.objects.get(key=body["key"])
    activate(server, node_key, "pc-1")  # 2011
    activate(server, node_key, "pc-1")  # 2010
    Key.deactivate(server.token, server.product.pk, node_key.key, "pc-1")  # 6010
    floating_key = make_key(server.product, max_no_of_machines=1)
    floating(server, floating_key, "f-1")  # 2014
    floating(server, floating_key, "f-2")  # 2015
    floating(server, floating_key, "f-3")  # 2024
    Key.deactivate(server.token, server.product.pk, floating_key.key, "f-1", floating=True)

    logs, message = AI.get_web_api_log(server.token, product_id=server.product.pk, limit=100)

    assert message == ""
    produced = [log["state"] for log in logs]
    assert produced == [states.KEY_CREATED, states.ACTIVATION_NEW, states.ACTIVATION_EXISTING,
                        states.DEACTIVATION_OK, states.ACTIVATION_FLOATING,
                        states.ACTIVATION_OVERDRAFT, states.ACTIVATION_FLOATING_LIMIT,
                        states.FLOATING_RELEASED]
    assert produced == [3010, 2011, 2010, 6010, 2014, 2015, 2024, 6011]
    overdraft = logs[5]
    assert (overdraft["key"], overdraft["machineCode"], overdraft["ip"]) == (
        floating_key.key, "f-2", "127.0.0.1")
    assert overdraft["floatingExpires"] > overdraft["time"]
    assert {"id", "productId", "key", "ip", "time", "state", "machineCode", "friendlyName",
            "floatingExpires"} <= set(logs[0])


# --- Signed payloads on the client side --------------------------------------------------


def test_activation_with_metadata_returns_the_verified_metadata(server):
    key = make_key(server.product, max_no_of_machines=2)
    Activation.objects.create(key=key, machine_code="other")

    result = activate(server, key, "pc-1", metadata=True)

    assert len(result) == 3
    license_key, message, meta = result
    assert license_key is not None, message
    assert isinstance(meta, dict), meta  # on failure the client puts a message string here
    assert meta["ActivatedMachines"] == 2
    assert meta["LicenseStatus"]["IsValid"] is True
    assert meta["LicenseStatus"]["ReasonForInvalidity"] == 0


def test_saved_license_loads_back_with_the_public_key(server):
    key = make_key(server.product, max_no_of_machines=1)
    license_key, _ = activate(server, key, "pc-1")

    saved = license_key.save_as_string()
    loaded = ClientLicenseKey.load_from_string(server.pubkey, saved)

    assert loaded is not None
    assert (loaded.key, loaded.id, loaded.expires, loaded.max_no_of_machines) == (
        key.key, key.serial, license_key.expires, 1)
    assert Helpers.IsOnRightMachine(loaded, custom_machine_code="pc-1")
    assert ClientLicenseKey.load_from_string(server.pubkey, saved,
                                             signature_expiration_interval=1) is not None


def test_tampered_license_is_rejected(server):
    key = make_key(server.product, max_no_of_machines=1)
    license_key, _ = activate(server, key, "pc-1")
    saved = json.loads(license_key.save_as_string())
    payload = json.loads(base64.b64decode(saved["licenseKey"]))
    assert payload["MaxNoOfMachines"] == 1

    payload["MaxNoOfMachines"] = 100
    saved["licenseKey"] = base64.b64encode(json.dumps(payload).encode()).decode()

    assert ClientLicenseKey.load_from_string(server.pubkey, json.dumps(saved)) is None


def test_license_signed_by_another_vendor_fails_verification(server):
    other_pubkey = public_key_xml(make_vendor("Other").signing_key.public_key_pem)
    key = make_key(server.product, max_no_of_machines=1)

    license_key, message = Key.activate(server.token, other_pubkey, server.product.pk, key.key,
                                        "pc-1")

    assert license_key is None
    assert message == "The signature check failed."


# --- Exact error messages ------------------------------------------------------------------


def test_bad_token_is_unable_to_authenticate(server):
    key = make_key(server.product)
    forged = base64.b64encode(b'["1","AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]').decode()
    assert Key.activate(forged, server.pubkey, server.product.pk, key.key, "pc") == (
        None, UNABLE_TO_AUTHENTICATE)


def test_token_without_the_method_is_denied(server):
    key = make_key(server.product)
    token = server.token_for(["key.GetKey"])
    assert Key.activate(token, server.pubkey, server.product.pk, key.key, "pc") == (
        None, ACCESS_DENIED)


def test_unknown_product_and_key(server):
    key = make_key(server.product)
    assert Key.get_key(server.token, server.pubkey, 999999, key.key) == (None, PRODUCT_NOT_FOUND)
    assert Key.get_key(server.token, server.pubkey, server.product.pk,
                       "AAAAA-BBBBB-CCCCC-DDDDD") == (None, KEY_NOT_FOUND)


def test_product_locked_token_cannot_reach_another_product(server):
    key = make_key(server.product)
    other_product = ProductFactory(vendor=server.vendor)
    token = server.token_for(["key.GetKey"], product=other_product)
    assert Key.get_key(token, server.pubkey, server.product.pk, key.key) == (None, KEY_LOCKED)


def test_key_locked_token_cannot_reach_another_key(server):
    key, other_key = make_key(server.product), make_key(server.product)
    token = server.token_for(["key.GetKey"], locked_key=other_key)
    assert Key.get_key(token, server.pubkey, server.product.pk, key.key) == (None, KEY_LOCKED)
    assert Key.get_key(token, server.pubkey, server.product.pk, other_key.key)[0] is not None


def test_blocked_trial_cannot_be_requested_again(server):
    trial, _ = Key.create_trial_key(server.token, server.product.pk, "trial-pc")
    Key.block_key(server.token, server.product.pk, trial)
    assert Key.create_trial_key(server.token, server.product.pk, "trial-pc") == (
        None, ALREADY_TRIALLED)


def test_trial_machine_code_must_be_given_and_short(server):
    assert Key.create_trial_key(server.token, server.product.pk, "") == (
        None, MACHINE_CODE_NULL)
    assert Key.create_trial_key(server.token, server.product.pk, "m" * 129) == (
        None, MACHINE_CODE_TOO_LONG)
    assert not LicenseKey.objects.exists()


def test_activation_machine_code_longer_than_128_is_refused(server):
    key = make_key(server.product, max_no_of_machines=1)
    assert activate(server, key, "m" * 129) == (None, MACHINE_CODE_TOO_LONG)
    assert activate(server, key, "m" * 128)[0] is not None


def test_create_key_notes_longer_than_500_are_refused(server):
    assert Key.create_key(server.token, server.product.pk, notes="n" * 501) == (
        None, NOTES_TOO_LONG)
    assert Key.create_key(server.token, server.product.pk, notes="n" * 500)[0] is not None


def test_create_key_for_an_unknown_customer_is_refused(server):
    assert Key.create_key(server.token, server.product.pk, customer_id=999999) == (
        None, CUSTOMER_NOT_FOUND)
    assert not LicenseKey.objects.exists()


def test_non_numeric_product_id_is_incorrect_input(server):
    key = make_key(server.product)
    body = server.post("key/activate", ProductId="abc", Key=key.key, MachineCode="pc")
    assert body == {"result": 1, "message": INCORRECT_INPUT}
