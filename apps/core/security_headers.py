"""Response headers Django has no setting for: Content-Security-Policy and
Permissions-Policy (settings.CONTENT_SECURITY_POLICY, settings.PERMISSIONS_POLICY)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.headers = {
            "Content-Security-Policy": settings.CONTENT_SECURITY_POLICY,
            "Permissions-Policy": settings.PERMISSIONS_POLICY,
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for name, value in self.headers.items():
            if value and name not in response:
                response[name] = value
        return response


def allow_form_action(response: HttpResponse, origins: list[str]) -> HttpResponse:
    """Let this page's forms end at `origins` too. Browsers apply form-action to the redirects
    that follow a submission, so a form whose answer redirects to another site (Stripe
    Checkout, Stripe's billing portal) needs that site in its page's policy."""
    policy = settings.CONTENT_SECURITY_POLICY
    if not policy or not origins:
        return response
    extra = " ".join(origins)
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    if any(d.split()[0] == "form-action" for d in directives):
        directives = [f"{d} {extra}" if d.split()[0] == "form-action" else d
                      for d in directives]
    response["Content-Security-Policy"] = "; ".join(directives)
    return response
