from django.http import HttpRequest

from apps.access import current_membership


def portal(request: HttpRequest) -> dict:
    """The membership the navigation shows, also on pages outside the portal (allauth)."""
    membership = getattr(request, "membership", None)
    if membership is None and getattr(request, "user", None) is not None:
        membership = current_membership(request)
    return {"nav_membership": membership}
