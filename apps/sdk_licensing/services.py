"""Signing applications for a product's SDK, and revoking developer machines.

A developer machine is a seat on the developer's key: signing activates the machine with the
key/Activate rule itself (apps.licensing.services.seats.key_activate), so the key's seat limit
is the number of developer machines, with Activate's errors."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from django.db import transaction
from django.utils import timezone

from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.licensing.models import MAX_MACHINE_CODE_LENGTH, Activation, LicenseKey
from apps.licensing.services.seats import MACHINE_CODE_TOO_LONG, Device, key_activate
from apps.usage import states

from .certificates import (
    ALGORITHM,
    Application,
    SignedCertificate,
    certificate_payload,
    sign_payload,
)
from .models import DeveloperMachine, SdkCertificate

REVOKED = "This developer machine was revoked by the vendor and may not sign applications."
EXPIRED = "The license key has expired."
NO_MACHINE_CODE = "The machine code cannot be null."
BAD_FINGERPRINT = "The application fingerprint must be 64 hexadecimal characters (SHA-256)."
BAD_ALGORITHM = f"Unknown fingerprint algorithm: this server knows {ALGORITHM}."
NAME_TOO_LONG = "The application name cannot exceed 255 characters."
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def _checked_application(application: Application) -> Application:
    if not _HEX64.fullmatch(application.fingerprint):
        raise DomainError(BAD_FINGERPRINT, state=states.ACTIVATION_FAILED)
    if application.algorithm != ALGORITHM:
        raise DomainError(BAD_ALGORITHM, state=states.ACTIVATION_FAILED)
    if len(application.name) > 255:
        raise DomainError(NAME_TOO_LONG, state=states.ACTIVATION_FAILED)
    # Control and format characters (a right-to-left override can make "gnp.exe" read
    # "exe.png") have no place in a file name shown to the vendor.
    name = "".join(c for c in application.name if unicodedata.category(c) not in ("Cc", "Cf"))
    return Application(name, application.fingerprint.lower(), ALGORITHM)


def _machine_locked(key: LicenseKey, device: Device) -> DeveloperMachine:
    """The machine's row, locked first, before the key's: signatures of one machine queue
    here, a revocation waits for (or is waited for by) a signature, and two signatures of
    one machine cannot deadlock (one holding the key's row while the other, which updated
    the machine's row, waits at COMMIT for the key's row: the certificate's foreign keys are
    checked at commit)."""
    machine, _ = DeveloperMachine.objects.get_or_create(
        product_id=key.product_id, machine_code=device.machine_code,
        defaults={"friendly_name": device.friendly_name[:255]})
    return DeveloperMachine.objects.select_for_update().get(pk=machine.pk)


@transaction.atomic
def sdk_application_sign(*, key: LicenseKey, device: Device, application: Application,
                         fields_hidden: int = 0, actor: Actor,
                         now: dt.datetime | None = None) -> SignedCertificate:
    """Activate `device` (the developer machine) on `key` and sign a certificate binding the
    license, the application's fingerprint, the machine and the time.

    Refused: a revoked machine (checked under the machine's row lock, so a revocation racing
    a signature either comes first and refuses it or comes after it), a key past its expiry
    date where the expiry applies (LicenseKey.expiry_applies), and whatever Activate refuses
    (blocked key, no seat left). `fields_hidden`: FieldsToReturn bits to hide in the
    certificate's license (the token's feature lock)."""
    application = _checked_application(application)
    if not device.machine_code:
        raise DomainError(NO_MACHINE_CODE, state=states.ACTIVATION_FAILED)
    if len(device.machine_code) > MAX_MACHINE_CODE_LENGTH:
        raise DomainError(MACHINE_CODE_TOO_LONG, state=states.ACTIVATION_FAILED)
    machine = _machine_locked(key, device)
    now = now or timezone.now()  # after the lock: a signature is never dated before a
    # revocation it waited for
    if machine.revoked:
        raise DomainError(REVOKED, state=states.ACTIVATION_LIMIT)
    activated = key_activate(key=key, device=device, actor=actor)
    seat = activated.activation
    key = (LicenseKey.objects.select_related("product__vendor__signing_key", "customer",
                                             "reseller")
           .prefetch_related("data_objects").get(pk=key.pk))
    # Read after the activation, which starts a trial-activation key's countdown. Refusing
    # here undoes the seat it took: this function is one transaction.
    if key.expiry_applies and key.expires < now:
        raise DomainError(EXPIRED, state=states.ACTIVATION_FAILED)
    seat = seat or Activation(key=key, machine_code=device.machine_code,
                              friendly_name=device.friendly_name, ip=device.ip, time=now)
    record = SdkCertificate.objects.create(
        machine=machine, key=key, key_string=key.key, application_name=application.name,
        fingerprint=application.fingerprint, algorithm=application.algorithm, signed_at=now,
        license_expires=key.expires if key.expiry_applies else None, ip=device.ip)
    machine.last_signed_at = now
    machine.friendly_name = device.friendly_name[:255] or machine.friendly_name
    machine.save(update_fields=["last_signed_at", "friendly_name", "updated"])
    signing_key = key.product.vendor.signing_key
    payload, signature = sign_payload(certificate_payload(
        certificate_id=record.pk, key=key, machine=seat, application=application,
        signing_key=signing_key, fields_hidden=fields_hidden, now=now), signing_key)
    return SignedCertificate(record.pk, payload, signature, activated.state)


@transaction.atomic
def developer_machine_revoke(*, machine: DeveloperMachine, actor: Actor) -> int:
    """Refuse the machine's future signatures. Its seats on the product's keys stay taken: a
    developer told to stop cannot take the seat back under another machine code (codes are
    the client's word). To let them move to another machine, free the seat on the key's page.
    Returns how many seats it holds. Certificates it already made stay valid: they are
    checked offline. Revoking a revoked machine changes nothing."""
    locked = DeveloperMachine.objects.select_for_update().select_related(
        "product__vendor").get(pk=machine.pk)
    seats = Activation.objects.filter(key__product=locked.product,
                                      machine_code=locked.machine_code).count()
    if locked.revoked:
        return seats
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor.label[:255]
    locked.save(update_fields=["revoked_at", "revoked_by", "updated"])
    log_change(vendor=locked.product.vendor, actor=actor, obj=locked.product,
               action="SDK developer machine revoked",
               changes={"machine_code": [locked.machine_code, None],
                        "friendly_name": [locked.friendly_name, None], "seats_kept": seats})
    machine.revoked_at, machine.revoked_by = locked.revoked_at, locked.revoked_by
    return seats


@transaction.atomic
def developer_machine_restore(*, machine: DeveloperMachine, actor: Actor) -> None:
    """Let a revoked machine sign again (it takes a seat again when it next signs)."""
    locked = DeveloperMachine.objects.select_for_update().select_related(
        "product__vendor").get(pk=machine.pk)
    if not locked.revoked:
        return
    locked.revoked_at = None
    locked.revoked_by = ""
    locked.save(update_fields=["revoked_at", "revoked_by", "updated"])
    log_change(vendor=locked.product.vendor, actor=actor, obj=locked.product,
               action="SDK developer machine allowed again",
               changes={"machine_code": [None, locked.machine_code]})
    machine.revoked_at, machine.revoked_by = None, ""
