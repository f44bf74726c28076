"""Pieces shared by the method modules."""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects

from apps.licensing import license_payload
from apps.licensing.license_payload import LicenseView
from apps.licensing.models import Activation, LicenseKey

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
        fields_to_return=params.int("FieldsToReturn", 0, minimum=0, maximum=2**31),
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


def reload_activations(key: LicenseKey) -> None:
    """Read the key's devices again (one query), keeping the rest of the loaded key: the
    floating heartbeat, the most frequent call of floating clients, changes only seats."""
    cache = getattr(key, "_prefetched_objects_cache", {})
    cache.pop("activations", None)
    prefetch_related_objects([key], "activations")


def prefetch(key: LicenseKey) -> LicenseKey:
    """Reload with what a signed response reads (after a change)."""
    fresh = (LicenseKey.objects.select_related("product", "customer", "reseller")
             .prefetch_related("data_objects", "activations").get(pk=key.pk))
    fresh.product.vendor = key.product.vendor
    return fresh
