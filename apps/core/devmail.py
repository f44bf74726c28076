"""The development mailbox: with DEBUG on and no mail server configured, sent e-mail is printed
to the console (as Django's console backend does) and kept in the database, so that sign-up
confirmations and invitations can be opened from the portal's development mailbox page."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import ParamSpec

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.http import Http404, HttpResponseBase

from .models import SentMail

BACKEND = "apps.core.devmail.EmailBackend"


def mailbox_enabled() -> bool:
    """The mailbox exists only in development, and only while this backend sends the mail."""
    return bool(settings.DEBUG) and settings.EMAIL_BACKEND == BACKEND


class EmailBackend(ConsoleBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = super().send_messages(email_messages)
        SentMail.objects.bulk_create(
            SentMail(subject=str(message.subject)[:998], from_email=str(message.from_email),
                     to="\n".join(message.recipients()), body=str(message.body))
            for message in email_messages if message.recipients())
        return sent


P = ParamSpec("P")


def development_mailbox(view: Callable[P, HttpResponseBase]) -> Callable[P, HttpResponseBase]:
    """The rule of the mailbox pages: 404 unless mailbox_enabled(). In development anyone may
    read it: a sign-up confirmation must be read before its recipient can log in."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not mailbox_enabled():
            raise Http404("No development mailbox here.")
        return view(*args, **kwargs)

    wrapped.access_level = "development mailbox"  # type: ignore[attr-defined]
    return wrapped
