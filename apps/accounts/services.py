"""Vendors, members and invitations."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.accounts.models import Invitation, Membership, Role, User, Vendor
from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.core.hashing import sha256_hex

INVITATION_DAYS = 7


# The invitation token of someone who opened an invitation before signing up: it tells the
# sign-up form which address to fill in.
SESSION_INVITATION_TOKEN = "vendor_invitation_token"


@transaction.atomic
def invitation_create(*, vendor: Vendor, invited_by: User, email: str, role: str,
                      accept_url_template: str) -> Invitation:
    """Invite an e-mail address to join the vendor (invitation_send, for callers that do not
    show the link)."""
    return invitation_send(vendor=vendor, invited_by=invited_by, email=email, role=role,
                           accept_url_template=accept_url_template)[0]


@transaction.atomic
def invitation_send(*, vendor: Vendor, invited_by: User, email: str, role: str,
                    accept_url_template: str) -> tuple[Invitation, str]:
    """Invite an e-mail address to join the vendor. `accept_url_template` has a `{token}`
    placeholder; the link is e-mailed and returned (to be shown once, for copying), and only
    its digest is kept. Accepting needs a login with the invited address, so the link is no
    use to anyone else."""
    email = email.strip().lower()
    if role not in Role.values:
        raise DomainError("Unknown role.", field="role")
    if Membership.objects.filter(vendor=vendor, user__email__iexact=email).exists():
        raise DomainError("This person is already a member.", field="email")
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                vendor=vendor, email=email, role=role, token_hash=sha256_hex(token),
                invited_by=invited_by,
                expires_at=timezone.now() + dt.timedelta(days=INVITATION_DAYS),
            )
    except IntegrityError:
        raise DomainError("This address already has a pending invitation.",
                          field="email") from None
    url = _invitation_mail(invitation, invited_by, accept_url_template.format(token=token))
    log_change(vendor=vendor, actor=Actor.for_user(invited_by), obj=invitation,
               action="invited", changes={"email": [None, email], "role": [None, role]})
    return invitation, url


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor: User, accept_url_template: str) -> str:
    """E-mail a pending invitation again, valid for INVITATION_DAYS from now. Only the digest
    of the first link was kept, so the new mail carries a new link (returned, like
    invitation_send's) and the old one stops working."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise DomainError("This invitation was accepted or revoked: invite the person again.")
    token = secrets.token_urlsafe(32)
    invitation.token_hash = sha256_hex(token)
    invitation.expires_at = timezone.now() + dt.timedelta(days=INVITATION_DAYS)
    invitation.save(update_fields=["token_hash", "expires_at", "updated"])
    url = _invitation_mail(invitation, actor, accept_url_template.format(token=token))
    log_change(vendor=invitation.vendor, actor=Actor.for_user(actor), obj=invitation,
               action="invitation resent", changes={"expires_at": [None, invitation.expires_at]})
    return url


def _invitation_mail(invitation: Invitation, invited_by: User, url: str) -> str:
    vendor, email = invitation.vendor, invitation.email
    body = render_to_string("emails/invitation.txt", {
        "vendor": vendor, "invited_by": invited_by, "url": url,
        "role": invitation.get_role_display(), "days": INVITATION_DAYS,
        "site_name": settings.SITE_NAME,
    })
    transaction.on_commit(lambda: send_mail(
        f"[{settings.SITE_NAME}] {invited_by.email} invited you to {vendor.name}",
        body, None, [email],
    ))
    return url


def invitation_for_token(token: str) -> Invitation | None:
    return (
        Invitation.objects.pending()
        .select_related("vendor")
        .filter(token_hash=sha256_hex(token), expires_at__gt=timezone.now())
        .first()
    )


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the vendor. The invitation is for one e-mail address: only its owner may accept."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at or invitation.expires_at <= timezone.now():
        raise DomainError("This invitation is no longer valid.")
    if user.email.lower() != invitation.email.lower():
        raise DomainError(
            f"This invitation is for {invitation.email}. Log in with that address to accept it."
        )
    membership, _ = Membership.objects.get_or_create(
        vendor=invitation.vendor, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by", "updated"])
    log_change(vendor=invitation.vendor, actor=Actor.for_user(user), obj=membership,
               action="joined", changes={"role": [None, membership.role]})
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User) -> None:
    updated = Invitation.objects.pending().filter(pk=invitation.pk).update(
        revoked_at=timezone.now()
    )
    if updated:
        log_change(vendor=invitation.vendor, actor=Actor.for_user(actor), obj=invitation,
                   action="invitation revoked")


def _ensure_another_owner(membership: Membership) -> None:
    owners = Membership.objects.select_for_update().filter(
        vendor=membership.vendor, role=Role.OWNER
    )
    if membership.role == Role.OWNER and owners.exclude(pk=membership.pk).count() == 0:
        raise DomainError("A vendor needs at least one owner.", field="role")


@transaction.atomic
def membership_change_role(*, membership: Membership, actor: User, role: str) -> Membership:
    if role not in Role.values:
        raise DomainError("Unknown role.", field="role")
    if role != Role.OWNER:
        _ensure_another_owner(membership)
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated"])
    if before != role:
        log_change(vendor=membership.vendor, actor=Actor.for_user(actor), obj=membership,
                   action="role changed", changes={"role": [before, role]})
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User) -> None:
    _ensure_another_owner(membership)
    log_change(vendor=membership.vendor, actor=Actor.for_user(actor), obj=membership,
               action="removed", changes={"user": [membership.user.email, None]})
    membership.delete()
