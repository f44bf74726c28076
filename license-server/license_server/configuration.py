"""The vendor-issued configuration file: which keys may float offline, until when, and the
license server's own key pair, signed with the vendor's key so it cannot be edited.

File format (JSON):
    {"format": "licensing-portal/license-server-configuration", "version": 1,
     "configuration": "<base64 of the UTF-8 JSON payload>",
     "signature": "<base64 RSASSA-PKCS1-v1_5 / SHA-256 over those payload bytes>"}

Payload (PascalCase like the LicenseKey object, times in Unix seconds):
    Id, Name, VendorId, Customer, IssuedAt, ValidUntil, Portal,
    FloatingKeys: [{ProductId, Key, MaxNoOfMachines}],
    ServerPrivateKey (PKCS#8 PEM), ServerPublicKey (RSAKeyValue XML),
    VendorPublicKey (RSAKeyValue XML), UploadToken.

The signature is checked only with the vendor public key pinned in the license server's own
options (`vendor_public_key`), never with a key read from the file it verifies: whoever can
edit the file could put their own key in it and re-sign it. VendorPublicKey in the payload
only words the error when the file was signed with another key than the pinned one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from . import crypto
from .wire import PREFIX

# The portal writes these files with its own copy of FORMAT, VERSION and PORTAL_REVOKED (the two
# distributions import nothing of each other); the portal's test suite keeps the copies equal.
FORMAT = "licensing-portal/license-server-configuration"
VERSION = 1

TAMPERED = (PREFIX + "the configuration file is not valid (its signature check failed). "
            "Please contact the vendor for a new one.")
EXPIRED = (PREFIX + "The configuration has expired. Please contact the vendor for a new one.")
REVOKED = PREFIX + "the vendor has revoked this configuration. Please contact the vendor."
UNREADABLE = PREFIX + "the configuration file could not be read: {problem}."
OTHER_SIGNER = (PREFIX + "the configuration file is not valid (its signature check failed: it "
                "is not signed with the vendor public key this server is given, "
                "vendor_public_key). Please check that key, or contact the vendor.")
NOT_PINNED = (PREFIX + "no vendor public key is given (vendor_public_key), so the "
              "configuration file cannot be checked.")


class ConfigurationError(Exception):
    """The configuration cannot be used; the message is shown to devices as it is."""


@dataclass(frozen=True)
class Configuration:
    id: int
    name: str
    valid_until: float
    server_key: rsa.RSAPrivateKey
    server_public_key_xml: str
    vendor_public_key: rsa.RSAPublicKey
    upload_token: str = ""
    portal: str = ""
    floating_keys: dict[tuple[int, str], int] = field(default_factory=dict)

    def check_valid(self, now: float | None = None) -> None:
        if (time.time() if now is None else now) >= self.valid_until:
            raise ConfigurationError(EXPIRED)


def _payload(text: str, vendor_key_xml: str) -> tuple[dict[str, Any], rsa.RSAPublicKey]:
    if not vendor_key_xml:
        raise ConfigurationError(NOT_PINNED)
    try:
        key = crypto.public_key_from_xml(vendor_key_xml)
        outer = json.loads(text)
        if outer.get("format") != FORMAT or outer.get("version") != VERSION:
            raise ValueError("not a license-server configuration of a known version")
        data = crypto.b64decode(outer["configuration"])
        signature = crypto.b64decode(outer["signature"])
        if data is None or signature is None:
            raise ValueError("damaged base64")
        payload = json.loads(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(UNREADABLE.format(problem=exc)) from None
    if not crypto.verify(key, data, signature):
        raise ConfigurationError(OTHER_SIGNER if _names_another_key(payload, key) else TAMPERED)
    return payload, key


def _names_another_key(payload: Any, pinned: rsa.RSAPublicKey) -> bool:
    """Whether the (unverified) payload names a vendor key other than the pinned one: only
    to word the error (a key rotation, or a file re-signed with someone else's key)."""
    try:
        named = crypto.public_key_from_xml(str(payload["VendorPublicKey"]))
    except (KeyError, TypeError, crypto.KeyFormatError):
        return False
    return named.public_numbers() != pinned.public_numbers()


def parse(text: str, *, vendor_public_key_xml: str) -> Configuration:
    """Read and verify a configuration file against the pinned vendor public key (RSAKeyValue
    XML from the server's options, never from the file); raises ConfigurationError with a
    clear message. Expiry is not checked here (an expired file still lets the server relay
    and upload)."""
    payload, vendor_key = _payload(text, vendor_public_key_xml)
    try:
        floating = {(int(item["ProductId"]), str(item["Key"])): int(item["MaxNoOfMachines"])
                    for item in payload["FloatingKeys"]}
        return Configuration(
            id=int(payload["Id"]), name=str(payload.get("Name", "")),
            valid_until=float(payload["ValidUntil"]),
            server_key=crypto.private_key_from_pem(payload["ServerPrivateKey"]),
            server_public_key_xml=str(payload["ServerPublicKey"]),
            vendor_public_key=vendor_key, upload_token=str(payload.get("UploadToken", "")),
            portal=str(payload.get("Portal", "")), floating_keys=floating,
        )
    except (ValueError, KeyError, TypeError, crypto.KeyFormatError) as exc:
        raise ConfigurationError(UNREADABLE.format(problem=exc)) from None

# What the portal answers an upload from a revoked configuration (its own copy, see FORMAT).
PORTAL_REVOKED = "This license-server configuration has been revoked."
