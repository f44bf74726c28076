import datetime as dt
import hashlib
import re

import pytest
from django.core import mail
from django.utils import timezone

from apps.accounts import services
from apps.accounts.models import Invitation, Membership, Role
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError

from ..factories import UserFactory, add_member

ACCEPT_URL = "https://portal.test/invitations/{token}/"
LINK = re.compile(r"https://portal\.test/invitations/([^/\s]+)/")


def _invite(tenant, email="new.person@example.com", role=Role.ADMIN):
    return services.invitation_create(vendor=tenant.vendor, invited_by=tenant.owner, email=email,
                                      role=role, accept_url_template=ACCEPT_URL)


def _invite_and_read_token(tenant, capture, **kwargs) -> tuple[Invitation, str]:
    with capture(execute=True):
        invitation = _invite(tenant, **kwargs)
    match = LINK.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return invitation, match.group(1)


def test_invitation_emails_the_accept_link_and_stores_only_its_digest(
        tenant, django_capture_on_commit_callbacks):
    invitation, token = _invite_and_read_token(tenant, django_capture_on_commit_callbacks,
                                               email="  New.Person@Example.com ")
    message = mail.outbox[-1]
    assert message.to == ["new.person@example.com"]
    assert tenant.vendor.name in message.subject
    assert invitation.email == "new.person@example.com"
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    row = Invitation.objects.filter(pk=invitation.pk).values().get()
    assert all(token not in str(value) for value in row.values())
    assert services.invitation_for_token(token) == invitation
    assert services.invitation_for_token(token + "x") is None
    assert ObjectLogEntry.objects.for_object(invitation).get().action == "invited"


