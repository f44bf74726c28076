"""key/CreateKeyFromTemplate, called by the real Cryptolens Python client against a live server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from licensing.internal import HelperMethods
from licensing.methods import Key

from apps.accounts.models import Vendor
from apps.audit.log import Actor
from apps.licensing.models import LicenseKey, LicenseTemplate, Product
from apps.licensing.services import token_create
from apps.licensing.services.resellers import template_create
from apps.usage import states
from apps.usage.models import WebApiLog
from tests.factories import ProductFactory, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

ACCESS_DENIED = "Access denied."
TEMPLATE_NOT_FOUND = "Could not find the template."
KEY_LOCKED = "Not enough permission and/or key not found."
SYSTEM = Actor.for_system("test")


@dataclass
class Server:
    vendor: Vendor
    product: Product
    template: LicenseTemplate

    def token(self, **locks) -> str:
        return token_create(vendor=self.vendor, actor=SYSTEM, name="templates",
                            permissions=["key.CreateKeyFromTemplate"], **locks)[1]


@pytest.fixture
def server(live_server) -> Iterator[Server]:
    previous = HelperMethods.server_address
    HelperMethods.server_address = live_server.url + "/api/"
    vendor = make_vendor("Template vendor")
    product = ProductFactory(vendor=vendor)
    template = template_create(
        product=product, actor=SYSTEM, name="Pro", period=30, f2=True, f5=True,
        max_no_of_machines=3, trial_activation=True, automatic_activation=False,
        allowed_machines="pc-1", notes="from the template",
        data_objects=[{"name": "seats", "int_value": 3},
                      {"name": "edition", "string_value": "gold"}])
    yield Server(vendor, product, template)
    HelperMethods.server_address = previous


def test_the_client_creates_a_key_with_the_templates_parameters(server):
    result = Key.create_key_from_template(server.token(), server.template.pk)

    key_string, raw_response, message = result
    assert (raw_response, message) == ("", "")
    key = LicenseKey.objects.get(key=key_string)
    assert key.product == server.product
    assert key.features == [False, True, False, False, True, False, False, False]
    assert (key.period, key.max_no_of_machines, key.trial_activation,
            key.automatic_activation, key.allowed_machines, key.notes) == (
        30, 3, True, False, "pc-1", "from the template")
    assert sorted((d.name, d.string_value, d.int_value) for d in key.data_objects.all()) == [
        ("edition", "gold", 0), ("seats", "", 3)]
    log = WebApiLog.objects.get(method="key.CreateKeyFromTemplate")
    assert (log.state, log.product_id, log.key) == (states.KEY_CREATED, server.product.pk,
                                                    key_string)


def test_a_template_locked_token_is_refused_another_template(server):
    other = template_create(product=server.product, actor=SYSTEM, name="Basic")
    token = server.token(template_lock=server.template)

    assert Key.create_key_from_template(token, other.pk) == (False, ACCESS_DENIED)
    assert Key.create_key_from_template(token, 999_999) == (False, ACCESS_DENIED)
    assert Key.create_key_from_template(token, server.template.pk)[0]
    assert LicenseKey.objects.filter(product=server.product).count() == 1
    states_logged = sorted(WebApiLog.objects.values_list("state", flat=True))
    assert states_logged == [states.KEY_CREATED, states.KEY_CREATION_FAILED,
                             states.KEY_CREATION_FAILED]


def test_a_product_locked_token_is_refused_a_template_of_another_product(server):
    second = ProductFactory(vendor=server.vendor)
    token = server.token(product=second)

    assert Key.create_key_from_template(token, server.template.pk) == (False, KEY_LOCKED)
    assert not LicenseKey.objects.filter(product=server.product).exists()


def test_another_vendors_template_is_not_found(server):
    theirs = template_create(product=ProductFactory(vendor=make_vendor("Other")), actor=SYSTEM,
                             name="Theirs")

    assert Key.create_key_from_template(server.token(), theirs.pk) == (False,
                                                                       TEMPLATE_NOT_FOUND)
    assert not LicenseKey.objects.exists()


def test_a_token_without_the_permission_is_denied(server):
    token = token_create(vendor=server.vendor, actor=SYSTEM, name="narrow",
                         permissions=["key.CreateKey"])[1]
    assert Key.create_key_from_template(token, server.template.pk) == (False, ACCESS_DENIED)
