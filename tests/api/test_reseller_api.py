"""reseller/AddReseller, EditReseller, RemoveReseller, GetResellers (raw HTTP: the official
Python client has none of them), key/ChangeReseller (through the client) and CreateKey's
ResellerId; tenant isolation and token locks."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from licensing.methods import Key

from apps.accounts.models import Reseller
from apps.api import errors
from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import LicenseKey
from apps.licensing.services import token_create
from apps.licensing.services.resellers import (
    keys_set_reseller,
    reseller_add,
    right_grant,
    template_create,
)
from tests.factories import ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

SYSTEM = Actor.for_system("test")
DETACHED = ("The reseller was not found or the id was set to zero. The license will no longer "
            "have any reseller associated with it.")
RESELLER_METHODS = ("AddReseller", "EditReseller", "RemoveReseller", "GetResellers")


class Api:
    def __init__(self, name: str = "Reseller API vendor") -> None:
        self.vendor = make_vendor(name)
        self.product = ProductFactory(vendor=self.vendor)
        self.token = self.token_for(API_METHODS)

    def token_for(self, permissions, **locks) -> str:
        return token_create(vendor=self.vendor, actor=SYSTEM, name="api",
                            permissions=permissions, **locks)[1]

    def call(self, method: str, token: str | None = None, **params) -> dict:
        response = Client().post(f"/api/{method}", {"token": token or self.token, **params})
        assert response.status_code == 200
        return response.json()

    def ok(self, method: str, **params) -> dict:
        body = self.call(method, **params)
        assert body["result"] == 0, body
        return body


@pytest.fixture
def api(db) -> Api:
    return Api()


# --- AddReseller --------------------------------------------------------------------------


def test_add_reseller_keeps_it_without_a_login_until_invited_from_the_portal(
        api, tenant, owner_client, mailoutbox, django_capture_on_commit_callbacks):
    api.vendor = tenant.vendor  # the vendor whose owner uses the portal below
    api.token = api.token_for(API_METHODS)

    body = api.call("reseller/AddReseller", Name="Northwind", Email="sales@northwind.example",
                    Url="https://northwind.example", Phone="+46 8 1", Description="Nordics")

    assert set(body) == {"resellerId", "result", "message"}
    reseller = Reseller.objects.get(pk=body["resellerId"])
    assert (reseller.vendor, reseller.name, reseller.email, reseller.url, reseller.phone,
            reseller.description) == (tenant.vendor, "Northwind", "sales@northwind.example",
                                      "https://northwind.example", "+46 8 1", "Nordics")
    assert (reseller.user, reseller.accepted_at, reseller.invite_token_hash) == (None, None, "")
    assert mailoutbox == []
    entry = ObjectLogEntry.objects.for_object(reseller).get()
    assert (entry.action, entry.actor_type) == ("created", "token")

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("vendor_portal:reseller_invitation_resend",
                                             args=[reseller.pk]))
    assert response.status_code == 200
    assert [m.to for m in mailoutbox] == [["sales@northwind.example"]]


@pytest.mark.parametrize(("params", "message"), [
    ({"Name": "x" * 101}, "The name cannot be longer than 100 characters."),
    ({"Name": "N", "Email": "e" * 95 + "@x.example"},
     "The email cannot be longer than 100 characters."),
    ({"Name": "N", "Description": "d" * 501},
     "The description cannot be longer than 500 characters."),
    ({"Name": "N", "Url": "javascript:alert(1)"},
     "The url must be a web address (http:// or https://)."),
    ({"Name": "N", "Url": "https://x.example/" + "u" * 490},
     "The url cannot be longer than 500 characters."),
    ({"Name": "N", "Phone": "1" * 101}, "The phone cannot be longer than 100 characters."),
    ({"Name": "N", "Metadata": "m" * 10001},
     "The metadata cannot be longer than 10000 characters."),
    ({"Phone": "1"}, "Give the reseller a name."),
])
def test_add_reseller_refuses_bad_values(api, params, message):
    assert api.call("reseller/AddReseller", **params) == {"result": 1, "message": message}
    assert not Reseller.objects.exists()


def test_reseller_metadata_is_kept_and_listed(api):
    body = api.ok("reseller/AddReseller", Name="Gold", Metadata='{"tier":"gold"}')
    assert Reseller.objects.get(pk=body["resellerId"]).metadata == '{"tier":"gold"}'

    api.ok("reseller/EditReseller", ResellerId=body["resellerId"], Metadata='{"tier":"x"}')

    listed = api.ok("reseller/GetResellers")["resellers"]
    assert [(r["name"], r["metadata"]) for r in listed] == [("Gold", '{"tier":"x"}')]


def test_add_reseller_without_a_name_is_named_by_its_email(api):
    body = api.ok("reseller/AddReseller", Email="only@x.example", Name="None")
    assert Reseller.objects.get(pk=body["resellerId"]).name == "only@x.example"


# --- EditReseller -------------------------------------------------------------------------


def test_edit_reseller_changes_only_what_is_given(api):
    reseller = reseller_add(vendor=api.vendor, actor=SYSTEM, name="A", email="a@x.example",
                            phone="1", url="https://a.example")

    body = api.call("reseller/EditReseller", ResellerId=reseller.pk, Phone="2", Url="",
                    Email="None")

    assert body == {"result": 0, "message": ""}
    reseller.refresh_from_db()
    assert (reseller.name, reseller.email, reseller.phone, reseller.url) == (
        "A", "a@x.example", "2", "https://a.example")


def test_edit_reseller_of_another_vendor_or_missing_is_not_found(api):
    stranger = reseller_add(vendor=make_vendor("Other"), actor=SYSTEM, name="Theirs")
    for reseller_id in (stranger.pk, 999_999, 0):
        assert api.call("reseller/EditReseller", ResellerId=reseller_id, Name="Mine") == {
            "result": 1, "message": "Reseller could not be found."}
    stranger.refresh_from_db()
    assert stranger.name == "Theirs"


def test_edit_reseller_refuses_a_too_long_name(api):
    reseller = reseller_add(vendor=api.vendor, actor=SYSTEM, name="A")
    assert api.call("reseller/EditReseller", ResellerId=reseller.pk, Name="x" * 101) == {
        "result": 1, "message": "The name cannot be longer than 100 characters."}


# --- RemoveReseller -----------------------------------------------------------------------


def test_remove_reseller_removes_an_unused_one(api):
    reseller = reseller_add(vendor=api.vendor, actor=SYSTEM, name="Gone")
    assert api.call("reseller/RemoveReseller", ResellerId=reseller.pk) == {
        "result": 0, "message": ""}
    assert not Reseller.objects.filter(pk=reseller.pk).exists()


def test_remove_reseller_in_use_is_refused_with_what_uses_it(api):
    reseller = reseller_add(vendor=api.vendor, actor=SYSTEM, name="Busy")
    keys_set_reseller(keys=[make_key(api.product)], reseller=reseller, actor=SYSTEM)
    right_grant(reseller=reseller, quota=3, actor=SYSTEM,
                template=template_create(product=api.product, actor=SYSTEM, name="T"))

    body = api.call("reseller/RemoveReseller", ResellerId=reseller.pk)

    assert body == {"result": 1, "message": (
        "This reseller is in use (1 license key, 1 issuance right) and cannot be removed: "
        "resellers that issued keys, hold issuance rights or have customers stay on record.")}
    assert Reseller.objects.filter(pk=reseller.pk).exists()


def test_remove_reseller_of_another_vendor_is_not_found(api):
    stranger = reseller_add(vendor=make_vendor("Other"), actor=SYSTEM, name="Theirs")
    assert api.call("reseller/RemoveReseller", ResellerId=stranger.pk) == {
        "result": 1, "message": "Reseller could not be found."}
    assert Reseller.objects.filter(pk=stranger.pk).exists()


# --- GetResellers -------------------------------------------------------------------------


def test_get_resellers_lists_the_vendors_resellers_in_cryptolens_shape(api):
    reseller = reseller_add(vendor=api.vendor, actor=SYSTEM, name="Northwind",
                            email="s@n.example", url="https://n.example", phone="1",
                            description="d", company="Northwind AB")
    reseller_add(vendor=make_vendor("Other"), actor=SYSTEM, name="Theirs")

    body = api.ok("reseller/GetResellers")

    assert body["resellers"] == [{
        "id": reseller.pk, "inviteId": reseller.pk, "resellerUserId": 0,
        "created": reseller.created.strftime("%Y-%m-%dT%H:%M:%S"), "name": "Northwind",
        "url": "https://n.example", "email": "s@n.example", "phone": "1",
        "description": "d", "company": "Northwind AB", "metadata": ""}]


# --- Locks --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", RESELLER_METHODS)
def test_locked_tokens_reach_no_reseller(api, method):
    reseller = reseller_add(vendor=api.vendor, actor=SYSTEM, name="Kept")
    key = make_key(api.product)
    for locks in ({"product": api.product}, {"locked_key": key}):
        token = api.token_for([f"reseller.{method}"], **locks)
        body = api.call(f"reseller/{method}", token=token, ResellerId=reseller.pk, Name="X")
        assert body == {"result": 1, "message": errors.ACCESS_DENIED}
    reseller.refresh_from_db()
    assert reseller.name == "Kept"
    assert Reseller.objects.count() == 1


@pytest.mark.parametrize("method", RESELLER_METHODS)
def test_each_reseller_method_needs_its_permission(api, method):
    others = [m for m in API_METHODS if m != f"reseller.{method}"]
    body = api.call(f"reseller/{method}", token=api.token_for(others), Name="X")
    assert body == {"result": 1, "message": errors.ACCESS_DENIED}


# --- key/ChangeReseller through the official client ---------------------------------------


def test_the_client_attaches_and_detaches_a_reseller(server):
    key = make_key(server.product)
    reseller = reseller_add(vendor=server.vendor, actor=SYSTEM, name="Northwind",
                            email="s@n.example")

    assert Key.change_reseller(server.token, server.product.pk, key.key, reseller.pk) == (
        True, "")
    license_key, message = Key.get_key(server.token, server.pubkey, server.product.pk, key.key)
    assert message == ""
    assert (license_key.reseller.Id, license_key.reseller.Name, license_key.reseller.Email) == (
        reseller.pk, "Northwind", "s@n.example")

    assert Key.change_reseller(server.token, server.product.pk, key.key, 0) == (True, DETACHED)
    assert LicenseKey.objects.get(pk=key.pk).reseller is None


def test_the_client_detaches_for_an_unknown_or_another_vendors_reseller(server):
    key = make_key(server.product)
    mine = reseller_add(vendor=server.vendor, actor=SYSTEM, name="Mine")
    theirs = reseller_add(vendor=make_vendor("Other"), actor=SYSTEM, name="Theirs")
    for reseller_id in (theirs.pk, 999_999):
        keys_set_reseller(keys=[key], reseller=mine, actor=SYSTEM)
        assert Key.change_reseller(server.token, server.product.pk, key.key,
                                   reseller_id) == (True, DETACHED)
        assert LicenseKey.objects.get(pk=key.pk).reseller is None


def test_the_client_hears_the_key_errors(server):
    assert Key.change_reseller(server.token, server.product.pk, "AAAAA-AAAAA-AAAAA-AAAAA",
                               0) == (False, errors.KEY_NOT_FOUND)
    assert Key.change_reseller(server.token, 999_999, "AAAAA-AAAAA-AAAAA-AAAAA", 0) == (
        False, errors.PRODUCT_NOT_FOUND)


def test_a_locked_token_may_only_detach_or_keep_the_keys_reseller(server):
    key = make_key(server.product)
    kept = reseller_add(vendor=server.vendor, actor=SYSTEM, name="Kept")
    other = reseller_add(vendor=server.vendor, actor=SYSTEM, name="Other")
    keys_set_reseller(keys=[key], reseller=kept, actor=SYSTEM)
    for locks in ({"product": server.product}, {"locked_key": key}):
        token = server.token_for(["key.ChangeReseller"], **locks)
        for reseller_id in (other.pk, 999_999):
            assert Key.change_reseller(token, server.product.pk, key.key, reseller_id) == (
                False, errors.ACCESS_DENIED)
        assert Key.change_reseller(token, server.product.pk, key.key, kept.pk) == (True, "")
        assert LicenseKey.objects.get(pk=key.pk).reseller == kept
    token = server.token_for(["key.ChangeReseller"], locked_key=key)
    assert Key.change_reseller(token, server.product.pk, key.key, 0) == (True, DETACHED)


# --- key/CreateKey's ResellerId -----------------------------------------------------------


def test_create_key_with_reseller_id_attaches_every_key(api):
    reseller = reseller_add(vendor=api.vendor, actor=SYSTEM, name="R")
    body = api.ok("key/CreateKey", ProductId=api.product.pk, NoOfKeys="2",
                  ResellerId=reseller.pk)
    assert set(LicenseKey.objects.filter(key__in=body["keys"])
               .values_list("reseller_id", flat=True)) == {reseller.pk}


def test_create_key_with_another_vendors_reseller_creates_nothing(api):
    theirs = reseller_add(vendor=make_vendor("Other"), actor=SYSTEM, name="Theirs")
    for reseller_id in (theirs.pk, 999_999):
        body = api.call("key/CreateKey", ProductId=api.product.pk, ResellerId=reseller_id,
                        NewCustomer="true", Name="New")
        assert body == {"result": 1, "message": "Could not find the reseller."}
    assert not LicenseKey.objects.filter(product=api.product).exists()
    assert not api.vendor.customers.exists()


def test_create_key_with_a_reseller_is_refused_to_a_product_locked_token(api):
    reseller = reseller_add(vendor=api.vendor, actor=SYSTEM, name="R")
    token = api.token_for(["key.CreateKey"], product=api.product)
    assert api.call("key/CreateKey", token=token, ProductId=api.product.pk,
                    ResellerId=reseller.pk) == {"result": 1, "message": errors.ACCESS_DENIED}
    assert api.call("key/CreateKey", token=token, ProductId=api.product.pk)["result"] == 0
