"""reseller/* methods: AddReseller, EditReseller, RemoveReseller, GetResellers.

Sources: app.cryptolens.io/docs/api/v3/AddReseller and EditReseller (parameters, limits,
"Reseller could not be found.", {"resellerId":8,...}); the Reseller object of cryptolens-dotnet
LicenseRelated/Reseller.cs (Id, InviteId, ResellerUserId, Created, Name, Url, Email, Phone,
Description), which GetResellers lists in lower camelCase. Resellers are vendor-wide: a key-
or product-locked token is refused (apps.api.access.check_vendor_wide).

A reseller added here has no portal login: the vendor sends the invitation from the reseller's
page in the portal (it needs an e-mail address)."""

from __future__ import annotations

from typing import Any

from apps.accounts.models import Reseller
from apps.core.errors import DomainError
from apps.licensing.license_payload import iso
from apps.licensing.services.resellers import (
    RESELLER_IN_USE,
    reseller_add,
    reseller_remove,
    reseller_update,
)
from apps.usage import states

from .. import access, errors
from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..registry import Param, api_method

NOT_FOUND = "Reseller could not be found."  # EditReseller's reference page
# Parameter -> model field. "Company" is this server's own (Cryptolens' reseller has none).
FIELDS = (("Name", "name"), ("Email", "email"), ("Url", "url"), ("Phone", "phone"),
          ("Description", "description"), ("Company", "company"), ("Metadata", "metadata"))
LENGTH_ERRORS = ("The name cannot be longer than 100 characters.",
                 "The email cannot be longer than 100 characters.",
                 "The url cannot be longer than 500 characters.",
                 "The phone cannot be longer than 100 characters.",
                 "The description cannot be longer than 500 characters.",
                 "The metadata cannot be longer than 10000 characters.")
FIELD_PARAMS = (
    Param("Name", "string", "At most 100 characters (without one, the e-mail address or "
          "company names the reseller)."),
    Param("Email", "string", "At most 100 characters; where the portal invitation goes."),
    Param("Url", "string", "The reseller's website, http:// or https://; at most 500 "
          "characters."),
    Param("Phone", "string", "At most 100 characters."),
    Param("Description", "string", "At most 500 characters."),
    Param("Company", "string", "At most 100 characters (this server's own field)."),
    Param("Metadata", "string", "Any text your own systems keep with the reseller (often "
          "JSON); at most 10,000 characters."),
)


def _values(ctx: ApiContext) -> dict[str, str]:
    """The fields given (left out, empty or "None": not given)."""
    return {field: ctx.params.str(name, max_length=20_000)
            for name, field in FIELDS if ctx.params.has(name)}


def _reseller(ctx: ApiContext) -> Reseller:
    reseller_id = ctx.params.int("ResellerId", 0)
    found = Reseller.objects.filter(vendor_id=ctx.vendor.pk, pk=reseller_id).first() \
        if reseller_id else None
    if found is None:
        raise ApiError(NOT_FOUND)
    return found


def reseller_json(reseller: Reseller) -> dict[str, Any]:
    """The Reseller object, as keys carry it (ModelVersion 3), in lower camelCase."""
    return {"id": reseller.pk, "inviteId": reseller.pk,
            "resellerUserId": reseller.user_id or 0, "created": iso(reseller.created),
            "name": reseller.name, "url": reseller.url, "email": reseller.email,
            "phone": reseller.phone, "description": reseller.description,
            "company": reseller.company, "metadata": reseller.metadata}


def _run(ctx: ApiContext, change) -> Any:
    access.check_vendor_wide(ctx.token)
    ctx.record.state = states.OTHER_FAILED
    try:
        outcome = change()
    except DomainError as exc:
        raise ApiError(exc.message) from None
    ctx.record.state = states.OTHER_OK
    return outcome


@api_method(
    "reseller.AddReseller", reach=Reach.VENDOR,
    summary="Add a reseller. It has no portal login until you send it the invitation from "
            "its page in the portal. Tokens with a product or key lock are refused.",
    params=FIELD_PARAMS,
    returns="resellerId",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            *LENGTH_ERRORS, "Give the reseller a name.",
            "The email is not a valid e-mail address.",
            "The url must be a web address (http:// or https://)."),
)
def add_reseller(ctx: ApiContext) -> dict[str, Any]:
    reseller = _run(ctx, lambda: reseller_add(vendor=ctx.vendor, actor=ctx.actor,
                                              **_values(ctx)))
    return {"resellerId": reseller.pk}


@api_method(
    "reseller.EditReseller", reach=Reach.VENDOR,
    summary="Change a reseller: only the fields given change. Tokens with a product or key "
            "lock are refused.",
    params=(Param("ResellerId", "int", "The reseller."), *FIELD_PARAMS),
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            NOT_FOUND, *LENGTH_ERRORS, "The email is not a valid e-mail address.",
            "The url must be a web address (http:// or https://)."),
)
def edit_reseller(ctx: ApiContext) -> dict[str, Any]:
    def change() -> None:
        reseller = _reseller(ctx)
        values = _values(ctx)
        if values:
            reseller_update(reseller=reseller, actor=ctx.actor, **values)

    _run(ctx, change)
    return {}


@api_method(
    "reseller.RemoveReseller", reach=Reach.VENDOR,
    summary="Remove a reseller that is in use nowhere. One that holds or issued keys, has "
            "issuance rights or customers is refused (as in Cryptolens: resellers in use "
            "cannot be removed). Tokens with a product or key lock are refused.",
    params=(Param("ResellerId", "int", "The reseller."),),
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            NOT_FOUND, RESELLER_IN_USE.format(uses="2 license keys, 1 issuance right")),
)
def remove_reseller(ctx: ApiContext) -> dict[str, Any]:
    _run(ctx, lambda: reseller_remove(reseller=_reseller(ctx), actor=ctx.actor))
    return {}


@api_method(
    "reseller.GetResellers", reach=Reach.VENDOR,
    summary="List the vendor's resellers, by name. Tokens with a product or key lock are "
            "refused.",
    returns="resellers ({id, inviteId, resellerUserId (0 until the invitation is accepted), "
            "created, name, url, email, phone, description, company, metadata})",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED),
)
def get_resellers(ctx: ApiContext) -> dict[str, Any]:
    access.check_vendor_wide(ctx.token)
    return {"resellers": [reseller_json(r) for r in
                          Reseller.objects.filter(vendor_id=ctx.vendor.pk).order_by("name", "id")]}
