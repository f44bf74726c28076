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
from typing import Any, Concatenate, Literal, ParamSpec, Protocol, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from apps.accounts.models import Invitation, Membership, Reseller, User, Vendor
from apps.licensing.models import (
    AccessToken,
    Activation,
    ActivationForm,
    Customer,
    CustomerMembership,
    DataObject,
    IssuanceRight,
    LicenseKey,
    LicenseTemplate,
    PortalLink,
    Product,
    SigningKey,
)

SESSION_VENDOR_KEY = "vendor_id"
Level = Literal["read", "write", "owner"]

P = ParamSpec("P")
M = TypeVar("M", bound=Model)


# What the decorators below guarantee a view, for the type checker: a view declared with
# `request: VendorRequest` may use request.vendor and a logged-in request.user. Nothing
# creates these classes; the request stays Django's, with the attributes set on it.

class AuthenticatedRequest(HttpRequest):
    """A request of a logged-in person."""

    user: User


class VendorRequest(AuthenticatedRequest):
    """A request that passed `@vendor_member(...)`."""

    membership: Membership
    vendor: Vendor


class CustomerRequest(AuthenticatedRequest):
    """A request that passed `@customer_member(...)`."""

    customer_membership: CustomerMembership
    customer: Customer


class ResellerRequest(AuthenticatedRequest):
    """A request that passed `@reseller_member`."""

    reseller: Reseller


class CheckedView(Protocol[P]):
    """A view behind one of the decorators below; `access_level` names its rule (the
    permission tests check that every portal view has one)."""

    access_level: str

    def __call__(self, request: HttpRequest, *args: P.args,
                 **kwargs: P.kwargs) -> HttpResponseBase: ...


def memberships_of(user: User) -> list[Membership]:
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
    if not request.user.is_authenticated:  # every caller has a logged-in user
        raise Http404
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


def vendor_member(level: Level = "read"
                  ) -> Callable[[Callable[Concatenate[VendorRequest, P], HttpResponseBase]],
                                CheckedView[P]]:
    """Decorator: a logged-in member of a vendor with at least `level`.

    Sets request.membership and request.vendor. Anonymous users go to the login page; people
    who belong to no vendor go to their customer portal, or to create an organisation."""

    def decorator(view: Callable[Concatenate[VendorRequest, P], HttpResponseBase]
                  ) -> CheckedView[P]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs
                    ) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = current_membership(request)
            if membership is None:
                if Reseller.objects.filter(user=request.user, accepted_at__isnull=False
                                           ).exists():
                    return redirect("reseller_portal:dashboard")
                if CustomerMembership.objects.filter(user=request.user).exists():
                    return redirect("customer_portal:license_list")
                return redirect("vendor_portal:organisation_create")
            check_level(membership, level)
            # The request becomes what VendorRequest describes: the user is logged in above.
            checked = cast(VendorRequest, request)
            checked.membership = membership
            checked.vendor = membership.vendor
            return view(checked, *args, **kwargs)

        return _declare(wrapped, level)

    return decorator


def _declare(wrapped: Callable[Concatenate[HttpRequest, P], HttpResponseBase],
             access_level: str) -> CheckedView[P]:
    """The wrapped view, with the rule it enforces readable by the permission tests."""
    view = cast("CheckedView[P]", wrapped)
    view.access_level = access_level
    return view


def _get(queryset: QuerySet[M], **lookup: Any) -> M:
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj


def access_product(membership: Membership, pk: int, *, level: Level = "read") -> Product:
    """The vendor's product, or 404."""
    check_level(membership, level)
    return _get(Product.objects.for_vendor(membership.vendor), pk=pk)


def access_key(membership: Membership, pk: int, *, level: Level = "read") -> LicenseKey:
    """The vendor's license key (any product of theirs), or 404; its product's vendor is the
    membership's (no query to read it again)."""
    check_level(membership, level)
    key = _get(
        LicenseKey.objects.for_vendor(membership.vendor).select_related("product", "customer"),
        pk=pk,
    )
    key.product.vendor = membership.vendor
    return key


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


