"""Offline license files (.skm): the signed Activate response, saved as the official clients
read it back (Python `LicenseKey.load_from_string`, .NET `LicenseKey.LoadFromFile`, Java and
Node `LoadFromString`)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.utils import timezone

from apps.licensing import license_payload
from apps.licensing.license_payload import LicenseView
from apps.licensing.models import Activation, LicenseKey

STRING_SIGN = "string"  # every client; StringSign, ModelVersion 3
LINQ_SIGN = "linq"  # classic .NET clients; LinqSign object
FORMATS = [(STRING_SIGN, "All clients (StringSign)"),
           (LINQ_SIGN, ".NET, classic protocol (LinqSign)")]


@dataclass(frozen=True)
class LicenseFile:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


def license_file(*, key: LicenseKey, current: Activation | None = None,
                 file_format: str = STRING_SIGN, now: dt.datetime | None = None) -> LicenseFile:
    """The file for `key`, listing every activated device (and `current`, the device the file
    is made for, when it holds no stored seat)."""
    now = now or timezone.now()
    key = (LicenseKey.objects.select_related("product__vendor__signing_key", "customer",
                                             "reseller")
           .prefetch_related("data_objects", "activations").get(pk=key.pk))
    view = LicenseView(key=key, activations=list(key.activations.all()), current=current,
                       model_version=3, sign_date=now)
    signing_key = key.product.vendor.signing_key
    if file_format == LINQ_SIGN:
        body = license_payload.linq_sign(view, signing_key)["licenseKey"]
        text = json.dumps(body, indent=2)
    else:
        body = {**license_payload.string_sign(view, signing_key), "result": 0, "message": ""}
        text = json.dumps(body)
    return LicenseFile(filename=f"ActivationFile{now:%Y%m%d}.skm", content=text.encode())
