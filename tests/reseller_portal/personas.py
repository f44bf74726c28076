"""Reseller-portal personas: a reseller of `tenant` with a right, a customer and an issued key
with a device; a rival reseller of the same vendor with the same; the vendor's own keys, on the
template's product and on another product; and another vendor.

Import the fixtures where they are needed (`from tests.reseller_portal.personas import ...`)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.models import Reseller, User, Vendor
from apps.audit.log import Actor
from apps.licensing.models import (
    Activation,
    Customer,
    IssuanceRight,
    LicenseKey,
    LicenseTemplate,
)
from apps.licensing.services.resellers import (
    reseller_customer_create,
    reseller_issue_key,
    right_grant,
    template_create,
)
from tests.conftest import Tenant
from tests.factories import ProductFactory, UserFactory, make_activation, make_key

SYSTEM = Actor.for_system("test")


@dataclass
class Seller:
    """An accepted reseller with one right, one customer of theirs and one key issued for it."""

    reseller: Reseller
    user: User
    right: IssuanceRight
    customer: Customer
    key: LicenseKey
    activation: Activation


@dataclass
class ResellerWorld:
    tenant: Tenant
    template: LicenseTemplate
    me: Seller
    rival: Seller  # another reseller of the same vendor
    vendor_key_other_product: LicenseKey
    foreign: Seller  # a reseller of another vendor


def make_reseller(vendor: Vendor, name: str, user: User | None = None) -> Reseller:
    """A reseller whose invitation was accepted (the invitation itself is tested apart)."""
    user = user or UserFactory()
    return Reseller.objects.create(vendor=vendor, user=user, name=name, company=f"{name} Ltd",
                                   email=user.email, accepted_at=timezone.now())


def make_seller(template: LicenseTemplate, name: str, *, quota: int = 5) -> Seller:
    reseller = make_reseller(template.product.vendor, name)
    right = right_grant(reseller=reseller, template=template, quota=quota, actor=SYSTEM)
    actor = Actor.for_user(reseller.user)
    customer = reseller_customer_create(reseller=reseller, actor=actor,
                                        name=f"{name} customer", email=f"{name.lower()}@c.example")
    key = reseller_issue_key(right=right, actor=actor, customer=customer)
    activation = make_activation(key, f"{name.lower()}-pc", friendly_name=f"{name.upper()}-PC",
                                 ip="198.51.100.7")
    right.refresh_from_db()
    return Seller(reseller, reseller.user, right, customer, key, activation)


def make_template(product, name: str = "Pro, 1 year") -> LicenseTemplate:
    return template_create(product=product, actor=SYSTEM, name=name, period=365, f1=True,
                           max_no_of_machines=2, data_objects=[{"name": "seats", "int_value": 2}])


def build_reseller_world(tenant: Tenant, other_tenant: Tenant) -> ResellerWorld:
    template = make_template(tenant.product)
    other_product = ProductFactory(vendor=tenant.vendor, name="Secret Other Product")
    foreign_template = make_template(other_tenant.product, "Foreign template")
    return ResellerWorld(
        tenant=tenant, template=template, me=make_seller(template, "Acme"),
        rival=make_seller(template, "Rival"),
        vendor_key_other_product=make_key(other_product),
        foreign=make_seller(foreign_template, "Foreign"),
    )


@pytest.fixture
def resellers(tenant, other_tenant) -> ResellerWorld:
    return build_reseller_world(tenant, other_tenant)


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def reseller_client(resellers) -> Client:
    return client_for(resellers.me.user)


@pytest.fixture
def rival_client(resellers) -> Client:
    return client_for(resellers.rival.user)