def test_invitation_email_is_sent_only_after_commit(tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _invite(tenant)
    assert mail.outbox == []
    assert len(callbacks) == 1


def test_second_pending_invitation_for_the_same_address_is_refused(tenant):
    _invite(tenant, email="dup@example.com")
    with pytest.raises(DomainError) as error:
        _invite(tenant, email="DUP@example.com", role=Role.READ_ONLY)
    assert error.value.field == "email"
    assert Invitation.objects.filter(vendor=tenant.vendor).count() == 1


def test_same_address_may_be_invited_by_two_vendors(tenant, other_tenant):
    _invite(tenant, email="both@example.com")
    _invite(other_tenant, email="both@example.com")
    assert Invitation.objects.filter(email="both@example.com").count() == 2


def test_address_may_be_invited_again_after_revocation(tenant):
    first = _invite(tenant, email="again@example.com")
    services.invitation_revoke(invitation=first, actor=tenant.owner)
    second = _invite(tenant, email="again@example.com")
    assert Invitation.objects.pending().get(email="again@example.com") == second


def test_inviting_an_existing_member_is_refused(tenant):
    with pytest.raises(DomainError):
        _invite(tenant, email=tenant.admin.email.upper())
    assert not Invitation.objects.exists()


def test_unknown_role_is_refused(tenant):
    with pytest.raises(DomainError):
        _invite(tenant, role="superuser")
    assert not Invitation.objects.exists()


def test_accepting_with_another_address_is_refused(tenant, other_tenant):
    invitation = _invite(tenant, email="invitee@example.com")
    intruder = other_tenant.owner
    with pytest.raises(DomainError, match=re.escape("invitee@example.com")):
        services.invitation_accept(invitation=invitation, user=intruder)
    assert not Membership.objects.filter(vendor=tenant.vendor, user=intruder).exists()
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None


def test_accepting_makes_the_membership_with_the_invited_role(
        tenant, django_capture_on_commit_callbacks):
    invitation, token = _invite_and_read_token(tenant, django_capture_on_commit_callbacks,
                                               email="invitee@example.com", role=Role.ADMIN)
    invitee = UserFactory(email="Invitee@Example.com")
    membership = services.invitation_accept(invitation=invitation, user=invitee)
    assert Membership.objects.get(vendor=tenant.vendor, user=invitee) == membership
    assert membership.role == Role.ADMIN
    invitation.refresh_from_db()
    assert invitation.accepted_by == invitee and invitation.accepted_at is not None
    assert services.invitation_for_token(token) is None
    entry = ObjectLogEntry.objects.for_object(membership).get()
    assert (entry.action, entry.actor_label) == ("joined", invitee.email)
    with pytest.raises(DomainError):
        services.invitation_accept(invitation=invitation, user=invitee)


def test_expired_invitation_is_invalid(tenant, django_capture_on_commit_callbacks):
    invitation, token = _invite_and_read_token(tenant, django_capture_on_commit_callbacks,
                                               email="late@example.com")
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert services.invitation_for_token(token) is None
    with pytest.raises(DomainError, match="no longer valid"):
        services.invitation_accept(invitation=invitation,
                                   user=UserFactory(email="late@example.com"))
    assert not Membership.objects.filter(user__email="late@example.com").exists()


def test_revoked_invitation_is_invalid(tenant, django_capture_on_commit_callbacks):
    invitation, token = _invite_and_read_token(tenant, django_capture_on_commit_callbacks,
                                               email="gone@example.com")
    services.invitation_revoke(invitation=invitation, actor=tenant.owner)
    assert services.invitation_for_token(token) is None
    with pytest.raises(DomainError):
        services.invitation_accept(invitation=invitation,
                                   user=UserFactory(email="gone@example.com"))


def test_last_owner_cannot_be_demoted(tenant):
    owner = tenant.membership(tenant.owner)
    with pytest.raises(DomainError):
        services.membership_change_role(membership=owner, actor=tenant.owner, role=Role.ADMIN)
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER


def test_last_owner_cannot_be_removed(tenant):
    owner = tenant.membership(tenant.owner)
    with pytest.raises(DomainError):
        services.membership_remove(membership=owner, actor=tenant.owner)
    assert Membership.objects.filter(pk=owner.pk, role=Role.OWNER).exists()


def test_owner_can_step_down_when_another_owner_remains(tenant):
    second = add_member(tenant.vendor, Role.OWNER)
    owner = tenant.membership(tenant.owner)
    services.membership_change_role(membership=owner, actor=tenant.owner, role=Role.ADMIN)
    assert Membership.objects.get(pk=owner.pk).role == Role.ADMIN
    with pytest.raises(DomainError):
        services.membership_remove(membership=second, actor=second.user)


def test_role_change_is_logged(tenant):
    admin = tenant.membership(tenant.admin)
    services.membership_change_role(membership=admin, actor=tenant.owner, role=Role.READ_ONLY)
    assert Membership.objects.get(pk=admin.pk).role == Role.READ_ONLY
    entry = ObjectLogEntry.objects.for_object(admin).get()
    assert (entry.action, entry.actor_label) == ("role changed", tenant.owner.email)
    assert entry.changes == {"role": [Role.ADMIN, Role.READ_ONLY]}


def test_unchanged_role_is_not_logged(tenant):
    admin = tenant.membership(tenant.admin)
    services.membership_change_role(membership=admin, actor=tenant.owner, role=Role.ADMIN)
    assert not ObjectLogEntry.objects.for_object(admin).exists()


def test_unknown_role_change_is_refused(tenant):
    admin = tenant.membership(tenant.admin)
    with pytest.raises(DomainError):
        services.membership_change_role(membership=admin, actor=tenant.owner, role="god")
    assert Membership.objects.get(pk=admin.pk).role == Role.ADMIN


def test_removing_a_member_deletes_the_membership_and_logs(tenant):
    read_only = tenant.membership(tenant.read_only)
    services.membership_remove(membership=read_only, actor=tenant.owner)
    assert not Membership.objects.filter(pk=read_only.pk).exists()
    entry = ObjectLogEntry.objects.for_vendor(tenant.vendor).get(action="removed")
    assert entry.changes == {"user": [tenant.read_only.email, None]}