def access_signing_key(membership: Membership, pk: int, *, level: Level = "owner"
                       ) -> SigningKey:
    """A listed (not retired) signing key of the vendor, or 404. Only owners manage keys."""
    check_level(membership, level)
    return _get(SigningKey.objects.for_vendor(membership.vendor).listed(), pk=pk)


# --- Customer portal ---------------------------------------------------------------------

SESSION_CUSTOMER_KEY = "customer_membership_id"
CustomerLevel = Literal["read", "deactivate"]


# Whether a person also belongs to a customer, and resells for a vendor: the header's links to
# those portals, on every page. Written out as one statement: the ORM took longer to build the
# two membership queries (joins of three tables each) than the page took to render its own.
_OTHER_PORTALS_SQL = (
    f"SELECT EXISTS (SELECT 1 FROM {CustomerMembership._meta.db_table} "  # noqa: S608
    "WHERE user_id = %s), "
    f"EXISTS (SELECT 1 FROM {Reseller._meta.db_table} "
    "WHERE user_id = %s AND accepted_at IS NOT NULL)")


def other_portals_of(request: HttpRequest) -> tuple[bool, bool]:
    """(belongs to a customer, resells for a vendor) for the request's logged-in person, read
    once per request; (False, False) for anyone else."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False, False
    if not hasattr(request, "_other_portals"):
        with connection.cursor() as cursor:
            cursor.execute(_OTHER_PORTALS_SQL, [user.pk, user.pk])
            customer, reseller = cursor.fetchone()
        request._other_portals = (bool(customer), bool(reseller))  # type: ignore[attr-defined]
    return request._other_portals  # type: ignore[attr-defined]


def customer_memberships_of(user: User) -> list[CustomerMembership]:
    return list(CustomerMembership.objects.filter(user=user)
                .select_related("customer__vendor").order_by("created"))


def current_customer_membership(request: HttpRequest) -> CustomerMembership | None:
    """The customer the user works for in the portal: chosen in the session, else the first."""
    if not request.user.is_authenticated:
        return None
    memberships = CustomerMembership.objects.filter(user=request.user).select_related(
        "customer__vendor")
    chosen = request.session.get(SESSION_CUSTOMER_KEY)
    membership = memberships.filter(pk=chosen).first() if chosen else None
    return membership or memberships.order_by("created").first()


def choose_customer(request: HttpRequest, membership_id: int) -> CustomerMembership:
    if not request.user.is_authenticated:  # every caller has a logged-in user
        raise Http404
    membership = CustomerMembership.objects.filter(user=request.user, pk=membership_id).first()
    if membership is None:
        raise Http404
    request.session[SESSION_CUSTOMER_KEY] = membership.pk
    return membership


def check_customer_level(membership: CustomerMembership, level: CustomerLevel) -> None:
    """Deactivating devices needs the permission on the customer and on the person."""
    if level == "deactivate" and not membership.may_deactivate:
        raise PermissionDenied("You may not manage activations for this customer.")


def customer_member(level: CustomerLevel = "read"
                    ) -> Callable[[Callable[Concatenate[CustomerRequest, P], HttpResponseBase]],
                                  CheckedView[P]]:
    """Decorator: a logged-in customer-portal user with at least `level`. Sets
    request.customer_membership and request.customer."""

    def decorator(view: Callable[Concatenate[CustomerRequest, P], HttpResponseBase]
                  ) -> CheckedView[P]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs
                    ) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = current_customer_membership(request)
            if membership is None:
                raise PermissionDenied("You are not a user of any customer portal.")
            check_customer_level(membership, level)
            # The request becomes what CustomerRequest describes: the user is logged in above.
            checked = cast(CustomerRequest, request)
            checked.customer_membership = membership
            checked.customer = membership.customer
            return view(checked, *args, **kwargs)

        return _declare(wrapped, level)

    return decorator


def access_customer_key(membership: CustomerMembership, pk: int) -> LicenseKey:
    """One of the customer's keys, or 404 (another customer's and another vendor's alike)."""
    return _get(LicenseKey.objects.filter(customer=membership.customer)
                .select_related("product", "customer"), pk=pk)


