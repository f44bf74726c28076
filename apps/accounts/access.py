"""Every permission decision of the portals, in one place.

Tenancy: an object of another vendor is answered exactly like a missing one (404), so that ids
reveal nothing. Roles: read-only members may look at everything of their vendor; owners and
admins may change licensing data; only owners manage members.

Views declare their rule with `@vendor_member(...)` on the def line and fetch every object
through an `access_*` function; they never query a tenant's model by primary key themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Literal

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from apps.licensing.models import (
    AccessToken,
    Activation,
    ActivationForm,
    Customer,
    DataObject,
    LicenseKey,
    Product,
)

from .models import Invitation, Membership

SESSION_VENDOR_KEY = "vendor_id"
Level = Literal["read", "write", "owner"]


def memberships_of(user) -> list[Membership]:
    return list(Membership.objects.filter(user=user).select_related("vendor"))


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership the user works in: the vendor chosen in the session, else the first."""
    if not request.user.is_authenticated:
        return None
    memberships = Membership.objects.filter(user=request.user).select_related("vendor")
    chosen = request.session.get(SESSION_VENDOR_KEY)
    membership = memberships.filter(vendor_id=chosen).first() if chosen else None
    return membership or memberships.order_by("created").first()


def choose_vendor(request: HttpRequest, vendor_id: int) -> Membership:
    membership = Membership.objects.filter(user=request.user, vendor_id=vendor_id).first()
    if membership is None:
        raise Http404
    request.session[SESSION_VENDOR_KEY] = membership.vendor_id
    return membership


def check_level(membership: Membership, level: Level) -> None:
    """Raise 403 when the member's role is below `level`."""
    if level == "write" and not membership.can_write:
        raise PermissionDenied("Your role is read-only.")
    if level == "owner" and not membership.is_owner:
        raise PermissionDenied("Only owners can do this.")


def vendor_member(level: Level = "read") -> Callable:
    """Decorator: a logged-in member of a vendor with at least `level`.

    Sets request.membership and request.vendor. Anonymous users go to the login page."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = current_membership(request)
            if membership is None:
                raise PermissionDenied("You are not a member of any vendor.")
            check_level(membership, level)
            request.membership = membership
            request.vendor = membership.vendor
            return view(request, *args, **kwargs)

        wrapped.access_level = level
        return wrapped

    return decorator


def _get(queryset, **lookup):
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj


def access_product(membership: Membership, pk: int, *, level: Level = "read") -> Product:
    """The vendor's product, or 404."""
    check_level(membership, level)
    return _get(Product.objects.for_vendor(membership.vendor), pk=pk)


def access_key(membership: Membership, pk: int, *, level: Level = "read") -> LicenseKey:
    """The vendor's license key (any product of theirs), or 404."""
    check_level(membership, level)
    return _get(
        LicenseKey.objects.for_vendor(membership.vendor).select_related("product", "customer"),
        pk=pk,
    )


def access_activation(membership: Membership, key: LicenseKey, pk: int, *,
                      level: Level = "read") -> Activation:
    """A seat of a key already accessed through `access_key`, or 404."""
    check_level(membership, level)
    assert key.product.vendor_id == membership.vendor_id
    return _get(Activation.objects.filter(key=key), pk=pk)


def access_data_object(membership: Membership, key: LicenseKey, pk: int, *,
                       level: Level = "read") -> DataObject:
    check_level(membership, level)
    assert key.product.vendor_id == membership.vendor_id
    return _get(DataObject.objects.filter(key=key), pk=pk)


def access_customer(membership: Membership, pk: int, *, level: Level = "read") -> Customer:
    check_level(membership, level)
    return _get(Customer.objects.for_vendor(membership.vendor), pk=pk)


def access_token(membership: Membership, pk: int, *, level: Level = "read") -> AccessToken:
    check_level(membership, level)
    return _get(AccessToken.objects.for_vendor(membership.vendor), pk=pk)


def access_member(membership: Membership, pk: int, *, level: Level = "owner") -> Membership:
    check_level(membership, level)
    return _get(
        Membership.objects.filter(vendor=membership.vendor).select_related("user"), pk=pk
    )


def access_invitation(membership: Membership, pk: int, *, level: Level = "owner"
                      ) -> Invitation:
    """A pending invitation of the vendor (used or revoked ones are gone: 404)."""
    check_level(membership, level)
    return _get(Invitation.objects.for_vendor(membership.vendor).pending(), pk=pk)


def access_activation_form(membership: Membership, pk: int, *, level: Level = "read"
                           ) -> ActivationForm:
    """An activation form of one of the vendor's products, or 404."""
    check_level(membership, level)
    return _get(ActivationForm.objects.for_vendor(membership.vendor).select_related("product"),
                pk=pk)
