"""allauth's adapter: the hooks where allauth's flows (sign-up, e-mail confirmation) call the
domain's services."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from django.contrib import messages
from django.http import HttpRequest

from apps.core.devmail import mailbox_enabled
from apps.licensing.services import portal

from .views.devmail import with_mailbox_link

# allauth's messages that follow a mail it sent (sign-up, a new confirmation e-mail).
MAIL_SENT_MESSAGES = {"account/messages/email_confirmation_sent.txt"}


class AccountAdapter(DefaultAccountAdapter):
    def confirm_email(self, request: HttpRequest, email_address: EmailAddress) -> bool:
        """Verifying the address completes a portal sign-up that waited for it."""
        confirmed = super().confirm_email(request, email_address)
        if confirmed:
            portal.portal_join_pending(user=email_address.user)
        return confirmed

    def add_message(self, request: HttpRequest, level: int, message_template: str | None = None,
                    message_context: dict[str, Any] | None = None, extra_tags: str = "",
                    message: str | None = None) -> None:
        """In development, a mail allauth just sent is in the development mailbox: say so."""
        super().add_message(request, level, message_template, message_context, extra_tags,
                            message)
        if message_template in MAIL_SENT_MESSAGES and mailbox_enabled():
            messages.info(request, with_mailbox_link(
                "This development site sends no e-mail; it keeps it for you."))
