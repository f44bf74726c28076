import re

from django.test import Client
from django.urls import reverse

from apps.accounts.models import Invitation, Membership, Role

from ..factories import UserFactory, add_member


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_member_list_shows_members_and_pending_invitations(tenant, tenant_invitation,
                                                           read_only_client):
    response = read_only_client.get(reverse("vendor_portal:member_list"))
    assert response.status_code == 200
    assert {m.user for m in response.context["members"]} == {
        tenant.owner, tenant.admin, tenant.read_only}
    assert [i.email for i in response.context["invitations"]] == ["invitee@example.com"]
    assert "invitee@example.com" in response.content.decode()


def test_invited_user_follows_the_emailed_link_and_joins_with_the_role(
        tenant, owner_client, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("vendor_portal:member_invite"),
                                     {"email": "Newbie@Example.com", "role": Role.ADMIN})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["newbie@example.com"]
    link = re.search(r"http://testserver(/invitations/accept/\S+/)", mailoutbox[0].body)
    assert link, mailoutbox[0].body

    newbie = _client(UserFactory(email="newbie@example.com"))
    page = newbie.get(link.group(1))
    assert page.status_code == 200
    assert tenant.vendor.name in page.content.decode()
    joined = newbie.post(link.group(1))
    assert joined.status_code == 302
    assert joined["Location"] == reverse("vendor_portal:dashboard")
    membership = Membership.objects.get(vendor=tenant.vendor, user__email="newbie@example.com")
    assert membership.role == Role.ADMIN
    assert newbie.get(reverse("vendor_portal:product_create")).status_code == 200


def test_a_different_user_cannot_accept_someone_elses_invitation(tenant, tenant_invitation):
    stranger = UserFactory(email="stranger@example.com")
    response = _client(stranger).post(tenant_invitation.path)
    assert response.status_code == 200
    assert _messages(response) == [
        "This invitation is for invitee@example.com. Log in with that address to accept it."]
    assert not Membership.objects.filter(vendor=tenant.vendor, user=stranger).exists()
    tenant_invitation.invitation.refresh_from_db()
    assert tenant_invitation.invitation.accepted_at is None


def test_an_existing_member_cannot_be_invited_again(tenant, owner_client, mailoutbox):
    response = owner_client.post(reverse("vendor_portal:member_invite"),
                                 {"email": tenant.admin.email, "role": Role.READ_ONLY})
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["This person is already a member."]
    assert not Invitation.objects.filter(vendor=tenant.vendor).exists()
    assert mailoutbox == []


def test_admin_cannot_invite_members(tenant, admin_client_, mailoutbox):
    response = admin_client_.post(reverse("vendor_portal:member_invite"),
                                  {"email": "x@example.com", "role": Role.OWNER})
    assert response.status_code == 403
    assert not Invitation.objects.filter(vendor=tenant.vendor).exists()
    assert mailoutbox == []


def test_owner_revokes_an_invitation_and_its_link_stops_working(tenant, tenant_invitation,
                                                                owner_client):
    url = reverse("vendor_portal:invitation_revoke", args=[tenant_invitation.invitation.pk])
    assert owner_client.post(url).status_code == 302
    tenant_invitation.invitation.refresh_from_db()
    assert tenant_invitation.invitation.revoked_at is not None
    invitee = _client(UserFactory(email="invitee@example.com"))
    assert invitee.post(tenant_invitation.path).status_code == 404
    assert not Membership.objects.filter(vendor=tenant.vendor,
                                         user__email="invitee@example.com").exists()


def test_owner_changes_a_members_role(tenant, owner_client):
    member = tenant.membership(tenant.admin)
    response = owner_client.post(reverse("vendor_portal:member_role", args=[member.pk]),
                                 {"role": Role.READ_ONLY}, follow=True)
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.role == Role.READ_ONLY
    assert _client(tenant.admin).get(reverse("vendor_portal:key_edit", args=[tenant.key.pk])
                                     ).status_code == 403


def test_unknown_role_changes_nothing(tenant, owner_client):
    member = tenant.membership(tenant.admin)
    response = owner_client.post(reverse("vendor_portal:member_role", args=[member.pk]),
                                 {"role": "superuser"}, follow=True)
    assert _messages(response) == ["Unknown role."]
    member.refresh_from_db()
    assert member.role == Role.ADMIN


def test_owner_removes_a_member_who_then_loses_access(tenant, owner_client):
    member = tenant.membership(tenant.read_only)
    response = owner_client.post(reverse("vendor_portal:member_remove", args=[member.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()
    # Belonging to no vendor any more, they are asked to create their own organisation.
    former = _client(tenant.read_only)
    for url in (reverse("vendor_portal:dashboard"),
                reverse("vendor_portal:key_detail", args=[tenant.key.pk])):
        response = former.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("vendor_portal:organisation_create")


def test_the_last_owner_cannot_be_demoted(tenant, owner_client):
    me = tenant.membership(tenant.owner)
    response = owner_client.post(reverse("vendor_portal:member_role", args=[me.pk]),
                                 {"role": Role.ADMIN}, follow=True)
    assert response.status_code == 200
    assert _messages(response) == ["A vendor needs at least one owner."]
    me.refresh_from_db()
    assert me.role == Role.OWNER


def test_the_last_owner_cannot_be_removed(tenant, owner_client):
    me = tenant.membership(tenant.owner)
    response = owner_client.post(reverse("vendor_portal:member_remove", args=[me.pk]),
                                 follow=True)
    assert response.status_code == 200
    assert _messages(response) == ["A vendor needs at least one owner."]
    me.refresh_from_db()
    assert me.role == Role.OWNER


def test_an_owner_can_step_down_when_another_owner_remains(tenant, owner_client):
    add_member(tenant.vendor, Role.OWNER)
    me = tenant.membership(tenant.owner)
    owner_client.post(reverse("vendor_portal:member_role", args=[me.pk]), {"role": Role.ADMIN})
    me.refresh_from_db()
    assert me.role == Role.ADMIN
