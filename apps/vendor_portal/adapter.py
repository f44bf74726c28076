"""allauth's adapter: the hooks where allauth's flows (sign-up, e-mail confirmation) call the
domain's services."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from django.http import HttpRequest

from apps.licensing.services import portal


class AccountAdapter(DefaultAccountAdapter):
    def confirm_email(self, request: HttpRequest, email_address: EmailAddress) -> bool:
        """Verifying the address completes a portal sign-up that waited for it."""
        confirmed = super().confirm_email(request, email_address)
        if confirmed:
            portal.portal_join_pending(user=email_address.user)
        return confirmed
