from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.access import (
    SESSION_VENDOR_KEY,
    VendorRequest,
    access_invitation,
    access_member,
    vendor_member,
)
from apps.accounts import services
from apps.accounts.models import Invitation, Membership, Role
from apps.core.errors import DomainError

from ..forms import InviteForm, RoleForm
from .common import add_domain_error, invitation_sent, token_url_template


@vendor_member("read")
def member_list(request: VendorRequest) -> HttpResponse:
    members = Membership.objects.filter(vendor=request.vendor).select_related("user")
    invitations = Invitation.objects.for_vendor(request.vendor).pending()
    return render(request, "vendor_portal/member_list.html", {
        "members": members, "invitations": invitations, "roles": Role.choices,
        "now": timezone.now(),
    })


def _accept_url_template(request: HttpRequest) -> str:
    return token_url_template(request, "vendor_portal:invitation_accept")


def _sent(request: VendorRequest, invitation: Invitation, url: str, *,
          resent: bool = False) -> HttpResponse:
    return invitation_sent(
        request, email=invitation.email, url=url, expires_at=invitation.expires_at,
        what=f"join {request.vendor.name} as {invitation.get_role_display()}",
        back_url=reverse("vendor_portal:member_list"), back_label="Team",
        resend_url=reverse("vendor_portal:invitation_resend", args=[invitation.pk]),
        resent=resent)


@vendor_member("owner")
def member_invite(request: VendorRequest) -> HttpResponse:
    form = InviteForm(request.POST or None, roles=Role.choices)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, url = services.invitation_send(
                vendor=request.vendor, invited_by=request.user,
                accept_url_template=_accept_url_template(request), **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _sent(request, invitation, url)
    return render(request, "vendor_portal/member_invite.html", {"form": form})


@require_POST
@vendor_member("owner")
def member_role(request: VendorRequest, member_id: int) -> HttpResponse:
    member = access_member(request.membership, member_id)
    form = RoleForm(request.POST, roles=Role.choices)
    try:
        if not form.is_valid():
            raise DomainError("Unknown role.")
        services.membership_change_role(membership=member, actor=request.user,
                                        role=form.cleaned_data["role"])
        messages.success(request, f"{member.user.email} is now {member.get_role_display()}.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("vendor_portal:member_list")


@require_POST
@vendor_member("owner")
def member_remove(request: VendorRequest, member_id: int) -> HttpResponse:
    member = access_member(request.membership, member_id)
    try:
        services.membership_remove(membership=member, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("vendor_portal:member_list")
    if member.user_id == request.user.pk:
        messages.success(request, f"You left {request.vendor.name}.")
        return redirect("vendor_portal:dashboard")
    messages.success(request, f"{member.user.email} was removed.")
    return redirect("vendor_portal:member_list")


@require_POST
@vendor_member("owner")
def invitation_revoke(request: VendorRequest, invitation_id: int) -> HttpResponse:
    invitation = access_invitation(request.membership, invitation_id)
    services.invitation_revoke(invitation=invitation, actor=request.user)
    messages.success(request, f"Invitation of {invitation.email} revoked.")
    return redirect("vendor_portal:member_list")


@require_POST
@vendor_member("owner")
def invitation_resend(request: VendorRequest, invitation_id: int) -> HttpResponse:
    invitation = access_invitation(request.membership, invitation_id)
    try:
        url = services.invitation_resend(invitation=invitation, actor=request.user,
                                         accept_url_template=_accept_url_template(request))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("vendor_portal:member_list")
    invitation.refresh_from_db()
    return _sent(request, invitation, url, resent=True)


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Open to anyone holding the link; accepting needs a login with the invited address."""
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return render(request, "vendor_portal/invitation_invalid.html", status=404)
    if not request.user.is_authenticated:
        # Signing up from the login page fills in the invited address (VendorSignupForm).
        request.session[services.SESSION_INVITATION_TOKEN] = token
        messages.info(request, f"{invitation.vendor.name} invited {invitation.email}. No account "
                               "yet? Sign up with that address, then accept the invitation.")
        return redirect_to_login(request.get_full_path())
    if request.method == "POST":
        try:
            membership = services.invitation_accept(invitation=invitation, user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            request.session[SESSION_VENDOR_KEY] = membership.vendor_id
            messages.success(request, f"Welcome to {membership.vendor.name}.")
            return redirect("vendor_portal:dashboard")
    return render(request, "vendor_portal/invitation_accept.html", {"invitation": invitation})
