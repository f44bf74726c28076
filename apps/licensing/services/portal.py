"""The customer portal's people: links to join it, the memberships they create, and sign-ups
waiting for a verified address."""

from __future__ import annotations

import datetime as dt
import secrets

from allauth.account.models import EmailAddress
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import User, Vendor
from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.core.hashing import sha256_hex
from apps.licensing import events
from apps.licensing.models import Customer, CustomerMembership, PendingPortalJoin, PortalLink

SESSION_PORTAL_TOKEN = "portal_link_token"


# Deactivating devices in the customer portal takes two switches: the portal user's own
# permission and the customer's "allow activation management". The vendor grants it in one
# place (an invitation link, or a portal user on the customer's page); granting it there turns
# the customer's switch on too, so what the vendor granted is what the person gets. Turning the
# customer's switch off (editing the customer) stays the vendor's way to make everyone of that
# customer read-only at once.
def _allow_activation_management(*, customer: Customer, actor: Actor, via: str) -> None:
    if customer.allow_activation_management:
        return
    customer.allow_activation_management = True
    customer.save(update_fields=["allow_activation_management", "updated"])
    log_change(vendor=customer.vendor, actor=actor, obj=customer, action="updated",
               changes={"allow_activation_management": [False, True], "via": [None, via]})


def link_grants_deactivation(link: PortalLink) -> bool:
    """What joining through `link` gives today: the permission to deactivate devices, if the
    link grants it and (for a customer's own link) the customer still allows it. A vendor-wide
    link turns it on for the customer it joins (portal_join)."""
    return link.can_manage_activations and (
        link.customer is None or link.customer.allow_activation_management)


@transaction.atomic
def portal_link_create(*, vendor: Vendor, actor: User | Actor,
                       customer: Customer | None = None,
                       can_manage_activations: bool = False, expires_in_days: int | None = None,
                       name: str = "") -> tuple[PortalLink, str]:
    """A link to join the customer portal: for `customer`, or vendor-wide when None. Returns
    the link and its token (shown once; only its digest is stored). The actor is a vendor
    member, or any audit actor (an API token for AddCustomer's EnableCustomerAssociation)."""
    actor = actor if isinstance(actor, Actor) else Actor.for_user(actor)
    if customer is not None and customer.vendor_id != vendor.pk:
        raise DomainError("Could not find the customer.", field="customer")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise DomainError("A link expires in 1 to 3650 days.", field="expires_in_days")
    token = secrets.token_urlsafe(24)
    link = PortalLink.objects.create(
        vendor=vendor, customer=customer, name=name.strip()[:100], token_hash=sha256_hex(token),
        can_manage_activations=can_manage_activations, created_by=actor.user,
        expires_at=timezone.now() + dt.timedelta(days=expires_in_days)
        if expires_in_days else None,
    )
    log_change(vendor=vendor, actor=actor, obj=link, action="created",
               changes={"customer": [None, str(customer) if customer else "any (sign-up)"],
                        "can_manage_activations": [None, can_manage_activations],
                        "expires_at": [None, link.expires_at]})
    if customer is not None and can_manage_activations:
        _allow_activation_management(customer=customer, actor=actor, via=str(link))
    return link, token


@transaction.atomic
def portal_link_revoke(*, link: PortalLink, actor: User) -> None:
    if PortalLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()):
        log_change(vendor=link.vendor, actor=Actor.for_user(actor), obj=link, action="revoked")


def portal_link_for_token(token: str) -> PortalLink | None:
    """The usable (not expired, not revoked) link a token stands for."""
    if not token or len(token) > 100:
        return None
    return (PortalLink.objects.usable().select_related("vendor", "customer")
            .filter(token_hash=sha256_hex(token)).first())


def email_verified(user: User) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=user.email,
                                       verified=True).exists()


