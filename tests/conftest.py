"""Persona fixtures: a vendor owner, an admin, a read-only member, and another vendor."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from apps.accounts.models import Membership, Role, User, Vendor
from apps.licensing.models import Activation, Customer, DataObject, LicenseKey, Product

from .factories import (
    CustomerFactory,
    ProductFactory,
    UserFactory,
    add_member,
    make_activation,
    make_key,
    make_vendor,
)
from .licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)


@dataclass
class Tenant:
    """A vendor with one of everything, and its members by role."""

    vendor: Vendor
    owner: User
    admin: User
    read_only: User
    product: Product
    customer: Customer
    key: LicenseKey
    activation: Activation
    data_object: DataObject

    def membership(self, user: User) -> Membership:
        return Membership.objects.get(vendor=self.vendor, user=user)


def build_tenant(name: str) -> Tenant:
    owner = UserFactory()
    vendor = make_vendor(name, owner=owner)
    admin = add_member(vendor, Role.ADMIN).user
    read_only = add_member(vendor, Role.READ_ONLY).user
    product = ProductFactory(vendor=vendor)
    customer = CustomerFactory(vendor=vendor)
    key = make_key(product, customer=customer, max_no_of_machines=2)
    activation = make_activation(key, "machine-1", friendly_name="LAPTOP-1", ip="192.0.2.1")
    data_object = DataObject.objects.create(key=key, name="usage", int_value=3)
    return Tenant(vendor, owner, admin, read_only, product, customer, key, activation,
                  data_object)


@pytest.fixture(autouse=True)
def _fresh_rate_limit_leases():
    """Tests empty the cache between them; a lease this process kept would outlive its
    counters (apps.core.ratelimit.hit_leased)."""
    from apps.core.ratelimit import forget_leases

    forget_leases()
    yield
    forget_leases()


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    """Rolled-back tests reuse token ids; never let one test's token answer for another's."""
    from apps.licensing.services.credentials import token_cache_clear

    token_cache_clear()
    yield
    token_cache_clear()


@pytest.fixture
def tenant(db) -> Tenant:
    return build_tenant("Tenant A")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return build_tenant("Tenant B")


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(tenant) -> Client:
    return _client_for(tenant.owner)


@pytest.fixture
def admin_client_(tenant) -> Client:
    return _client_for(tenant.admin)


@pytest.fixture
def read_only_client(tenant) -> Client:
    return _client_for(tenant.read_only)


@pytest.fixture
def other_vendor_client(other_tenant) -> Client:
    return _client_for(other_tenant.owner)



# --- Vendor-portal fixtures: an access token and a pending invitation of `tenant`. ---

import re  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from django.urls import reverse  # noqa: E402

from apps.accounts import services as account_services  # noqa: E402
from apps.accounts.models import Invitation  # noqa: E402
from apps.audit.log import Actor  # noqa: E402
from apps.licensing import services as licensing_services  # noqa: E402
from apps.licensing.models import AccessToken  # noqa: E402


@dataclass
class IssuedToken:
    token: AccessToken
    token_string: str


@pytest.fixture
def tenant_token(tenant) -> IssuedToken:
    """An active Web API access token of `tenant`, with the string shown once at creation."""
    token, token_string = licensing_services.token_create(
        vendor=tenant.vendor, actor=Actor.for_user(tenant.owner), name="CI token",
        permissions=["key.GetKey"],
    )
    return IssuedToken(token, token_string)


@dataclass
class SentInvitation:
    invitation: Invitation
    url: str

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


@pytest.fixture
def tenant_invitation(tenant, mailoutbox, django_capture_on_commit_callbacks) -> SentInvitation:
    """A pending invitation of invitee@example.com (admin) to `tenant`, sent by its owner.

    The accept link is taken from the e-mail, the only place the raw token ever appears."""
    with django_capture_on_commit_callbacks(execute=True):
        invitation = account_services.invitation_create(
            vendor=tenant.vendor, invited_by=tenant.owner, email="invitee@example.com",
            role=Role.ADMIN,
            accept_url_template="http://testserver" + reverse(
                "vendor_portal:invitation_accept", args=["TOKEN"]).replace("TOKEN", "{token}"),
        )
    url = re.search(r"http://testserver/\S+", mailoutbox[-1].body).group(0)
    return SentInvitation(invitation, url)
