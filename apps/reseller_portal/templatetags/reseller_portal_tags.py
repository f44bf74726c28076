"""The reseller portal's place in the layouts: a header link for resellers, the nav."""

from __future__ import annotations

from django import template

from apps.access import other_portals_of, resellerships_of
from apps.accounts.models import Reseller
from apps.core.navigation import NavPlace, nav_place
from apps.reseller_portal.navigation import SECTIONS

register = template.Library()


def _resellerships(context: template.Context) -> list[Reseller]:
    # Computed once per request, however many tags ask.
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return []
    if not hasattr(request, "_resellerships"):
        request._resellerships = resellerships_of(user)
    return request._resellerships


@register.simple_tag(takes_context=True)
def resellerships(context: template.Context) -> list[Reseller]:
    """The vendors the user resells for: `{% resellerships as resellerships %}`."""
    return _resellerships(context)


@register.inclusion_tag("reseller_portal/partials/header_link.html", takes_context=True)
def reseller_portal_link(context: template.Context) -> dict:
    """A "Reseller portal" link in the header, for people who resell for a vendor."""
    request = context.get("request")
    here = getattr(getattr(request, "resolver_match", None), "namespace", "")
    return {"show": other_portals_of(request)[1] if request is not None else False,
            "current": here == "reseller_portal"}


@register.simple_tag(takes_context=True)
def reseller_nav(context: template.Context) -> NavPlace:
    """The current page's place in the reseller portal's navigation: `{% reseller_nav as nav %}`."""
    return nav_place(context.get("request"), SECTIONS)
