"""Reads for the license-server pages."""

from __future__ import annotations

from apps.licensing import signing
from apps.licensing.models import SigningKey

from .models import LicenseServerConfiguration


def vendor_public_key_xml(configuration: LicenseServerConfiguration) -> str:
    """The vendor public key that signed the configuration (the key active when it was
    issued), as RSAKeyValue XML: what the customer pins in the license server's
    `vendor_public_key`, which checks the configuration and license files with it alone."""
    key = (SigningKey.objects.for_vendor(configuration.vendor)
           .filter(created__lte=configuration.created).order_by("-created", "-id").first()
           or configuration.vendor.signing_key)
    return signing.public_key_xml(key.public_key_pem)