def access_customer_device(membership: CustomerMembership, key: LicenseKey, pk: int
                           ) -> Activation:
    """A node-locked device on a key already reached through `access_customer_key`, or 404.
    Floating seats are left out: they are checked out online and expire, so no offline file
    is made for them."""
    assert key.customer_id == membership.customer_id
    return _get(Activation.objects.filter(key=key, floating=False), pk=pk)


def access_customer_activation_ids(membership: CustomerMembership, ids: list[int], *,
                                   level: CustomerLevel = "deactivate") -> list[int]:
    """The ids among `ids` that are devices on the customer's keys (others are ignored)."""
    check_customer_level(membership, level)
    return list(Activation.objects.filter(pk__in=ids, key__customer=membership.customer)
                .values_list("pk", flat=True))


def access_customer_member(membership: Membership, pk: int, *, level: Level = "write"
                           ) -> CustomerMembership:
    """A portal user of one of the vendor's customers (vendor side), or 404."""
    check_level(membership, level)
    return _get(CustomerMembership.objects.filter(customer__vendor=membership.vendor)
                .select_related("user", "customer"), pk=pk)


def access_portal_link(membership: Membership, pk: int, *, level: Level = "write"
                       ) -> PortalLink:
    """A portal link of the vendor, or 404."""
    check_level(membership, level)
    return _get(PortalLink.objects.filter(vendor=membership.vendor), pk=pk)


# --- Reseller portal ---------------------------------------------------------------------

SESSION_RESELLER_KEY = "reseller_id"


def resellerships_of(user: User) -> list[Reseller]:
    return list(Reseller.objects.filter(user=user, accepted_at__isnull=False)
                .select_related("vendor").order_by("created"))


def current_reseller(request: HttpRequest) -> Reseller | None:
    """The vendor the person resells for: chosen in the session, else the first."""
    if not request.user.is_authenticated:
        return None
    resellers = Reseller.objects.filter(user=request.user, accepted_at__isnull=False
                                        ).select_related("vendor")
    chosen = request.session.get(SESSION_RESELLER_KEY)
    reseller = resellers.filter(pk=chosen).first() if chosen else None
    return reseller or resellers.order_by("created").first()


def choose_reseller(request: HttpRequest, reseller_id: int) -> Reseller:
    if not request.user.is_authenticated:  # every caller has a logged-in user
        raise Http404
    reseller = Reseller.objects.filter(user=request.user, accepted_at__isnull=False,
                                       pk=reseller_id).first()
    if reseller is None:
        raise Http404
    request.session[SESSION_RESELLER_KEY] = reseller.pk
    return reseller


def reseller_member(view: Callable[Concatenate[ResellerRequest, P], HttpResponseBase]
                    ) -> CheckedView[P]:
    """Decorator: a logged-in reseller. Sets request.reseller (and its vendor)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        reseller = current_reseller(request)
        if reseller is None:
            raise PermissionDenied("You are not a reseller of any vendor.")
        # The request becomes what ResellerRequest describes: the user is logged in above.
        checked = cast(ResellerRequest, request)
        checked.reseller = reseller
        return view(checked, *args, **kwargs)

    return _declare(wrapped, "reseller")


def access_reseller_right(reseller: Reseller, pk: int) -> IssuanceRight:
    """One of the reseller's issuance rights, or 404."""
    return _get(IssuanceRight.objects.filter(reseller=reseller)
                .select_related("template__product"), pk=pk)


def access_reseller_customer(reseller: Reseller, pk: int) -> Customer:
    """A customer the reseller created, or one shared with the vendor's resellers; else 404."""
    return _get(Customer.objects.filter(vendor_id=reseller.vendor_id).filter(
        Q(reseller=reseller) | Q(shared_with_resellers=True)), pk=pk)


