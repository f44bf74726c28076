"""Every registered Web API method, called with a key-locked and a product-locked token that
hold every permission, aimed at objects outside the lock: nothing outside the lock is shown,
created or changed. The walk reads the registry, so a method added later is walked too."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.forms.models import model_to_dict
from django.test import Client

from apps.api import errors
from apps.api.registry import METHODS
from apps.audit.log import Actor
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import Customer, DataObject, LicenseKey, LicenseTemplate, Product
from apps.licensing.services import token_create
from apps.licensing.services.catalog import customer_secret_reset
from apps.licensing.services.resellers import template_create
from apps.usage.models import Event, WebApiLog
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    make_activation,
    make_key,
    make_vendor,
)
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

SYSTEM = Actor.for_system("test")


@dataclass
class World:
    """Product A with keys `own` (the locked key) and `sibling`; product B with key `far`.
    One customer holds all three; each key has a device, a data object, events, log rows."""

    own_product: Product
    other_product: Product
    own: LicenseKey
    sibling: LicenseKey
    far: LicenseKey
    customer: Customer
    secret: str
    own_template: LicenseTemplate
    other_template: LicenseTemplate

    def foreign(self, token_kind: str) -> list[LicenseKey]:
        return [self.sibling, self.far] if token_kind == "key" else [self.far]


@pytest.fixture
def world(db) -> World:
    vendor = make_vendor("Locks vendor")
    own_product = ProductFactory(vendor=vendor, name="Own product")
    other_product = ProductFactory(vendor=vendor, name="Far-away product")
    customer = CustomerFactory(vendor=vendor)
    keys = [make_key(product, customer=customer, max_no_of_machines=5)
            for product in (own_product, own_product, other_product)]
    for n, key in enumerate(keys):
        make_activation(key, f"machine-{n}")
        DataObject.objects.create(key=key, name="usage", int_value=10)
        Event.objects.create(vendor=vendor, product_id=key.product_id, key=key.key,
                             event_name="opened")
        WebApiLog.objects.create(vendor=vendor, product_id=key.product_id, key=key.key,
                                 state=1010, method="key.GetKey")
    secret = customer_secret_reset(customer=customer, actor=SYSTEM)
    templates = [template_create(product=product, actor=SYSTEM, name="T", period=30)
                 for product in (own_product, other_product)]
    return World(own_product, other_product, *keys, customer, secret, *templates)


def _token(world: World, kind: str) -> str:
    lock = ({"locked_key": world.own, "product": world.own_product} if kind == "key"
            else {"product": world.own_product})
    return token_create(vendor=world.own_product.vendor, actor=SYSTEM, name=kind,
                        permissions=API_METHODS, **lock)[1]


def _aims(world: World, kind: str) -> list[dict[str, str]]:
    """Parameter sets that point outside the lock, and one that names nothing at all."""
    common = {"MachineCode": "intruder", "Feature": "1", "NoOfDays": "5", "Name": "usage",
              "IntValue": "1", "Notes": "changed", "NoOfMachines": "9", "Enabled": "true",
              "StringValue": "x", "Detailed": "true", "Limit": "1000", "Floating": "false",
              "CustomerId": str(world.customer.pk), "Secret": world.secret,
              "Sign": "true", "SignMethod": "1"}
    aims = [{**common, "ProductId": str(k.product_id), "Key": k.key,
             "LicenseTemplateId": str(world.other_template.pk)}
            for k in world.foreign(kind)]
    aims.append({**common, "LicenseTemplateId": str(world.own_template.pk)
                 if kind == "product" else str(world.other_template.pk)})
    aims.append({**common, "ProductId": str(world.own_product.pk)})
    return aims


def _snapshot(keys: list[LicenseKey]) -> list:
    return [(model_to_dict(LicenseKey.objects.get(pk=k.pk)),
             sorted(k.activations.values_list("machine_code", flat=True)),
             sorted(k.data_objects.values_list("name", "int_value", "string_value")))
            for k in keys]


def _leaks(body: dict, world: World, kind: str) -> list[str]:
    text = json.dumps(body)
    found = [k.key for k in world.foreign(kind) if k.key in text]
    if world.other_product.name in text:
        found.append(world.other_product.name)
    found += [f"productId {world.other_product.pk}" for row in
              body.get("logs", []) + body.get("events", []) + body.get("licenseKeys", [])
              if row.get("productId", row.get("ProductId")) == world.other_product.pk]
    return found


@pytest.mark.parametrize("kind", ["key", "product"])
def test_no_method_reaches_beyond_a_locked_tokens_key_or_product(world, kind):
    token = _token(world, kind)
    before = _snapshot(world.foreign(kind))
    keys_before = LicenseKey.objects.count()
    customers_before = Customer.objects.count()
    client = Client()
    problems = []
    for method in METHODS.values():
        for params in _aims(world, kind):
            body = client.post(method.path, {"token": token, **params}).json()
            problems += [f"{method.name} {params.get('Key', '-')}: shows {leak}"
                         for leak in _leaks(body, world, kind)]
            if body["message"] == errors.SERVER_ERROR:
                problems.append(f"{method.name}: {body['message']}")

    assert problems == []
    assert _snapshot(world.foreign(kind)) == before
    if kind == "key":  # a key-locked token creates nothing: no key, no trial, no customer
        assert LicenseKey.objects.count() == keys_before
        assert Customer.objects.count() == customers_before
    else:  # a product-locked token may create keys, in its own product only
        assert not LicenseKey.objects.filter(product=world.other_product).exclude(
            pk=world.far.pk).exists()


@pytest.mark.parametrize("method", ["product/GetKeys", "customer/GetCustomerLicenses",
                                    "customer/GetCustomerLicensesBySecret", "ai/GetWebAPILog",
                                    "ai/GetEvents", "product/GetProducts"])
def test_a_key_locked_listing_shows_its_own_key_and_nothing_else(world, method):
    body = Client().post(f"/api/{method}", {
        "token": _token(world, "key"), "ProductId": world.own_product.pk,
        "CustomerId": world.customer.pk, "Secret": world.secret}).json()

    assert body["result"] == 0, body
    text = json.dumps(body)
    expected = world.own_product.name if method == "product/GetProducts" else world.own.key
    assert expected in text
    assert world.sibling.key not in text and world.far.key not in text


@pytest.mark.parametrize("method", ["key/CreateKey", "key/CreateTrialKey",
                                    "key/CreateKeyFromTemplate", "customer/AddCustomer"])
def test_a_key_locked_token_may_not_create_keys_or_customers(world, method):
    body = Client().post(f"/api/{method}", {
        "token": _token(world, "key"), "ProductId": world.own_product.pk,
        "MachineCode": "new-machine", "LicenseTemplateId": world.own_template.pk,
        "Name": "New customer"}).json()

    assert (body["result"], body["message"]) == (1, errors.ACCESS_DENIED)


def test_the_locked_key_itself_still_works(world):
    client = Client()
    token = _token(world, "key")
    activated = client.post("/api/key/Activate", {
        "token": token, "ProductId": world.own_product.pk, "Key": world.own.key,
        "MachineCode": "my-laptop"}).json()
    product_locked = client.post("/api/key/CreateKey", {
        "token": _token(world, "product"), "ProductId": world.own_product.pk}).json()

    assert activated["result"] == 0, activated
    assert world.own.activations.filter(machine_code="my-laptop").exists()
    assert product_locked["result"] == 0, product_locked


def test_every_method_declares_its_reach():
    # Every permission is some method's (userauth's methods share UserAuthNormal/Admin).
    assert {p for m in METHODS.values() for p in m.permissions} == set(API_METHODS)
    assert all(m.reach for m in METHODS.values())


def test_only_the_access_module_reads_a_tokens_locks():
    import pathlib

    import apps.api

    root = pathlib.Path(apps.api.__file__).parent
    readers = [str(path.relative_to(root)) for path in root.rglob("*.py")
               if path.name != "access.py" and any(
                   lock in path.read_text() for lock in
                   ("token.product", "locked_key", "template_lock"))]
    # The fast path applies the key lock inside its one SQL statement.
    assert readers == ["context.py"]


# --- Customers, events and key existence (found by the outside probe after the first fix) ---


def _call(token: str, method: str, **params) -> dict:
    return Client().post(f"/api/{method}", {"token": token, **params}).json()


@pytest.fixture
def stranger(world):
    """A customer of the same vendor whose only key is of the other product."""
    customer = CustomerFactory(vendor=world.own_product.vendor, email="stranger@elsewhere.test")
    make_key(world.other_product, customer=customer)
    return customer


def test_a_product_locked_token_cannot_reuse_or_invite_a_customer_beyond_its_product(
        world, stranger):
    from apps.licensing.models import PortalLink

    token = _token(world, "product")
    reused = _call(token, "key/CreateKey", ProductId=world.own_product.pk,
                   AddOrUseExistingCustomer="true", Email=stranger.email,
                   EnableCustomerAssociation="true")
    attached = _call(token, "key/CreateKey", ProductId=world.own_product.pk,
                     CustomerId=stranger.pk)
    own_customer = CustomerFactory(vendor=world.own_product.vendor, email="mine@own.test")
    make_key(world.own_product, customer=own_customer)
    allowed = _call(token, "key/CreateKey", ProductId=world.own_product.pk,
                    AddOrUseExistingCustomer="true", Email=own_customer.email,
                    EnableCustomerAssociation="true")

    assert (reused["result"], reused["message"]) == (1, errors.ACCESS_DENIED)
    assert (attached["result"], attached["message"]) == (1, errors.ACCESS_DENIED)
    assert not PortalLink.objects.filter(customer=stranger).exists()
    assert not stranger.keys.filter(product=world.own_product).exists()
    assert allowed["result"] == 0 and allowed["customerId"] == own_customer.pk
    assert allowed["portalLink"]


@pytest.mark.parametrize("kind", ["key", "product"])
def test_a_locked_token_cannot_attach_another_customer_nor_tell_which_ids_exist(
        world, stranger, kind):
    token = _token(world, kind)
    target = world.own if kind == "key" else world.sibling
    answers = [_call(token, "key/ChangeCustomer", ProductId=target.product_id, Key=target.key,
                     CustomerId=customer_id)
               for customer_id in (stranger.pk, 999_999_999)]

    assert [(a["result"], a["message"]) for a in answers] == [(1, errors.ACCESS_DENIED)] * 2
    target.refresh_from_db()
    assert target.customer == world.customer
    shown = _call(token, "key/GetKey", ProductId=target.product_id, Key=target.key)
    assert stranger.email not in json.dumps(shown)


def test_a_locked_tokens_events_belong_to_its_product(world):
    for kind in ("key", "product"):
        body = _call(_token(world, kind), "ai/RegisterEvent", EventName=f"no-product-{kind}")
        assert body["result"] == 0, body

    events = Event.objects.filter(event_name__startswith="no-product-")
    assert set(events.values_list("product_id", flat=True)) == {world.own_product.pk}


def test_a_key_locked_token_cannot_tell_whether_another_key_exists(world):
    token = _token(world, "key")
    existing = _call(token, "key/GetKey", ProductId=world.own_product.pk, Key=world.sibling.key)
    missing = _call(token, "key/GetKey", ProductId=world.own_product.pk, Key="NOPE-NOPE-NOPE")

    assert existing == missing == {"result": 1, "message": errors.KEY_LOCKED}
