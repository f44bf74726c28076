"""Customer-portal personas: people of a vendor's customer, with and without the permission
to deactivate devices, a person of another customer of the same vendor, and another vendor.

Import the fixtures where they are needed (`from tests.customer_portal.personas import ...`)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.licensing.models import Activation, Customer, CustomerMembership, LicenseKey
from tests.conftest import Tenant
from tests.factories import CustomerFactory, UserFactory, make_activation, make_key


@dataclass
class PortalWorld:
    """`tenant`'s customer with its portal people, another customer of the same vendor and
    another vendor's customer, each with a key and a device."""

    tenant: Tenant
    customer: Customer
    key: LicenseKey
    activation: Activation
    admin: User  # may deactivate
    reader: User  # belongs to the customer, without the permission
    admin_membership: CustomerMembership
    reader_membership: CustomerMembership
    neighbour: Customer  # another customer of the same vendor
    neighbour_key: LicenseKey
    neighbour_activation: Activation
    neighbour_admin: User
    foreign_key: LicenseKey  # another vendor's
    foreign_activation: Activation


def member(customer: Customer, *, can_manage_activations: bool,
           user: User | None = None) -> CustomerMembership:
    return CustomerMembership.objects.create(customer=customer, user=user or UserFactory(),
                                             can_manage_activations=can_manage_activations)


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def portal(tenant, other_tenant) -> PortalWorld:
    customer = tenant.customer
    customer.allow_activation_management = True
    customer.save(update_fields=["allow_activation_management"])
    admin = member(customer, can_manage_activations=True)
    reader = member(customer, can_manage_activations=False)
    neighbour = CustomerFactory(vendor=tenant.vendor, allow_activation_management=True)
    neighbour_key = make_key(tenant.product, customer=neighbour, max_no_of_machines=3)
    neighbour_activation = make_activation(neighbour_key, "neighbour-pc",
                                           friendly_name="NEIGHBOUR-PC")
    neighbour_admin = member(neighbour, can_manage_activations=True).user
    return PortalWorld(
        tenant=tenant, customer=customer, key=tenant.key, activation=tenant.activation,
        admin=admin.user, reader=reader.user, admin_membership=admin,
        reader_membership=reader, neighbour=neighbour, neighbour_key=neighbour_key,
        neighbour_activation=neighbour_activation, neighbour_admin=neighbour_admin,
        foreign_key=other_tenant.key, foreign_activation=other_tenant.activation,
    )


@pytest.fixture
def customer_admin_client(portal) -> Client:
    return client_for(portal.admin)


@pytest.fixture
def customer_reader_client(portal) -> Client:
    return client_for(portal.reader)