def reseller_customers(reseller: Reseller) -> QuerySet[Customer]:
    return Customer.objects.filter(vendor_id=reseller.vendor_id).filter(
        Q(reseller=reseller) | Q(shared_with_resellers=True))


def access_reseller_key(reseller: Reseller, pk: int) -> LicenseKey:
    """A key the reseller issued, or 404."""
    return _get(LicenseKey.objects.filter(reseller=reseller)
                .select_related("product", "customer"), pk=pk)


def access_reseller(membership: Membership, pk: int, *, level: Level = "read") -> Reseller:
    """One of the vendor's resellers (vendor side), or 404."""
    check_level(membership, level)
    return _get(Reseller.objects.for_vendor(membership.vendor), pk=pk)


def access_template(membership: Membership, pk: int, *, level: Level = "read"
                    ) -> LicenseTemplate:
    """One of the vendor's license templates, or 404."""
    check_level(membership, level)
    return _get(LicenseTemplate.objects.for_vendor(membership.vendor)
                .select_related("product"), pk=pk)


def access_right(membership: Membership, pk: int, *, level: Level = "read") -> IssuanceRight:
    """An issuance right of one of the vendor's resellers, or 404."""
    check_level(membership, level)
    return _get(IssuanceRight.objects.filter(reseller__vendor=membership.vendor)
                .select_related("reseller", "template"), pk=pk)


# --- Anomaly detection (apps.anomalies) ----------------------------------------------------

from apps.anomalies.models import Finding  # noqa: E402


def access_finding(membership: Membership, pk: int, *, level: Level = "read") -> Finding:
    """One of the vendor's anomaly findings, or 404 (another vendor's looks missing). Acting on
    a finding (mark as expected, block its key) needs write: read-only members get 403."""
    check_level(membership, level)
    return _get(Finding.objects.for_vendor(membership.vendor), pk=pk)


# --- License-server configurations (apps.license_server) ---------------------------------

from apps.license_server.models import LicenseServerConfiguration  # noqa: E402


def access_license_server_configuration(membership: Membership, pk: int, *,
                                        level: Level = "read") -> LicenseServerConfiguration:
    """One of the vendor's license-server configurations, or 404 (another vendor's looks
    missing). Issuing and revoking need write: read-only members get 403."""
    check_level(membership, level)
    return _get(LicenseServerConfiguration.objects.for_vendor(membership.vendor)
                .select_related("customer", "created_by"), pk=pk)


# --- Users of a vendor's application (userauth) --------------------------------------------

from apps.licensing.models import AppUser  # noqa: E402


def access_app_user(membership: Membership, pk: int, *, level: Level = "write") -> AppUser:
    """A user of the vendor's application (vendor side), or 404."""
    check_level(membership, level)
    return _get(AppUser.objects.for_vendor(membership.vendor).select_related("customer"), pk=pk)


def access_customer_app_user(membership: CustomerMembership, pk: int, *,
                             level: CustomerLevel = "deactivate") -> AppUser:
    """A user of the vendor's application associated with the membership's customer, or 404
    (another customer's and another vendor's alike). Removing one needs the permission to
    manage activations: what the customer's portal admin holds."""
    check_customer_level(membership, level)
    return _get(AppUser.objects.filter(customer=membership.customer), pk=pk)


# --- Broadcast messages (message/*) ---------------------------------------------------------

from apps.licensing.models import Message  # noqa: E402


def access_message(membership: Membership, pk: int, *, level: Level = "read") -> Message:
    """One of the vendor's broadcast messages, or 404 (another vendor's looks missing).
    Removing one needs write: read-only members get 403."""
    check_level(membership, level)
    return _get(Message.objects.for_vendor(membership.vendor), pk=pk)


# --- Applications a customer's person authorized (user account authorization) ---------------

from apps.licensing.models import AppAuthorization  # noqa: E402


