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
    assert response.status_code == 200
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["newbie@example.com"]
    link = re.search(r"http://testserver(/invitations/accept/\S+/)", mailoutbox[0].body)
    assert link, mailoutbox[0].body
    # The page shows the mailed link once, to copy.
    assert f'id="invitation-link">http://testserver{link.group(1)}<' in response.content.decode()

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


# --- Sending again, copying the link, the development mailbox, the sign-up form. ---


def _resend(owner_client, invitation, capture):
    with capture(execute=True):
        return owner_client.post(reverse("vendor_portal:invitation_resend",
                                         args=[invitation.pk]))


def test_sending_an_invitation_again_mails_a_new_link_and_retires_the_old_one(
        tenant, tenant_invitation, owner_client, mailoutbox, django_capture_on_commit_callbacks):
    from django.utils import timezone

    Invitation.objects.filter(pk=tenant_invitation.invitation.pk).update(
        expires_at=timezone.now())  # an expired invitation can be sent again too
    response = _resend(owner_client, tenant_invitation.invitation,
                       django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert mailoutbox[-1].to == ["invitee@example.com"] and len(mailoutbox) == 2
    new_url = re.search(r"http://testserver/\S+", mailoutbox[-1].body).group(0)
    assert new_url != tenant_invitation.url
    page = response.content.decode()
    assert f'<p class="mono secret" id="invitation-link">{new_url}</p>' in page
    assert 'data-copy="#invitation-link"' in page
    user = UserFactory(email="invitee@example.com")
    invitee = _client(user)
    assert invitee.get(tenant_invitation.path).status_code == 404
    assert invitee.post(new_url.removeprefix("http://testserver")).status_code == 302
    assert Membership.objects.filter(vendor=tenant.vendor, user=user).exists()


def test_only_owners_send_invitations_again(tenant_invitation, admin_client_, mailoutbox):
    response = admin_client_.post(reverse("vendor_portal:invitation_resend",
                                         args=[tenant_invitation.invitation.pk]))
    assert response.status_code == 403
    assert len(mailoutbox) == 1


def test_a_revoked_invitation_cannot_be_sent_again(tenant_invitation, owner_client, mailoutbox):
    owner_client.post(reverse("vendor_portal:invitation_revoke",
                              args=[tenant_invitation.invitation.pk]))
    response = owner_client.post(reverse("vendor_portal:invitation_resend",
                                         args=[tenant_invitation.invitation.pk]))
    assert response.status_code == 404
    assert len(mailoutbox) == 1


def test_the_member_list_offers_to_send_pending_invitations_again(tenant_invitation,
                                                                  owner_client):
    page = owner_client.get(reverse("vendor_portal:member_list")).content.decode()
    assert reverse("vendor_portal:invitation_resend",
                   args=[tenant_invitation.invitation.pk]) in page


def test_in_development_the_message_links_to_the_mailbox(owner_client, settings,
                                                         django_capture_on_commit_callbacks):
    settings.DEBUG, settings.EMAIL_BACKEND = True, "apps.core.devmail.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("vendor_portal:member_invite"),
                                     {"email": "dev@example.com", "role": Role.ADMIN})
    assert _messages(response) == [
        f'Invitation sent to dev@example.com. <a href="{reverse("vendor_portal:devmail_list")}">'
        'Open the development mailbox</a>.']
    from apps.core.models import SentMail

    assert SentMail.objects.get().recipients == ["dev@example.com"]


def test_without_the_mailbox_the_message_is_plain(owner_client):
    response = owner_client.post(reverse("vendor_portal:member_invite"),
                                 {"email": "dev@example.com", "role": Role.ADMIN})
    assert _messages(response) == ["Invitation sent to dev@example.com."]


def test_an_invitee_without_an_account_finds_the_address_filled_in(tenant_invitation, client):
    response = client.get(tenant_invitation.path)
    assert response.status_code == 302  # to the login page, which links to the sign-up
    signup = client.get(reverse("account_signup")).content.decode()
    assert 'value="invitee@example.com"' in signup


def test_a_stale_invitation_token_fills_in_nothing(tenant_invitation, client, owner_client):
    client.get(tenant_invitation.path)
    owner_client.post(reverse("vendor_portal:invitation_revoke",
                              args=[tenant_invitation.invitation.pk]))
    signup = client.get(reverse("account_signup")).content.decode()
    assert 'value="invitee@example.com"' not in signup
