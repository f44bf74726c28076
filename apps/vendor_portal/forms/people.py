"""Forms about people: sign-up, organisations, members, portal links, resellers."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from allauth.core import context as allauth_context
from django import forms
from django.http import HttpRequest

from apps.accounts.services import SESSION_INVITATION_TOKEN, invitation_for_token
from apps.core.forms import choice_field
from apps.licensing.services import portal
from apps.licensing.services.portal import SESSION_PORTAL_TOKEN
from apps.licensing.services.resellers import (
    SESSION_RESELLER_INVITATION_TOKEN,
    reseller_for_token,
)
from apps.licensing.services.vendors import vendor_create

if TYPE_CHECKING:
    from apps.accounts.models import User


def invited_email(request: HttpRequest) -> str:
    """The address a team or reseller invitation opened in this session was sent to (the
    invitation views keep its token in the session), or "". It only fills in the sign-up form:
    the vendor has seen the link, so it proves nothing about the address, which is verified
    as any other."""
    token = request.session.get(SESSION_INVITATION_TOKEN)
    invitation = invitation_for_token(token) if isinstance(token, str) and token else None
    if invitation is not None:
        return invitation.email
    token = request.session.get(SESSION_RESELLER_INVITATION_TOKEN)
    reseller = reseller_for_token(token) if isinstance(token, str) else None
    return reseller.email if reseller is not None else ""


class VendorSignupForm(forms.Form):
    """allauth's sign-up form gets an organisation name: signing up with one creates a vendor.

    People who came through a customer-portal link join that portal instead and may leave it
    empty; anyone else without an organisation is asked for one after logging in."""

    organisation = forms.CharField(
        label="Organisation", max_length=200, required=False,
        help_text="The company that sells software. Leave empty if you were invited to a "
                  "team, a customer portal or as a reseller.",
        widget=forms.TextInput(
            attrs={"placeholder": "Your company", "autocomplete": "organization"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # allauth builds the form without the request; it keeps the current one at hand.
        request = allauth_context.request
        if request is not None and not self.is_bound:
            email = invited_email(request)
            if email:
                self.initial.setdefault("email", email)

    def signup(self, request: HttpRequest, user: User) -> None:
        request.session.pop(SESSION_INVITATION_TOKEN, None)
        request.session.pop(SESSION_RESELLER_INVITATION_TOKEN, None)
        token = request.session.pop(SESSION_PORTAL_TOKEN, None)
        link = portal.portal_link_for_token(token) if token else None
        if link is not None:
            portal.portal_join_on_sign_up(link=link, user=user)
        if self.cleaned_data["organisation"].strip():
            vendor_create(owner=user, name=self.cleaned_data["organisation"])


class OrganisationForm(forms.Form):
    organisation = forms.CharField(label="Organisation", max_length=200)


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    role = forms.ChoiceField(choices=[])

    def __init__(self, *args: Any, roles: Sequence[tuple[str, str]] = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "role").choices = roles


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[])

    def __init__(self, *args: Any, roles: Sequence[tuple[str, str]] = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "role").choices = roles


EXPIRES_HELP = "Leave empty for a link that never expires; you can revoke it at any time."


class PortalInvitationForm(forms.Form):
    """An invitation link to one customer's portal."""

    can_manage_activations = forms.BooleanField(
        required=False, label="May deactivate devices",
        help_text="Whoever joins through the link may free seats by deactivating devices. This "
                  "turns activation management on for the customer if it is off.")
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, initial=14, label="Expires in (days)",
        help_text=EXPIRES_HELP)


class PortalSignupLinkForm(PortalInvitationForm):
    """A vendor-wide sign-up link: people join the customer with their e-mail address, or a
    new customer made for them."""

    name = forms.CharField(max_length=100, help_text="For you, e.g. where you publish it.")
    field_order = ["name", "can_manage_activations", "expires_in_days"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_in_days"].initial = None
        self.fields["can_manage_activations"].help_text = (
            "Whoever joins through the link may free seats by deactivating devices. This turns "
            "activation management on for the customer they join if it is off.")


class PortalUserForm(forms.Form):
    can_manage_activations = forms.BooleanField(required=False)


# --- License templates, resellers, billing. ---


class ResellerInviteForm(forms.Form):
    name = forms.CharField(max_length=100)
    company = forms.CharField(max_length=100, required=False)
    email = forms.EmailField(label="E-mail", max_length=100)
    url = forms.URLField(label="URL", max_length=200, required=False, assume_scheme="https")
    phone = forms.CharField(max_length=50, required=False)
    description = forms.CharField(required=False, max_length=1000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
