"""The development mailbox: the mail a development site sent, readable in the browser.

Only with DEBUG on and no mail server configured (apps.core.devmail); a 404 otherwise. Everyone
may read it there, signed in or not: a sign-up confirmation is read before its recipient can
log in, and an invitation is read by someone who is not the person who sent it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from apps.core.devmail import development_mailbox, mailbox_enabled
from apps.core.models import SentMail
from apps.core.pagination import paginate


def with_mailbox_link(message: str) -> str | SafeString:
    """A flash message about mail just sent, with a link to the development mailbox where
    there is one (the message stays plain text otherwise)."""
    if not mailbox_enabled():
        return message
    return format_html('{} <a href="{}">Open the development mailbox</a>.', message,
                       reverse("vendor_portal:devmail_list"))


@development_mailbox
def devmail_list(request: HttpRequest) -> HttpResponse:
    return render(request, "vendor_portal/devmail_list.html",
                  {"page": paginate(request, SentMail.objects.all())})


@development_mailbox
def devmail_detail(request: HttpRequest, mail_id: int) -> HttpResponse:
    return render(request, "vendor_portal/devmail_detail.html",
                  {"mail": get_object_or_404(SentMail, pk=mail_id)})
