"""customer/*: AddCustomer's portal link and activation management, EditCustomer (only the
fields given change), RemoveCustomer, GetCustomers, GetCustomerLicenses(BySecret) with
Metadata, through the official client where it has the method and raw HTTP elsewhere."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlsplit

import pytest
from django.test import Client
from licensing.internal import HelperMethods
from licensing.methods import Customer as ClientCustomer
from licensing.methods import Key as ClientKey
from licensing.models import RSAPublicKey

from apps.api import errors
from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import Customer, CustomerMembership, LicenseKey, PortalLink
from apps.licensing.services import token_create
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    UserFactory,
    make_activation,
    make_key,
    make_vendor,
)
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

CUSTOMER_METHODS = ("customer.AddCustomer", "customer.GetCustomerLicensesBySecret")


class Api:
    def __init__(self) -> None:
        self.vendor = make_vendor("Customer API vendor")
        self.product = ProductFactory(vendor=self.vendor)
        self.token = self.token_for(list(CUSTOMER_METHODS))
        self.client = Client()

    def token_for(self, permissions: list[str], **locks) -> str:
        return token_create(vendor=self.vendor, actor=Actor.for_system("test"), name="api",
                            permissions=permissions, **locks)[1]

    def call(self, method: str, token: str | None = None, **params) -> dict:
        response = self.client.post(f"/api/customer/{method}",
                                    {"token": token or self.token, **params})
        assert response.status_code == 200
        return response.json()

    def ok(self, method: str, **params) -> dict:
        body = self.call(method, **params)
        assert body["result"] == 0, body
        return body


@pytest.fixture
def api(db) -> Api:
    return Api()


# --- AddCustomer --------------------------------------------------------------------------


def test_add_customer_with_association_returns_a_portal_link_that_works(api):
    body = api.ok("AddCustomer", Name="Big Corp", Email="it@bigcorp.example",
                  EnableCustomerAssociation="True")

    url = urlsplit(body["portalLink"])
    assert (url.scheme, url.netloc) == ("http", "testserver")
    assert url.path.startswith("/portal/join/")
    assert Client().get(url.path).status_code == 200
    joiner = Client()
    joiner.force_login(UserFactory())
    assert joiner.post(url.path).status_code == 302
    membership = CustomerMembership.objects.get()
    assert membership.customer_id == body["customerId"]
    assert not membership.may_deactivate


def test_the_portal_link_is_stored_as_a_digest_and_logged_as_the_tokens(api):
    body = api.ok("AddCustomer", Name="Big Corp", EnableCustomerAssociation="true")

    token = urlsplit(body["portalLink"]).path.rstrip("/").rsplit("/", 1)[1]
    link = PortalLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (link.customer_id, link.vendor, link.expires_at, link.created_by) == (
        body["customerId"], api.vendor, None, None)
    entry = ObjectLogEntry.objects.for_object(link).get()
    assert (entry.action, entry.actor_type) == ("created", "token")


def test_add_customer_without_association_makes_no_link(api):
    body = api.ok("AddCustomer", Name="Small Corp")
    assert body["portalLink"] == ""
    assert not PortalLink.objects.exists()
    assert set(body) == {"customerId", "secret", "portalLink", "result", "message"}


def test_allow_activation_management_lets_whoever_joins_deactivate(api):
    body = api.ok("AddCustomer", Name="Big Corp", EnableCustomerAssociation="true",
                  AllowActivationManagement="true")

    customer = Customer.objects.get(pk=body["customerId"])
    assert customer.allow_activation_management
    joiner = Client()
    joiner.force_login(UserFactory())
    joiner.post(urlsplit(body["portalLink"]).path)
    assert CustomerMembership.objects.get(customer=customer).may_deactivate


def test_activation_management_is_off_unless_asked_for(api):
    body = api.ok("AddCustomer", Name="Big Corp")
    assert not Customer.objects.get(pk=body["customerId"]).allow_activation_management


def test_only_the_digest_of_the_customer_secret_is_stored(api):
    body = api.ok("AddCustomer", Name="Big Corp")
    customer = Customer.objects.get(pk=body["customerId"])
    assert customer.secret_hash == hashlib.sha256(body["secret"].encode()).hexdigest()


# --- GetCustomerLicensesBySecret ----------------------------------------------------------


@pytest.fixture
def with_keys(api) -> tuple[str, list[str]]:
    """A customer added through the API with two keys, and another customer with one."""
    body = api.ok("AddCustomer", Name="Big Corp")
    customer = Customer.objects.get(pk=body["customerId"])
    keys = [make_key(api.product, customer=customer).key for _ in range(2)]
    other = Customer.objects.get(pk=api.ok("AddCustomer", Name="Other")["customerId"])
    make_key(api.product, customer=other)
    return body["secret"], keys


def test_the_secret_lists_that_customers_keys(api, with_keys):
    secret, keys = with_keys

    body = api.ok("GetCustomerLicensesBySecret", Secret=secret)

    assert sorted(k["key"] for k in body["licenseKeys"]) == sorted(keys)
    assert "activatedMachines" not in body["licenseKeys"][0]


def test_detailed_lists_full_key_objects(api, with_keys):
    secret, _ = with_keys
    body = api.ok("GetCustomerLicensesBySecret", Secret=secret, Detailed="true")
    assert body["licenseKeys"][0]["customer"]["name"] == "Big Corp"
    assert body["licenseKeys"][0]["activatedMachines"] == []


@pytest.mark.parametrize("secret", ["wrong", "", "None"])
def test_a_wrong_secret_finds_no_customer(api, with_keys, secret):
    body = api.call("GetCustomerLicensesBySecret", Secret=secret)
    assert body == {"result": 1, "message": errors.CUSTOMER_NOT_FOUND}


def test_another_vendors_customer_secret_finds_nothing(api, with_keys):
    secret, _ = with_keys
    other = Api()
    body = other.call("GetCustomerLicensesBySecret", Secret=secret)
    assert body == {"result": 1, "message": errors.CUSTOMER_NOT_FOUND}


def test_the_method_needs_its_permission(api, with_keys):
    secret, _ = with_keys
    narrow = api.token_for(["customer.GetCustomerLicenses", "customer.AddCustomer"])
    body = api.call("GetCustomerLicensesBySecret", token=narrow, Secret=secret)
    assert body == {"result": 1, "message": errors.ACCESS_DENIED}


def test_a_product_locked_token_lists_only_that_products_keys(api, with_keys):
    secret, keys = with_keys
    customer = Customer.objects.get(keys__key=keys[0])
    make_key(ProductFactory(vendor=api.vendor), customer=customer)
    locked = api.token_for(["customer.GetCustomerLicensesBySecret"], product=api.product)

    body = api.ok("GetCustomerLicensesBySecret", token=locked, Secret=secret)

    assert sorted(k["key"] for k in body["licenseKeys"]) == sorted(keys)


def test_create_key_with_a_new_associated_customer_returns_a_working_portal_link(db):
    vendor = make_vendor()
    product = ProductFactory(vendor=vendor)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("t"), name="t",
                            permissions=API_METHODS)
    client = Client()
    body = client.post("/api/key/CreateKey", {
        "token": token, "ProductId": product.pk, "NewCustomer": "True", "Name": "Buyer",
        "Email": "buyer@example.org", "EnableCustomerAssociation": "True"}).json()

    assert body["result"] == 0, body
    assert body["portalLink"].startswith("http://testserver/portal/join/")
    assert client.get(body["portalLink"]).status_code == 200


# --- Through the official client (licensing 0.54) against a live server -------------------


def test_the_client_adds_a_customer_that_get_customers_lists(server):
    added, message = ClientCustomer.add_customer(server.token, name="Ada", email="ada@x.example",
                                                 company_name="Engines")
    assert message == "", message

    body = server.post("customer/GetCustomers", Search="ENGINES")

    assert body["result"] == 0, body
    (listed,) = body["customers"]
    assert set(listed) == {"id", "name", "email", "companyName", "created"}
    assert (listed["id"], listed["name"], listed["email"], listed["companyName"]) == (
        added["customerId"], "Ada", "ada@x.example", "Engines")
    assert (body["resellerCustomers"], body["visibleCustomers"]) == ([], [])


def test_the_client_reads_a_customers_licenses_with_verifiable_metadata(server):
    customer = CustomerFactory(vendor=server.vendor)
    used = make_key(server.product, customer=customer, max_no_of_machines=2)
    make_activation(used, "pc-1")
    make_activation(used, "pc-2")
    blocked = make_key(server.product, customer=customer, block=True)

    body, message = ClientCustomer.get_customer_licenses(server.token, customer.pk,
                                                         detailed=True, metadata=True)

    assert message == "", message
    assert [k["key"] for k in body["licenseKeys"]] == [used.key, blocked.key]
    assert [m["activatedMachines"] for m in body["metadata"]] == [2, 0]
    assert [m["licenseStatus"]["reasonForInvalidity"] for m in body["metadata"]] == [0, 2]
    pubkey = RSAPublicKey.from_string(server.pubkey)
    for item in body["metadata"]:
        valid, data = HelperMethods.verify_signature_metadata(item["signature"], pubkey)
        assert valid
        assert json.loads(data)["ActivatedMachines"] == item["activatedMachines"]


def test_the_client_reads_by_secret_without_metadata_unless_asked(server):
    added, _ = ClientCustomer.add_customer(server.token, name="Ada")
    make_key(server.product, customer=Customer.objects.get(pk=added["customerId"]))

    plain, _ = ClientCustomer.get_customer_licenses_by_secret(server.token, added["secret"])
    with_metadata, _ = ClientCustomer.get_customer_licenses_by_secret(
        server.token, added["secret"], metadata=True)

    assert "metadata" not in plain
    assert len(plain["licenseKeys"]) == len(with_metadata["metadata"]) == 1
    assert with_metadata["metadata"][0]["licenseStatus"]["isValid"] is True


def test_the_clients_create_key_with_a_new_customer_passes_its_details(server):
    body, message = ClientKey.create_key(server.token, server.product.pk, new_customer=True,
                                         name="Buyer", email="buyer@x.example",
                                         allow_activation_management=True)
    assert message == "", message
    customer = Customer.objects.get(pk=body["customerId"])
    assert (customer.name, customer.allow_activation_management,
            customer.allow_multiple_user_association) == ("Buyer", True, False)


# --- AllowMultipleUserAssociation ---------------------------------------------------------


@pytest.mark.parametrize("method", ["customer/AddCustomer", "key/CreateKey"])
def test_allow_multiple_user_association_is_stored(db, method):
    vendor = make_vendor()
    product = ProductFactory(vendor=vendor)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("t"), name="t",
                            permissions=API_METHODS)
    body = Client().post(f"/api/{method}", {
        "token": token, "ProductId": product.pk, "NewCustomer": "true", "Name": "Many",
        "AllowMultipleUserAssociation": "True"}).json()
    assert body["result"] == 0, body
    assert Customer.objects.get(pk=body["customerId"]).allow_multiple_user_association


# --- GetCustomers -------------------------------------------------------------------------


@pytest.fixture
def full(api) -> Api:
    api.token = api.token_for(list(API_METHODS))
    return api


def _customers(api: Api, token: str | None = None, **params) -> list[int]:
    body = api.call("GetCustomers", token=token, **params)
    assert body["result"] == 0, body
    return [c["id"] for c in body["customers"]]


def test_get_customers_lists_newest_first_and_limits(full):
    made = [CustomerFactory(vendor=full.vendor) for _ in range(3)]
    assert _customers(full) == [c.pk for c in reversed(made)]
    assert _customers(full, Limit="2") == [made[2].pk, made[1].pk]
    assert _customers(full, CustomerId=str(made[0].pk)) == [made[0].pk]


def test_get_customers_searches_name_email_company_and_the_secret(full):
    ada = CustomerFactory(vendor=full.vendor, name="Ada", email="ada@engines.example",
                          company_name="Analytical")
    bob = CustomerFactory(vendor=full.vendor, name="Bob", email="bob@x.example",
                          company_name="Other")
    secret = full.ok("EditCustomer", CustomerId=bob.pk, Secret="true")["secret"]

    assert _customers(full, Search="ada") == [ada.pk]
    assert _customers(full, Search="ENGINES.example") == [ada.pk]
    assert _customers(full, Search="analyt") == [ada.pk]
    assert _customers(full, Search=secret) == [bob.pk]
    assert _customers(full, Search=secret[:8]) == []  # a secret matches whole only
    assert _customers(full, Search=str(ada.pk)) == []
    assert _customers(full, Search=str(ada.pk), IncludeIdInSearch="true") == [ada.pk]


def test_get_customers_shows_no_other_vendors_customers(full):
    CustomerFactory(vendor=make_vendor("Other"))
    mine = CustomerFactory(vendor=full.vendor)
    assert _customers(full) == [mine.pk]


def test_locked_tokens_list_only_customers_within_their_locks(full):
    inside = CustomerFactory(vendor=full.vendor)
    keyless = CustomerFactory(vendor=full.vendor)
    spanning = CustomerFactory(vendor=full.vendor)
    key = make_key(full.product, customer=inside)
    make_key(full.product, customer=spanning)
    make_key(ProductFactory(vendor=full.vendor), customer=spanning)

    product_locked = full.token_for(["customer.GetCustomers"], product=full.product)
    key_locked = full.token_for(["customer.GetCustomers"], locked_key=key)

    assert sorted(_customers(full, token=product_locked)) == sorted([inside.pk, keyless.pk])
    assert _customers(full, token=key_locked) == [inside.pk]


# --- EditCustomer -------------------------------------------------------------------------


def test_edit_customer_changes_only_what_is_given(full):
    customer = CustomerFactory(vendor=full.vendor, name="Old", email="old@x.example",
                               company_name="Co", notes="n")

    body = full.ok("EditCustomer", CustomerId=customer.pk, Name="New", Email="None",
                   CompanyName="", MaxNoOfDevices="7", AllowActivationManagement="true",
                   AllowMultipleUserAssociation="True")

    assert body == {"customerId": customer.pk, "result": 0, "message": ""}
    customer.refresh_from_db()
    assert (customer.name, customer.email, customer.company_name, customer.notes,
            customer.max_no_of_devices, customer.allow_activation_management,
            customer.allow_multiple_user_association) == (
        "New", "old@x.example", "Co", "n", 7, True, True)
    entry = ObjectLogEntry.objects.for_object(customer).get(action="updated")
    assert entry.actor_type == "token"


def test_edit_customer_turns_settings_off_when_told(full):
    customer = CustomerFactory(vendor=full.vendor, allow_activation_management=True,
                               max_no_of_devices=4)
    full.ok("EditCustomer", CustomerId=customer.pk, AllowActivationManagement="false",
            MaxNoOfDevices="0")
    customer.refresh_from_db()
    assert (customer.allow_activation_management, customer.max_no_of_devices) == (False, 0)


def test_edit_customer_with_secret_returns_a_new_one_that_lists_the_keys(full):
    added = full.ok("AddCustomer", Name="C")
    key = make_key(full.product, customer=Customer.objects.get(pk=added["customerId"]))

    body = full.ok("EditCustomer", CustomerId=added["customerId"], Secret="true")

    assert body["secret"] != added["secret"]
    assert "portalLink" not in body
    listed = full.ok("GetCustomerLicensesBySecret", Secret=body["secret"])
    assert [k["key"] for k in listed["licenseKeys"]] == [key.key]
    assert full.call("GetCustomerLicensesBySecret", Secret=added["secret"]) == {
        "result": 1, "message": errors.CUSTOMER_NOT_FOUND}


def test_edit_customer_with_association_returns_a_working_portal_link(full):
    customer = CustomerFactory(vendor=full.vendor)
    body = full.ok("EditCustomer", CustomerId=customer.pk, EnableCustomerAssociation="true")
    assert "secret" not in body
    assert Client().get(urlsplit(body["portalLink"]).path).status_code == 200
    assert PortalLink.objects.get().customer == customer


@pytest.mark.parametrize(("params", "message"), [
    ({"Name": "x" * 101}, "The name of the customer is limited to 100 characters."),
    ({"Email": "x" * 101}, "The email of the customer is limited to 100 characters."),
    ({"CompanyName": "x" * 101},
     "The company name of the customer is limited to 100 characters."),
    ({"MaxNoOfDevices": "-1"}, errors.INCORRECT_INPUT),
    ({"AllowActivationManagement": "maybe"}, errors.INCORRECT_INPUT),
])
def test_edit_customer_refuses_bad_values_and_changes_nothing(full, params, message):
    customer = CustomerFactory(vendor=full.vendor, name="Kept")
    body = full.call("EditCustomer", CustomerId=customer.pk, Secret="true", **params)
    assert body == {"result": 1, "message": message}
    customer.refresh_from_db()
    assert (customer.name, customer.secret_hash) == ("Kept", "")


def test_edit_customer_of_another_vendor_or_missing_is_not_found(full):
    stranger = CustomerFactory(vendor=make_vendor("Other"), name="Theirs")
    for customer_id in (stranger.pk, 999_999, 0):
        body = full.call("EditCustomer", CustomerId=customer_id, Name="Mine")
        assert body == {"result": 1, "message": "Customer could not be found."}
    stranger.refresh_from_db()
    assert stranger.name == "Theirs"


def test_locked_tokens_edit_only_customers_within_their_locks(full):
    inside = CustomerFactory(vendor=full.vendor)
    outside = CustomerFactory(vendor=full.vendor, name="Outside")
    key = make_key(full.product, customer=inside)
    make_key(ProductFactory(vendor=full.vendor), customer=outside)

    for locks in ({"product": full.product}, {"locked_key": key}):
        token = full.token_for(["customer.EditCustomer"], **locks)
        assert full.call("EditCustomer", token=token, CustomerId=outside.pk, Name="X") == {
            "result": 1, "message": "Customer could not be found."}
        assert full.call("EditCustomer", token=token, CustomerId=inside.pk,
                         Name="Inside")["result"] == 0
    outside.refresh_from_db()
    assert outside.name == "Outside"


def test_edit_customer_needs_its_permission(full):
    customer = CustomerFactory(vendor=full.vendor)
    token = full.token_for(["customer.AddCustomer"])
    assert full.call("EditCustomer", token=token, CustomerId=customer.pk, Name="X") == {
        "result": 1, "message": errors.ACCESS_DENIED}


# --- RemoveCustomer -----------------------------------------------------------------------


def test_remove_customer_keeps_its_keys_without_a_customer(full):
    customer = CustomerFactory(vendor=full.vendor)
    key = make_key(full.product, customer=customer)

    body = full.call("RemoveCustomer", CustomerId=customer.pk)

    assert body == {"result": 0, "message": ""}
    assert not Customer.objects.filter(pk=customer.pk).exists()
    key.refresh_from_db()
    assert key.customer is None
    assert ObjectLogEntry.objects.filter(object_type="licensing.customer",
                                         object_id=str(customer.pk), action="deleted",
                                         actor_type="token").exists()


def test_remove_customer_of_another_vendor_or_outside_a_lock_is_refused(full):
    stranger = CustomerFactory(vendor=make_vendor("Other"))
    outside = CustomerFactory(vendor=full.vendor)
    make_key(ProductFactory(vendor=full.vendor), customer=outside)
    locked = full.token_for(["customer.RemoveCustomer"], product=full.product)

    assert full.call("RemoveCustomer", CustomerId=stranger.pk) == {
        "result": 1, "message": "Customer does not exist."}
    assert full.call("RemoveCustomer", token=locked, CustomerId=outside.pk) == {
        "result": 1, "message": "Customer does not exist."}
    assert Customer.objects.filter(pk__in=[stranger.pk, outside.pk]).count() == 2


def test_a_key_locked_token_changes_its_keys_customer_only_if_it_has_no_other_key(full):
    customer = CustomerFactory(vendor=full.vendor, name="Shared")
    mine = make_key(full.product, customer=customer)
    theirs = make_key(full.product, customer=customer)
    token = full.token_for(["customer.EditCustomer", "customer.RemoveCustomer",
                            "customer.GetCustomers"], locked_key=mine)

    assert _customers(full, token=token) == [customer.pk]  # it may read its key's customer
    assert full.call("EditCustomer", token=token, CustomerId=customer.pk, Name="X") == {
        "result": 1, "message": "Customer could not be found."}
    assert full.call("RemoveCustomer", token=token, CustomerId=customer.pk) == {
        "result": 1, "message": "Customer does not exist."}
    theirs.refresh_from_db()
    assert (theirs.customer, Customer.objects.get(pk=customer.pk).name) == (customer, "Shared")

    LicenseKey.objects.filter(pk=theirs.pk).update(customer=None)
    assert full.call("RemoveCustomer", token=token, CustomerId=customer.pk)["result"] == 0
