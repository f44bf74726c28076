"""Keys for a new customer, and customers with a portal invitation: one service each
(apps/licensing/services/issuing.py), reached from the vendor portal's key form and the Web
API's CreateKey / AddCustomer with the same outcome."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing import services
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import Customer, LicenseKey, LicenseTemplate, PortalLink
from apps.licensing.services.issuing import NewCustomer, customer_add, keys_issue
from apps.licensing.services.keys import MAX_KEYS_PER_CALL
from tests.conftest import Tenant, _client_for

SYSTEM = Actor.for_system("test")


def _through_portal(tenant: Tenant, count: int) -> None:
    response = _client_for(tenant.owner).post(
        reverse("vendor_portal:key_create", args=[tenant.product.pk]),
        {"count": count, "period": 30, "max_no_of_machines": 2, "notes": "",
         "automatic_activation": "on", "new_customer_name": "Hilda Newcomer",
         "new_customer_email": "hilda@example.org", "new_customer_company": "Newco"})
    assert response.status_code in (200, 302)


def _through_api(tenant: Tenant, count: int) -> None:
    _, token = services.token_create(vendor=tenant.vendor, actor=SYSTEM, name="api",
                                     permissions=API_METHODS)
    response = Client().post("/api/key/CreateKey", {
        "token": token, "ProductId": tenant.product.pk, "NoOfKeys": count, "Period": 30,
        "MaxNoOfMachines": 2, "NewCustomer": "true", "Name": "Hilda Newcomer",
        "Email": "hilda@example.org", "CompanyName": "Newco"})
    assert response.status_code == 200


ENTRY_POINTS = {"vendor portal": _through_portal, "web api": _through_api}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_keys_for_a_new_customer_are_the_same_from_every_entry_point(tenant, entry):
    ENTRY_POINTS[entry](tenant, 3)

    customer = Customer.objects.get(vendor=tenant.vendor, name="Hilda Newcomer")
    assert (customer.email, customer.company_name) == ("hilda@example.org", "Newco")
    keys = LicenseKey.objects.filter(customer=customer, product=tenant.product)
    assert sorted(k.serial for k in keys) == [2, 3, 4]
    assert {(k.period, k.max_no_of_machines) for k in keys} == {(30, 2)}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_refused_batch_leaves_no_customer_behind_from_any_entry_point(tenant, entry):
    ENTRY_POINTS[entry](tenant, MAX_KEYS_PER_CALL + 1)

    assert not Customer.objects.filter(name="Hilda Newcomer").exists()
    assert LicenseKey.objects.filter(product=tenant.product).count() == 1


def test_the_service_reuses_a_customer_by_email_and_invites_it(tenant):
    spec = services.KeySpec(period=10)
    issued = keys_issue(product=tenant.product, actor=SYSTEM, spec=spec, portal_invitation=True,
                        new_customer=NewCustomer(email=tenant.customer.email,
                                                 reuse_by_email=True))

    assert issued.customer == tenant.customer
    assert issued.keys[0].customer == tenant.customer
    link = PortalLink.objects.get(customer=tenant.customer)
    assert issued.portal_token and link.can_manage_activations == \
        tenant.customer.allow_activation_management


def test_a_failed_template_save_undoes_the_keys_and_the_customer(tenant):
    with pytest.raises(DomainError):
        keys_issue(product=tenant.product, actor=SYSTEM,
                   spec=services.KeySpec(period=10), new_customer=NewCustomer(name="Gone"),
                   template_name="x" * 1000)

    assert not Customer.objects.filter(name="Gone").exists()
    assert LicenseKey.objects.filter(product=tenant.product).count() == 1
    assert not LicenseTemplate.objects.exists()


def test_a_customer_with_no_details_is_named_customer_and_gets_a_secret(tenant):
    added = customer_add(vendor=tenant.vendor, actor=SYSTEM, details=NewCustomer())

    assert added.customer.name == "Customer"
    assert added.secret and added.portal_token is None