def access_authorizing_membership(request: HttpRequest, token_id: int
                                  ) -> tuple[AccessToken, CustomerMembership] | None:
    """For /User/AuthorizeApp/: the vendor's active token `token_id` (TokenId) and the signed-in
    person's membership of a customer of that vendor (the one chosen in the portal when it is
    of that vendor). None for another vendor's token, a revoked or unknown one, or a vendor the
    person is no customer of: one answer, so that token ids reveal nothing."""
    if not request.user.is_authenticated:
        return None
    token = AccessToken.objects.select_related("vendor").filter(
        pk=token_id, revoked_at__isnull=True).first()
    if token is None:
        return None
    memberships = CustomerMembership.objects.filter(
        user=request.user, customer__vendor_id=token.vendor_id).select_related("customer__vendor")
    chosen = request.session.get(SESSION_CUSTOMER_KEY)
    membership = (memberships.filter(pk=chosen).first() if chosen else None) or \
        memberships.order_by("created", "id").first()
    return None if membership is None else (token, membership)


def access_customer_app_authorization(membership: CustomerMembership, pk: int
                                      ) -> AppAuthorization:
    """An application authorized for the membership's customer, or 404 (another customer's and
    another vendor's alike). Any person of the customer may revoke one: it only takes away."""
    return _get(AppAuthorization.objects.for_customer(membership.customer), pk=pk)


# --- Payments (apps.commerce) -----------------------------------------------------------------

from apps.commerce.models import PaymentForm, PriceMapping  # noqa: E402


def access_payment_form(membership: Membership, pk: int, *, level: Level = "read"
                        ) -> PaymentForm:
    """One of the vendor's payment forms, or 404 (another vendor's looks missing). Changing
    one needs write: read-only members get 403."""
    check_level(membership, level)
    return _get(PaymentForm.objects.filter(vendor=membership.vendor)
                .select_related("template__product"), pk=pk)


def access_price_mapping(membership: Membership, pk: int, *, level: Level = "write"
                         ) -> PriceMapping:
    """One of the vendor's subscription prices (a Stripe price mapped to a template), or
    404. Removing one needs write."""
    check_level(membership, level)
    return _get(PriceMapping.objects.filter(vendor=membership.vendor)
                .select_related("template__product", "vendor"), pk=pk)


# --- Webhooks (apps.webhooks) -----------------------------------------------------------------

from apps.webhooks.models import WebhookDelivery, WebhookEndpoint  # noqa: E402


def access_webhook_endpoint(membership: Membership, pk: int, *, level: Level = "read"
                            ) -> WebhookEndpoint:
    """One of the vendor's webhook endpoints, or 404 (another vendor's looks missing).
    Changing one needs write: read-only members get 403."""
    check_level(membership, level)
    return _get(WebhookEndpoint.objects.filter(vendor=membership.vendor)
                .select_related("vendor"), pk=pk)


def access_webhook_delivery(membership: Membership, endpoint: WebhookEndpoint, pk: int, *,
                            level: Level = "write") -> WebhookDelivery:
    """A delivery to `endpoint` (itself from access_webhook_endpoint), or 404: a delivery
    of another endpoint, even of the same vendor, is missing here."""
    check_level(membership, level)
    return _get(WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event"),
                pk=pk)


# --- SDK licensing (apps.sdk_licensing) ------------------------------------------------------

from apps.sdk_licensing.models import DeveloperMachine  # noqa: E402


def access_developer_machine(membership: Membership, product: Product, pk: int, *,
                             level: Level = "read") -> DeveloperMachine:
    """A developer machine of `product` (itself from access_product), or 404: a machine of
    another product, even of the same vendor, is missing here. Revoking one or allowing it
    again needs write: read-only members get 403."""
    check_level(membership, level)
    assert product.vendor_id == membership.vendor_id
    return _get(DeveloperMachine.objects.for_vendor(membership.vendor)
                .filter(product=product).select_related("product"), pk=pk)
