"""Pieces shared by the method modules."""

from __future__ import annotations

from typing import Any

from apps.licensing import fastpath, license_payload
from apps.licensing.license_payload import (
    HIDE_ACTIVATED_MACHINES,
    HIDE_ALLOWED_MACHINES,
    HIDE_CUSTOMER,
    HIDE_DATA_OBJECTS,
    HIDE_GLOBAL_ID,
    HIDE_ID,
    HIDE_KEY,
    HIDE_MAX_NO_OF_MACHINES,
    HIDE_NOTES,
    LicenseView,
    basic_key,
)
from apps.licensing.models import AccessToken, Activation, Customer, LicenseKey

from .. import access
from ..context import ApiContext
from ..registry import Param

P_PRODUCT = Param("ProductId", "int", "Id of the product (shown on the product's page).")
P_KEY = Param("Key", "string", "The license key string, e.g. MPDWY-PQAOW-FKSCH-SGAAU.")
P_SIGN = Param("Sign", "bool", "Sign the returned license key.", "false")
P_SIGN_METHOD = Param("SignMethod", "int", "0 (LinqSign, .NET object) or 1 (StringSign, "
                      "base64 JSON signed with RSA-SHA256).", "0")
P_FIELDS = Param("FieldsToReturn", "int", "Bit mask of fields to hide: ID 2, Key 4, Notes 8, "
                 "GlobalId 16, Customer 32, ActivatedMachines 64, AllowedMachines 128, "
                 "MaxNoOfMachines 256, DataObjects 512.", "0")
P_METADATA = Param("Metadata", "bool", "Add a signed metadata object (license status, counts).",
                   "false")
P_MODEL_VERSION = Param("ModelVersion", "int", "Shape of machine objects: 1 Mid/IP/Time, "
                        "2 + FriendlyName, 3 + FloatingExpires and Reseller.", "1")
P_FLOATING = Param("FloatingTimeInterval", "int", "Seconds; > 0 makes the activation floating.",
                   "0")


def license_response(ctx: ApiContext, key: LicenseKey, current: Activation | None, *,
                     floating_interval: int = 0) -> dict[str, Any]:
    """licenseKey (+ signature) and optional metadata, as Activate and GetKey return them."""
    params = ctx.params
    sign = params.bool("Sign", False)
    sign_method = params.sign_method()
    view = LicenseView(
        key=key,
        activations=list(key.activations.all()),
        current=current,
        model_version=params.int("ModelVersion", 1, minimum=-1000, maximum=1000),
        fields_to_return=fields_hidden(ctx, params.int("FieldsToReturn", 0, minimum=0,
                                                        maximum=2**31)),
    )
    view.model_version = min(max(view.model_version, 1), 3)
    signing_key = ctx.vendor.signing_key
    if sign_method == 1:
        body: dict[str, Any] = license_payload.string_sign(view, signing_key)
        if not sign:
            body["signature"] = ""
    elif sign:
        body = license_payload.linq_sign(view, signing_key)
    else:
        body = {"licenseKey": license_payload.linq_object(view) | {"signature": None}}
    if params.bool("Metadata", False):
        body["metadata"] = license_payload.metadata(view, signing_key,
                                                    floating_interval=floating_interval)
    return body


def fields_hidden(ctx: ApiContext, requested: int = 0) -> int:
    """The FieldsToReturn bits an answer hides: those the call asks to hide and, always, those
    of the token's feature lock, which Cryptolens "prioritizes higher than the fieldsToReturn
    parameter" (.NET XML doc on Key.Activate; wire reference §1.1). Every license answer of a
    token reads this: Activate and GetKey (license_response, the fast path included) and the
    listings (listed_key)."""
    return requested | ctx.token.fields_hidden


# The camelCase names of the FieldsToReturn fields in listed keys (basic_key).
LISTED_FIELDS = {
    HIDE_ID: "id", HIDE_KEY: "key", HIDE_NOTES: "notes", HIDE_GLOBAL_ID: "globalId",
    HIDE_CUSTOMER: "customer", HIDE_ACTIVATED_MACHINES: "activatedMachines",
    HIDE_ALLOWED_MACHINES: "allowedMachines", HIDE_MAX_NO_OF_MACHINES: "maxNoOfMachines",
    HIDE_DATA_OBJECTS: "dataObjects",
}


def listed_key(token: AccessToken, key: LicenseKey, *, detailed: bool = True) -> dict[str, Any]:
    """A key as listings show it (GetKeys, GetCustomerLicenses*, userauth/Login), without the
    fields the token's feature lock hides: they stay, as null (the device list as an empty
    list: there is no calling device), as in signed answers."""
    item = basic_key(key, detailed=detailed)
    hidden = token.fields_hidden
    for bit, name in LISTED_FIELDS.items():
        if hidden & bit and name in item:
            item[name] = [] if bit == HIDE_ACTIVATED_MACHINES else None
    return item


def reread(key: LicenseKey) -> LicenseKey:
    """The key as it is now, with what a signed answer reads (after a change): on PostgreSQL
    in one statement (fastpath.load), else through the ORM."""
    if fastpath.available():
        fresh = fastpath.load(key.pk)
    else:
        fresh = (LicenseKey.objects.select_related("product", "customer", "reseller")
                 .prefetch_related("data_objects", "activations").get(pk=key.pk))
    fresh.product.vendor = key.product.vendor
    return fresh


def customer_keys(ctx: ApiContext, customer: Customer | None) -> list[LicenseKey]:
    """A customer's keys as customer/GetCustomerLicenses lists them (by product and serial),
    within the token's locks; [] for no customer or one outside the locks. Shared by
    GetCustomerLicenses(BySecret) and userauth/Login, whose answer is "the list of license
    keys that belong to the user"."""
    customer = access.customer(ctx.token, customer)
    if customer is None:
        return []
    return list(access.keys(ctx.token, customer.keys.select_related(
        "customer", "product", "reseller").prefetch_related("activations", "data_objects")
        .order_by("product_id", "serial")))


def customer_license_keys(ctx: ApiContext, customer: Customer | None, *,
                          detailed: bool) -> list[dict[str, Any]]:
    """customer_keys, unsigned, as listed (the token's hidden fields left out)."""
    return [listed_key(ctx.token, k, detailed=detailed) for k in customer_keys(ctx, customer)]
