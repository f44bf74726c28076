"""customer/* methods."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from apps.licensing.license_payload import basic_key
from apps.licensing.models import Customer
from apps.licensing.services.catalog import customer_for_secret
from apps.licensing.services.issuing import NewCustomer, customer_add
from apps.usage import states

from .. import access, errors
from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..registry import Param, api_method


def new_customer_from_params(ctx: ApiContext, *, reuse_by_email: bool = False
                             ) -> NewCustomer:
    """The customer that Name/Email/CompanyName/Notes/AllowActivationManagement describe."""
    params = ctx.params
    return NewCustomer(
        name=params.str("Name", max_length=100), email=params.str("Email", max_length=100),
        company_name=params.str("CompanyName", max_length=100),
        notes=params.str("Notes", max_length=1000),
        allow_activation_management=params.bool("AllowActivationManagement", False),
        reuse_by_email=reuse_by_email)


def portal_link(ctx: ApiContext, token: str | None) -> str:
    """The address of a customer-portal invitation whose token was just made, or ""."""
    if not token:
        return ""
    return ctx.request.build_absolute_uri(
        reverse("customer_portal:join", kwargs={"token": token}))


@api_method(
    "customer.AddCustomer", reach=Reach.VENDOR,
    summary="Add a customer. The customer secret (and the portal link) are returned once; "
            "only their digests are stored.",
    params=(Param("Name", "string", "At most 100 characters."),
            Param("Email", "string", "At most 100 characters."),
            Param("CompanyName", "string", "At most 100 characters."),
            Param("Notes", "string", "At most 1000 characters."),
            Param("EnableCustomerAssociation", "bool", "Return portalLink: an invitation "
                  "that makes whoever opens it a customer-portal user of this customer.",
                  "false"),
            Param("AllowActivationManagement", "bool", "The customer's portal users may "
                  "deactivate devices (the portalLink grants it to whoever joins).", "false")),
    returns="customerId, secret, portalLink (\"\" without EnableCustomerAssociation)",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT),
)
def add_customer(ctx: ApiContext) -> dict[str, Any]:
    added = customer_add(vendor=ctx.vendor, actor=ctx.actor,
                         details=new_customer_from_params(ctx),
                         portal_invitation=ctx.params.bool("EnableCustomerAssociation", False))
    ctx.record.state = states.OTHER_OK
    return {"customerId": added.customer.pk, "secret": added.secret or "",
            "portalLink": portal_link(ctx, added.portal_token)}


def _licenses(ctx: ApiContext, customer: Customer) -> dict[str, Any]:
    detailed = ctx.params.bool("Detailed", False)
    keys = access.keys(ctx.token, customer.keys.select_related("customer").prefetch_related(
        "activations", "data_objects").order_by("product_id", "serial"))
    return {"licenseKeys": [basic_key(k, detailed=detailed) for k in keys]}


P_DETAILED = Param("Detailed", "bool", "Full key objects rather than basic ones.", "false")


@api_method(
    "customer.GetCustomerLicenses", reach=Reach.LISTING,
    summary="List a customer's keys (unsigned).",
    params=(Param("CustomerId", "int", "The customer."), P_DETAILED),
    returns="licenseKeys",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.CUSTOMER_NOT_FOUND),
)
def get_customer_licenses(ctx: ApiContext) -> dict[str, Any]:
    customer = access.customer(ctx.token, Customer.objects.filter(
        vendor=ctx.vendor, pk=ctx.params.int("CustomerId", 0)).first())
    if customer is None:
        raise ApiError(errors.CUSTOMER_NOT_FOUND)
    return _licenses(ctx, customer)


@api_method(
    "customer.GetCustomerLicensesBySecret", reach=Reach.LISTING,
    summary="List the keys of the customer whose secret is given (unsigned): what your "
            "software can call with a secret the customer typed in.",
    params=(Param("Secret", "string", "The customer secret AddCustomer returned."),
            P_DETAILED),
    returns="licenseKeys",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.CUSTOMER_NOT_FOUND),
)
def get_customer_licenses_by_secret(ctx: ApiContext) -> dict[str, Any]:
    customer = access.customer(ctx.token, customer_for_secret(
        vendor=ctx.vendor, secret=ctx.params.str("Secret").strip()))
    if customer is None:
        raise ApiError(errors.CUSTOMER_NOT_FOUND)
    return _licenses(ctx, customer)
