"""customer/AddCustomer's portal link and activation management, and
customer/GetCustomerLicensesBySecret."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import pytest
from django.test import Client

from apps.api import errors
from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import Customer, CustomerMembership, PortalLink
from apps.licensing.services import token_create
from tests.factories import ProductFactory, UserFactory, make_key, make_vendor
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
