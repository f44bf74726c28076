"""customer/* methods: AddCustomer, EditCustomer, RemoveCustomer, GetCustomers and the
customer's licenses (by id or by secret).

Sources: app.cryptolens.io/docs/api/v3/{AddCustomer,EditCustomer,RemoveCustomer,GetCustomers,
GetCustomerLicenses} and model/Metadata; cryptolens-dotnet Models/WebAPIModels.cs
(EditCustomerModel: every field but CustomerId optional, "It will only change the properties
that you specify"); cryptolens-python licensing/methods.py (Customer.*)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse

from apps.core.errors import DomainError
from apps.core.hashing import sha256_hex
from apps.licensing.license_payload import LicenseView, iso, metadata
from apps.licensing.models import Customer
from apps.licensing.services.catalog import MAX_DEVICE_CAP, customer_for_secret
from apps.licensing.services.deletion import customer_delete
from apps.licensing.services.issuing import NewCustomer, customer_add, customer_edit
from apps.usage import states

from .. import access, errors
from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..registry import Param, api_method
from .common import customer_keys, listed_key

# EditCustomer's and RemoveCustomer's own words for a customer that is not there (their
# reference pages); GetCustomerLicenses says errors.CUSTOMER_NOT_FOUND.
EDIT_NOT_FOUND = "Customer could not be found."
REMOVE_NOT_FOUND = "Customer does not exist."
# EditCustomer's length errors (reference page). The notes one is not on the page (cut off
# there): same pattern, inferred.
TOO_LONG = {
    "Name": "The name of the customer is limited to 100 characters.",
    "Email": "The email of the customer is limited to 100 characters.",
    "CompanyName": "The company name of the customer is limited to 100 characters.",
    "Notes": "The notes of the customer is limited to 1000 characters.",
}
P_ALLOW_MULTIPLE = Param("AllowMultipleUserAssociation", "bool", "Several user accounts "
                         "(userauth/Register, Associate) may belong to this customer; "
                         "otherwise at most one.", "false")


def new_customer_from_params(ctx: ApiContext, *, reuse_by_email: bool = False
                             ) -> NewCustomer:
    """The customer that Name/Email/CompanyName/Notes/AllowActivationManagement/
    AllowMultipleUserAssociation describe."""
    params = ctx.params
    return NewCustomer(
        name=params.str("Name", max_length=100), email=params.str("Email", max_length=100),
        company_name=params.str("CompanyName", max_length=100),
        notes=params.str("Notes", max_length=1000),
        allow_activation_management=params.bool("AllowActivationManagement", False),
        allow_multiple_user_association=params.bool("AllowMultipleUserAssociation", False),
        reuse_by_email=reuse_by_email)


def portal_link(ctx: ApiContext, token: str | None) -> str:
    """The address of a customer-portal invitation whose token was just made, or ""."""
    if not token:
        return ""
    return ctx.request.build_absolute_uri(
        reverse("customer_portal:join", kwargs={"token": token}))


def customer_json(customer: Customer) -> dict[str, Any]:
    """Cryptolens' Customer object (GetCustomers' example; .NET SKM.V3.Customer)."""
    return {"id": customer.pk, "name": customer.name, "email": customer.email,
            "companyName": customer.company_name, "created": iso(customer.created)}


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
                  "deactivate devices (the portalLink grants it to whoever joins).", "false"),
            P_ALLOW_MULTIPLE),
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


def _changes(ctx: ApiContext) -> dict[str, Any]:
    """The fields EditCustomer was given. A parameter left out, empty or the Python client's
    "None" leaves its field as it is (ASP.NET binds an empty string as null too)."""
    params = ctx.params
    changes: dict[str, Any] = {}
    for name, field, limit in (("Name", "name", 100), ("Email", "email", 100),
                               ("CompanyName", "company_name", 100), ("Notes", "notes", 1000)):
        if params.has(name):
            changes[field] = params.str(name, max_length=limit, message=TOO_LONG[name])
    for name, field in (("AllowActivationManagement", "allow_activation_management"),
                        ("AllowMultipleUserAssociation", "allow_multiple_user_association")):
        if params.has(name):
            changes[field] = params.bool(name)
    if params.has("MaxNoOfDevices"):
        changes["max_no_of_devices"] = params.int("MaxNoOfDevices", minimum=0,
                                                  maximum=MAX_DEVICE_CAP)
    return changes


@api_method(
    "customer.EditCustomer", reach=Reach.CUSTOMER,
    summary="Change a customer. Only the fields given change; the others stay as they are. "
            "Secret=true gives the customer a new secret (the old one stops working); "
            "EnableCustomerAssociation=true returns a new portal invitation link. A locked "
            "token reaches only customers all of whose keys lie within its locks (a key lock: "
            "its key's customer, if it has no other key; a product lock: customers whose keys "
            "are all of that product).",
    params=(Param("CustomerId", "int", "The customer."),
            Param("Name", "string", "At most 100 characters."),
            Param("Email", "string", "At most 100 characters."),
            Param("CompanyName", "string", "At most 100 characters."),
            Param("Notes", "string", "At most 1000 characters."),
            Param("EnableCustomerAssociation", "bool", "Return portalLink: a new invitation "
                  "to the customer portal (links made before keep working).", "false"),
            Param("AllowActivationManagement", "bool", "The customer's portal users may "
                  "deactivate devices."),
            P_ALLOW_MULTIPLE,
            Param("MaxNoOfDevices", "int", "Devices allowed across all of the customer's "
                  f"keys; 0 = no cap (at most {MAX_DEVICE_CAP})."),
            Param("Secret", "bool", "Renew the customer secret and return it.", "false")),
    returns="customerId; secret (the new one, when Secret=true: secrets are stored as "
            "digests, so an unchanged one cannot be returned); portalLink (when "
            "EnableCustomerAssociation=true)",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            EDIT_NOT_FOUND, *TOO_LONG.values()),
)
def edit_customer(ctx: ApiContext) -> dict[str, Any]:
    ctx.record.state = states.OTHER_FAILED
    customer = access.customer_to_change(ctx.token, ctx.params.int("CustomerId", 0))
    if customer is None:
        raise ApiError(EDIT_NOT_FOUND)
    try:
        edited = customer_edit(
            customer=customer, actor=ctx.actor, changes=_changes(ctx),
            new_secret=ctx.params.bool("Secret", False),
            portal_invitation=ctx.params.bool("EnableCustomerAssociation", False))
    except DomainError as exc:
        raise ApiError(exc.message) from None
    ctx.record.state = states.OTHER_OK
    body: dict[str, Any] = {"customerId": customer.pk}
    if edited.secret is not None:
        body["secret"] = edited.secret
    if edited.portal_token:
        body["portalLink"] = portal_link(ctx, edited.portal_token)
    return body


@api_method(
    "customer.RemoveCustomer", reach=Reach.CUSTOMER,
    summary="Remove a customer. Its keys stay, without a customer; its portal users lose "
            "access and its invitation links stop working. Locks as for EditCustomer.",
    params=(Param("CustomerId", "int", "The customer."),),
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            REMOVE_NOT_FOUND),
)
def remove_customer(ctx: ApiContext) -> dict[str, Any]:
    ctx.record.state = states.OTHER_FAILED
    customer = access.customer_to_change(ctx.token, ctx.params.int("CustomerId", 0))
    if customer is None:
        raise ApiError(REMOVE_NOT_FOUND)
    try:
        customer_delete(customer=customer, actor=ctx.actor)
    except DomainError as exc:
        raise ApiError(exc.message) from None
    ctx.record.state = states.OTHER_OK
    return {}


@api_method(
    "customer.GetCustomers", reach=Reach.LISTING,
    summary="List customers, newest first. A key-locked token sees its key's customer only; "
            "a product-locked one the customers whose keys are all of that product.",
    params=(Param("Search", "string", "Customers whose name, e-mail or company contains it "
                  "(any case), or whose secret it is."),
            Param("IncludeIdInSearch", "bool", "A numeric Search matches the id too.",
                  "false"),
            Param("CustomerId", "int", "Only this customer."),
            Param("Limit", "int", "At most this many; 0 = all.", "0"),
            Param("SortByCreatedDescending", "bool", "Accepted; the order is always newest "
                  "first.", "false")),
    returns="customers ({id, name, email, companyName, created}), resellerCustomers and "
            "visibleCustomers (always empty: a token reads its own vendor's customers, "
            "those its resellers added included, under customers)",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT),
)
def get_customers(ctx: ApiContext) -> dict[str, Any]:
    params = ctx.params
    queryset = access.customers(ctx.token)
    customer_id = params.int("CustomerId", 0)
    if customer_id:
        queryset = queryset.filter(pk=customer_id)
    search = params.str("Search", max_length=200).strip()
    if search:
        match = (Q(name__icontains=search) | Q(email__icontains=search)
                 | Q(company_name__icontains=search) | Q(secret_hash=sha256_hex(search)))
        if params.bool("IncludeIdInSearch", False) and search.isdigit() and len(search) < 19:
            match |= Q(pk=int(search))
        queryset = queryset.filter(match)
    queryset = queryset.order_by("-created", "-id")
    limit = params.int("Limit", 0, minimum=0, maximum=2**31)
    if limit:
        queryset = queryset[:limit]
    return {"customers": [customer_json(c) for c in queryset],
            "resellerCustomers": [], "visibleCustomers": []}


def _licenses(ctx: ApiContext, customer: Customer) -> dict[str, Any]:
    detailed = ctx.params.bool("Detailed", False)
    keys = customer_keys(ctx, customer)
    body: dict[str, Any] = {"licenseKeys": [listed_key(ctx.token, k, detailed=detailed)
                                            for k in keys]}
    if ctx.params.bool("Metadata", False):
        # "Includes additional information about each license key, such as number of
        # activated devices" (GetCustomerLicenses page): one Metadata object (model/Metadata)
        # per key, in the order of licenseKeys, signed as GetKey's is.
        signing_key = ctx.vendor.signing_key
        body["metadata"] = [
            metadata(LicenseView(key=k, activations=list(k.activations.all()),
                                 model_version=3), signing_key)
            for k in keys]
    return body


P_DETAILED = Param("Detailed", "bool", "Full key objects rather than basic ones.", "false")
P_CUSTOMER_METADATA = Param("Metadata", "bool", "Add metadata: one object per key, in the "
                            "order of licenseKeys ({activatedMachines, licenseStatus, "
                            "usedFloatingMachines, signature}, as GetKey's).", "false")


@api_method(
    "customer.GetCustomerLicenses", reach=Reach.LISTING,
    summary="List a customer's keys (unsigned).",
    params=(Param("CustomerId", "int", "The customer."), P_DETAILED, P_CUSTOMER_METADATA),
    returns="licenseKeys, metadata (if asked)",
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
            P_DETAILED, P_CUSTOMER_METADATA),
    returns="licenseKeys, metadata (if asked)",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.CUSTOMER_NOT_FOUND),
)
def get_customer_licenses_by_secret(ctx: ApiContext) -> dict[str, Any]:
    customer = access.customer(ctx.token, customer_for_secret(
        vendor=ctx.vendor, secret=ctx.params.str("Secret").strip()))
    if customer is None:
        raise ApiError(errors.CUSTOMER_NOT_FOUND)
    return _licenses(ctx, customer)
