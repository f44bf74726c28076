"""Small helpers shared by the vendor portal's views."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from apps.core.csvexport import csv_response  # noqa: F401  (used by the views)
from apps.core.errors import DomainError
from apps.core.pagination import paginate  # noqa: F401  (used by the views)
from apps.core.wheels import ClientPackage

from .devmail import with_mailbox_link


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show a service's refusal on the form, on its field when the form has that field."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


def token_url_template(request: HttpRequest, viewname: str) -> str:
    """The absolute address of `viewname` with a `{token}` placeholder, which an invitation
    service fills with the token it e-mails."""
    return request.build_absolute_uri(reverse(viewname, args=["TOKEN"])).replace(
        "TOKEN", "{token}")


def invitation_sent(request: HttpRequest, *, email: str, url: str,
                    expires_at: dt.datetime | None, what: str, back_url: str, back_label: str,
                    resend_url: str, resent: bool = False) -> HttpResponse:
    """The invitation link just e-mailed, shown once to copy (only its digest is stored)."""
    messages.success(request, with_mailbox_link(
        f"Invitation {'sent again' if resent else 'sent'} to {email}."))
    return render(request, "vendor_portal/invitation_sent.html", {
        "email": email, "url": url, "expires_at": expires_at, "what": what,
        "back_url": back_url, "back_label": back_label, "resend_url": resend_url})


def client_wheel(request: HttpRequest, package: ClientPackage, missing_template: str,
                 context: dict[str, str]) -> HttpResponse | FileResponse:
    """A client package's wheel (the license server, the SDK signer): the same file for every
    vendor, no vendor's data in it. When it has not been built, `missing_template` (404) says
    how to build it."""
    opened = package.open_built()
    if opened is None:
        return render(request, missing_template, context, status=404)
    name, handle = opened
    return FileResponse(handle, as_attachment=True, filename=name,
                        content_type="application/zip")

