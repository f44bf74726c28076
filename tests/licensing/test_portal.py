"""Joining the customer portal through links."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from apps.core.errors import DomainError
from apps.licensing.models import Customer, CustomerMembership, PortalLink
from apps.licensing.services.portal import (
    portal_join,
    portal_link_create,
    portal_link_for_token,
    portal_link_revoke,
)
from tests.factories import CustomerFactory, UserFactory, make_vendor


@pytest.fixture
def vendor(db):
    return make_vendor("Portal Vendor")


@pytest.fixture
def owner(vendor):
    return vendor.memberships.get().user


def test_only_the_digest_of_a_link_token_is_stored(vendor, owner):
    link, token = portal_link_create(vendor=vendor, actor=owner)
    assert token not in link.token_hash
    assert portal_link_for_token(token) == link
    assert portal_link_for_token(token + "x") is None


def test_a_customer_invitation_joins_that_customer_with_the_links_permission(vendor, owner):
    customer = CustomerFactory(vendor=vendor)
    link, token = portal_link_create(vendor=vendor, actor=owner, customer=customer,
                                     can_manage_activations=True)
    user = UserFactory()
    membership = portal_join(link=portal_link_for_token(token), user=user)

    assert membership.customer == customer
    assert membership.can_manage_activations
    link.refresh_from_db()
    assert link.uses == 1


def test_a_signup_link_joins_the_customer_with_the_users_email(vendor, owner):
    existing = CustomerFactory(vendor=vendor, email="IT@Acme.example")
    link, _ = portal_link_create(vendor=vendor, actor=owner)
    user = UserFactory(email="it@acme.example")
    assert portal_join(link=link, user=user).customer == existing


def test_a_signup_link_makes_a_customer_for_an_unknown_address(vendor, owner):
    link, _ = portal_link_create(vendor=vendor, actor=owner, can_manage_activations=True)
    user = UserFactory(email="new@buyer.example")
    membership = portal_join(link=link, user=user)

    customer = membership.customer
    assert (customer.vendor, customer.email) == (vendor, "new@buyer.example")
    assert customer.allow_activation_management
    assert membership.may_deactivate


def test_a_signup_link_never_matches_another_vendors_customer(vendor, owner):
    other = CustomerFactory(vendor=make_vendor("Other"), email="same@buyer.example")
    link, _ = portal_link_create(vendor=vendor, actor=owner)
    membership = portal_join(link=link, user=UserFactory(email="same@buyer.example"))
    assert membership.customer != other
    assert membership.customer.vendor == vendor


def test_expired_and_revoked_links_grant_nothing(vendor, owner):
    expired, expired_token = portal_link_create(vendor=vendor, actor=owner, expires_in_days=1)
    PortalLink.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1))
    revoked, revoked_token = portal_link_create(vendor=vendor, actor=owner)
    portal_link_revoke(link=revoked, actor=owner)

    assert portal_link_for_token(expired_token) is None
    assert portal_link_for_token(revoked_token) is None
    with pytest.raises(DomainError):
        portal_join(link=revoked, user=UserFactory())
    assert not CustomerMembership.objects.exists()


def test_a_link_for_another_vendors_customer_is_refused(vendor, owner):
    foreign = CustomerFactory(vendor=make_vendor("Other"))
    with pytest.raises(DomainError):
        portal_link_create(vendor=vendor, actor=owner, customer=foreign)
    assert not PortalLink.objects.exists()


def test_permission_needs_both_the_customer_and_the_member(vendor, owner):
    customer = CustomerFactory(vendor=vendor, allow_activation_management=True)
    link, _ = portal_link_create(vendor=vendor, actor=owner, customer=customer,
                                 can_manage_activations=True)
    membership = portal_join(link=link, user=UserFactory())
    assert membership.may_deactivate
    Customer.objects.filter(pk=customer.pk).update(allow_activation_management=False)
    membership.customer.refresh_from_db()
    assert not membership.may_deactivate


def test_an_invitation_with_the_permission_turns_activation_management_on(vendor, owner):
    customer = CustomerFactory(vendor=vendor, allow_activation_management=False)
    link, _ = portal_link_create(vendor=vendor, actor=owner, customer=customer,
                                 can_manage_activations=True)
    customer.refresh_from_db()
    assert customer.allow_activation_management
    assert portal_join(link=link, user=UserFactory()).may_deactivate


def test_a_signup_link_with_the_permission_turns_it_on_for_the_customer_it_joins(vendor, owner):
    customer = CustomerFactory(vendor=vendor, email="it@buyer.example",
                               allow_activation_management=False)
    link, _ = portal_link_create(vendor=vendor, actor=owner, can_manage_activations=True)
    membership = portal_join(link=link, user=UserFactory(email="it@buyer.example"),
                             verified=True)
    assert membership.customer == customer and membership.may_deactivate


def test_a_signup_link_waits_for_a_verified_address_before_matching_a_customer(vendor, owner):
    CustomerFactory(vendor=vendor, email="victim@buyer.example")
    link, _ = portal_link_create(vendor=vendor, actor=owner, can_manage_activations=True)
    claimant = UserFactory(email="victim@buyer.example")
    EmailAddress.objects.filter(user=claimant).update(verified=False)

    with pytest.raises(DomainError, match="Verify your e-mail address first"):
        portal_join(link=link, user=claimant)
    assert not CustomerMembership.objects.exists()
