"""The customer portal's place in the layouts: a header link, the customer switcher, the nav."""

from __future__ import annotations

from django import template

from apps.access import customer_memberships_of, other_portals_of
from apps.core.navigation import NavPlace, nav_place
from apps.customer_portal.navigation import SECTIONS
from apps.licensing.models import CustomerMembership

register = template.Library()


def _memberships(context: template.Context) -> list[CustomerMembership]:
    # Computed once per request, however many tags ask.
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return []
    if not hasattr(request, "_customer_memberships"):
        request._customer_memberships = customer_memberships_of(user)
    return request._customer_memberships


@register.simple_tag(takes_context=True)
def customer_memberships(context: template.Context) -> list[CustomerMembership]:
    """The user's customer-portal memberships: `{% customer_memberships as memberships %}`."""
    return _memberships(context)


@register.inclusion_tag("customer_portal/partials/header_link.html", takes_context=True)
def customer_portal_link(context: template.Context) -> dict:
    """A "Customer portal" link in the header, for people who belong to a customer."""
    request = context.get("request")
    here = getattr(getattr(request, "resolver_match", None), "namespace", "")
    return {"show": other_portals_of(request)[0] if request is not None else False,
            "current": here == "customer_portal"}


@register.simple_tag(takes_context=True)
def customer_nav(context: template.Context) -> NavPlace:
    """The current page's place in the customer portal's navigation: `{% customer_nav as nav %}`."""
    return nav_place(context.get("request"), SECTIONS)
