"""License-server configurations: issuing them (a file signed with the vendor's key), revoking
them, and taking in the journal a license server uploads to the vendor's Web API log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.licensing import signing, tokens
from apps.licensing.models import Customer, LicenseKey
from apps.licensing.services import signing_key_create
from apps.licensing.services.admission import key_refusal

from . import configuration_file
from .models import LicenseServerConfiguration

MAX_KEYS = 1000
MAX_VALIDITY_DAYS = 3660


def _check_request(*, vendor: Vendor, name: str, customer: Customer | None,
                   keys: list[LicenseKey], valid_until: dt.datetime) -> None:
    if not name.strip():
        raise DomainError("Give the configuration a name.", field="name")
    now = timezone.now()
    if valid_until <= now:
        raise DomainError("Choose a date in the future.", field="valid_until")
    if valid_until > now + dt.timedelta(days=MAX_VALIDITY_DAYS):
        raise DomainError("A configuration can be valid for ten years at most.",
                          field="valid_until")
    if customer is not None and customer.vendor_id != vendor.pk:
        raise DomainError("Could not find the customer.", field="customer")
    if any(k.product.vendor_id != vendor.pk for k in keys):
        raise DomainError("Could not find the key.", field="keys")
    if len(keys) > MAX_KEYS:
        raise DomainError(f"A configuration can list {MAX_KEYS} keys at most.", field="keys")
    # The seat rule (apps.licensing.services.admission) admits nobody on some keys whatever
    # the device: such a key cannot float on the customer's server either.
    for key in keys:
        refusal = key_refusal(key)
        if refusal is not None:
            raise DomainError(f"{key.key}: {refusal.message}", field="keys")


def _payload(configuration: LicenseServerConfiguration, *, keys: list[LicenseKey],
             private_pem: str, upload_token: str, portal_url: str) -> dict[str, Any]:
    vendor_key = signing_key_create(vendor=configuration.vendor)
    customer = configuration.customer
    return {
        "Id": configuration.pk, "Name": configuration.name,
        "VendorId": configuration.vendor_id, "Customer": str(customer) if customer else None,
        "IssuedAt": int(configuration.created.timestamp()),
        "ValidUntil": int(configuration.valid_until.timestamp()), "Portal": portal_url,
        "FloatingKeys": [{"ProductId": k.product_id, "Key": k.key,
                          "MaxNoOfMachines": k.max_no_of_machines} for k in keys],
        "ServerPrivateKey": private_pem,
        "ServerPublicKey": signing.public_key_xml(configuration.public_key_pem),
        "VendorPublicKey": signing.public_key_xml(vendor_key.public_key_pem),
        "UploadToken": upload_token,
    }


@transaction.atomic
def license_server_configuration_create(
    *, vendor: Vendor, actor: Actor, name: str, valid_until: dt.datetime,
    customer: Customer | None = None, keys: Iterable[LicenseKey] = (), portal_url: str = "",
) -> tuple[LicenseServerConfiguration, str]:
    """Issue a configuration: a fresh RSA-2048 key pair for the server and an upload secret,
    in a file signed with the vendor's key. Returns the configuration and the file's text.

    The file is the only copy of the server's private key and of the upload secret: it is
    handed over once and never stored, so a leak of the portal's database cannot sign
    floating answers or upload logs. A lost file is replaced by revoking and issuing anew."""
    keys = list(dict.fromkeys(keys))
    _check_request(vendor=vendor, name=name, customer=customer, keys=keys,
                   valid_until=valid_until)
    private = rsa.generate_private_key(public_exponent=65537, key_size=signing.KEY_SIZE)
    private_pem = private.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    secret = tokens.new_secret()
    configuration = LicenseServerConfiguration.objects.create(
        vendor=vendor, name=name.strip(), customer=customer, valid_until=valid_until,
        public_key_pem=public_pem, upload_secret_hash=tokens.hash_secret(secret),
        created_by=actor.user)
    configuration.keys.set(keys)
    payload = _payload(configuration, keys=keys, private_pem=private_pem,
                       upload_token=tokens.encode(configuration.pk, secret),
                       portal_url=portal_url)
    vendor_key = vendor.signing_key
    text = configuration_file.build_file(
        payload, lambda data: signing.sign(vendor_key.private_key_encrypted, data))
    log_change(vendor=vendor, actor=actor, obj=configuration, action="created", changes={
        "customer": [None, str(customer) if customer else None],
        "keys": [None, [k.key for k in keys]], "valid_until": [None, valid_until]})
    return configuration, text


@transaction.atomic
def license_server_configuration_revoke(*, configuration: LicenseServerConfiguration,
                                        actor: Actor) -> None:
    """Refuse the server's uploads from now on; the server stops floating seats when it next
    reaches the portal. (Offline, it cannot learn this before the configuration expires.)"""
    if configuration.revoked_at is not None:
        return
    configuration.revoked_at = timezone.now()
    configuration.save(update_fields=["revoked_at", "updated"])
    log_change(vendor=configuration.vendor, actor=actor, obj=configuration, action="revoked")


def public_key_xml(configuration: LicenseServerConfiguration) -> str:
    return signing.public_key_xml(configuration.public_key_pem)


def resolve_keys(*, vendor: Vendor, lines: str) -> list[LicenseKey]:
    """Keys written one per line as KEY or <product id>:KEY, among the vendor's products."""
    found: list[LicenseKey] = []
    for line in (raw.strip() for raw in lines.splitlines()):
        if not line:
            continue
        product_id, _, key_string = line.rpartition(":")
        keys = LicenseKey.objects.for_vendor(vendor).filter(key=key_string.strip().upper())
        if product_id.strip():
            if not product_id.strip().isdigit():
                raise DomainError(f"Could not read “{line}”.", field="keys")
            keys = keys.filter(product_id=int(product_id))
        matches = list(keys.select_related("product")[:2])
        if not matches:
            raise DomainError(f"Could not find the key {key_string.strip()}.", field="keys")
        if len(matches) > 1:
            raise DomainError(f"{key_string.strip()} exists in several products: write it as "
                              "<product id>:<key>.", field="keys")
        found.append(matches[0])
    return found