@transaction.atomic
def portal_join(*, link: PortalLink, user: User, verified: bool | None = None
                ) -> CustomerMembership:
    """Make `user` a portal member of the link's customer, with the permission the join page
    stated (link_grants_deactivation). A vendor-wide link joins the vendor's customer with the
    user's e-mail address, or a new customer made for them, and its permission turns activation
    management on for that customer — only once that address is verified (`verified`: known by
    the caller, else read from allauth), since the address is what picks the customer."""
    # of=self: the customer is a nullable (outer) join, which PostgreSQL cannot lock.
    link = (PortalLink.objects.select_for_update(of=("self",)).select_related("customer")
            .get(pk=link.pk))
    if not link.is_usable:
        raise DomainError("This link has expired or was revoked.")
    customer = link.customer
    if customer is None and not (email_verified(user) if verified is None else verified):
        raise DomainError("Verify your e-mail address first (see the message we sent you), "
                          "then open this link again.")
    if customer is None:
        customer = (Customer.objects.for_vendor(link.vendor).filter(email__iexact=user.email)
                    .order_by("id").first())
        if customer is None:
            customer = Customer.objects.create(
                vendor=link.vendor, name=user.email.split("@")[0], email=user.email,
                allow_activation_management=link.can_manage_activations)
            log_change(vendor=link.vendor, actor=Actor.for_user(user), obj=customer,
                       action="created", changes={"email": [None, user.email],
                                                  "via": [None, "portal sign-up link"]})
            events.customer_event(customer)
        elif link.can_manage_activations:
            _allow_activation_management(customer=customer, actor=Actor.for_user(user),
                                         via=str(link))
    membership, created = CustomerMembership.objects.get_or_create(
        customer=customer, user=user,
        defaults={"can_manage_activations": link.can_manage_activations})
    if not created and link.can_manage_activations and not membership.can_manage_activations:
        membership.can_manage_activations = True
        membership.save(update_fields=["can_manage_activations", "updated"])
    PortalLink.objects.filter(pk=link.pk).update(uses=F("uses") + 1)
    log_change(vendor=link.vendor, actor=Actor.for_user(user), obj=customer,
               action="portal user joined",
               changes={"user": [None, user.email],
                        "can_manage_activations": [None, membership.can_manage_activations]})
    return membership


@transaction.atomic
def portal_join_on_sign_up(*, link: PortalLink, user: User) -> CustomerMembership | None:
    """Someone signed up through `link`. A customer's own link joins at once: the link, not
    the address, picks the customer. A vendor-wide link waits until the address is verified
    (portal_join_pending), so an address nobody has proved to own grants nothing."""
    if link.customer_id or email_verified(user):
        return portal_join(link=link, user=user, verified=True)
    PendingPortalJoin.objects.update_or_create(user=user, defaults={"link": link})
    return None


@transaction.atomic
def portal_join_pending(*, user: User) -> CustomerMembership | None:
    """Once `user` verified their address: join the portal they signed up for, if the link
    is still usable (an expired or revoked link grants nothing)."""
    pending = (PendingPortalJoin.objects.select_for_update(of=("self",)).select_related("link")
               .filter(user=user).first())
    if pending is None or not email_verified(user):
        return None
    pending.delete()
    try:
        return portal_join(link=pending.link, user=user, verified=True)
    except DomainError:
        return None


@transaction.atomic
def customer_membership_update(*, membership: CustomerMembership, actor: User,
                               can_manage_activations: bool) -> CustomerMembership:
    """Grant or withdraw a portal user's permission to deactivate devices. Granting it turns
    activation management on for the customer too: the grant is what the user gets."""
    if can_manage_activations:
        _allow_activation_management(customer=membership.customer,
                                     actor=Actor.for_user(actor),
                                     via=f"permission of {membership.user.email}")
    before = membership.can_manage_activations
    membership.can_manage_activations = can_manage_activations
    membership.save(update_fields=["can_manage_activations", "updated"])
    if before != can_manage_activations:
        log_change(vendor=membership.customer.vendor, actor=Actor.for_user(actor),
                   obj=membership.customer, action="portal user changed",
                   changes={"user": [membership.user.email, membership.user.email],
                            "can_manage_activations": [before, can_manage_activations]})
    return membership


@transaction.atomic
def customer_membership_remove(*, membership: CustomerMembership, actor: User) -> None:
    log_change(vendor=membership.customer.vendor, actor=Actor.for_user(actor),
               obj=membership.customer, action="portal user removed",
               changes={"user": [membership.user.email, None]})
    membership.delete()
