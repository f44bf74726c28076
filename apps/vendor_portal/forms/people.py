"""Forms about people: sign-up, organisations, members, portal links, resellers."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.http import HttpRequest

from apps.core.forms import choice_field
from apps.licensing.services import portal
from apps.licensing.services.portal import SESSION_PORTAL_TOKEN
from apps.licensing.services.vendors import vendor_create

if TYPE_CHECKING:
    from apps.accounts.models import User


class VendorSignupForm(forms.Form):
    """allauth's sign-up form gets an organisation name: signing up with one creates a vendor.

    People who came through a customer-portal link join that portal instead and may leave it
    empty; anyone else without an organisation is asked for one after logging in."""

    organisation = forms.CharField(
        label="Organisation", max_length=200, required=False,
        help_text="The company that sells software. Leave empty if you were invited to a "
                  "customer portal or as a reseller.",
        widget=forms.TextInput(
            attrs={"placeholder": "Your company", "autocomplete": "organization"}
        ),
    )

    def signup(self, request: HttpRequest, user: User) -> None:
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
        help_text="Granted to whoever joins through the link (the customer must allow it too).")
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
