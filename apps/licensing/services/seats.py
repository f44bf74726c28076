"""Activation and deactivation of devices: the seat rules, enforced under concurrency.

A key's row is locked (SELECT ... FOR UPDATE) before a seat is added, so two devices racing for
the last seat cannot both get it. Re-activation of a device that already holds its seat, the
path every client takes at start-up, reads without locking."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.core.errors import DomainError

from .. import states
from ..audit import Actor, log_change
from ..models import MAX_MACHINE_CODE_LENGTH, Activation, Customer, LicenseKey
from .keys import refresh_from

BLOCKED = "The key is blocked and cannot be accessed."
LIMIT_REACHED = "Cannot activate the new device as the limit has been reached."
NEVER_ACTIVATED = ("Either the machine code was never activated or key activation feature "
                   "was never set up.")
MACHINE_CODE_TOO_LONG = "The machine code cannot exceed 128 chars in length."


@dataclass
class SeatResult:
    key: LicenseKey
    activation: Activation | None  # the calling device (unsaved when nothing is recorded)
    state: int


@dataclass(frozen=True)
class Device:
    machine_code: str
    friendly_name: str = ""
    ip: str | None = None


def _check_machine_code(code: str) -> None:
    if len(code) > MAX_MACHINE_CODE_LENGTH:
        raise DomainError(MACHINE_CODE_TOO_LONG, state=states.ACTIVATION_FAILED)


def key_activate(*, key: LicenseKey, device: Device, floating_interval: int = 0,
                 max_overdraft: int = 0, actor: Actor | None = None) -> SeatResult:
    """Activate `device` on `key` (Cryptolens' key/Activate rules).

    Node-locked (floating_interval = 0): MaxNoOfMachines 0 records nothing; a known device
    passes; a new one is added while below the limit or when listed in AllowedMachines.
    Automatic activation off makes this read-only. Trial activation starts a new countdown at
    each new device. Floating (floating_interval = T > 0): a device holds a seat while it calls
    again within T seconds; at most MaxNoOfMachines + max_overdraft at once."""
    _check_machine_code(device.machine_code)
    if key.block:
        raise DomainError(BLOCKED, state=states.ACTIVATION_BLOCKED)
    if floating_interval > 0:
        return _activate_floating(key, device, floating_interval, max(0, max_overdraft))
    return _activate_node_locked(key, device, actor)


def _activate_node_locked(key: LicenseKey, device: Device, actor: Actor | None) -> SeatResult:
    existing = _seat_of(key, device.machine_code)
    if existing is not None:
        _refresh_friendly_name(existing, device)
        return SeatResult(key, existing, states.ACTIVATION_EXISTING)
    if key.max_no_of_machines == 0:
        if not key.automatic_activation:
            # Controlled activation: only devices the vendor activated may use the key.
            raise DomainError(LIMIT_REACHED, state=states.ACTIVATION_LIMIT)
        transient = Activation(key=key, machine_code=device.machine_code,
                               friendly_name=device.friendly_name, ip=device.ip)
        return SeatResult(key, transient, states.ACTIVATION_NOT_NODE_LOCKED)
    return _add_node_locked(key, device, actor)


def _seat_of(key: LicenseKey, machine_code: str) -> Activation | None:
    """The device's node-locked seat; from the key's loaded devices when the caller
    prefetched them (the API does), so the hot path costs no extra query."""
    prefetched = getattr(key, "_prefetched_objects_cache", {}).get("activations")
    if prefetched is not None:
        return next((a for a in prefetched
                     if a.machine_code == machine_code and not a.floating), None)
    return Activation.objects.filter(key=key, machine_code=machine_code, floating=False).first()


def _refresh_friendly_name(activation: Activation, device: Device) -> None:
    if device.friendly_name and device.friendly_name != activation.friendly_name:
        activation.friendly_name = device.friendly_name
        Activation.objects.filter(pk=activation.pk).update(friendly_name=device.friendly_name)


@transaction.atomic
def _add_node_locked(key: LicenseKey, device: Device, actor: Actor | None) -> SeatResult:
    locked = LicenseKey.objects.select_for_update().get(pk=key.pk)
    if locked.block:
        raise DomainError(BLOCKED, state=states.ACTIVATION_BLOCKED)
    existing = Activation.objects.filter(
        key=locked, machine_code=device.machine_code, floating=False
    ).first()
    if existing is not None:  # another request added it while we waited for the lock
        return SeatResult(locked, existing, states.ACTIVATION_EXISTING)
    allowed = device.machine_code in locked.allowed_machine_list
    if not locked.automatic_activation:
        raise DomainError(LIMIT_REACHED, state=states.ACTIVATION_LIMIT)
    used = Activation.objects.filter(key=locked, floating=False).count()
    if used >= locked.max_no_of_machines and not allowed:
        raise DomainError(LIMIT_REACHED, state=states.ACTIVATION_LIMIT)
    _check_customer_cap(locked)
    now = timezone.now()
    activation = Activation.objects.create(
        key=locked, machine_code=device.machine_code, friendly_name=device.friendly_name,
        ip=device.ip, time=now,
    )
    if locked.trial_activation:
        before = locked.expires
        locked.expires = now + dt.timedelta(days=locked.period)
        locked.save(update_fields=["expires"])
        log_change(vendor=key.product.vendor, actor=actor or Actor.for_system("activation"),
                   obj=locked, action="trial countdown started",
                   changes={"expires": [before, locked.expires],
                            "machine_code": [None, device.machine_code]})
    state = states.ACTIVATION_NEW if used < locked.max_no_of_machines \
        else states.ACTIVATION_ALLOWED_MACHINE
    refresh_from(key, locked)
    return SeatResult(key, activation, state)


def _check_customer_cap(key: LicenseKey) -> None:
    """A customer-wide device cap (Cryptolens' MaxNoOfDevices) across all its keys. The
    customer row is locked after the key's, so parallel activations on several of its keys
    count one after the other."""
    if key.customer_id is None:
        return
    customer = Customer.objects.select_for_update().get(pk=key.customer_id)
    if customer.max_no_of_devices and Activation.objects.filter(
            key__customer=customer, floating=False).count() >= customer.max_no_of_devices:
        raise DomainError(LIMIT_REACHED, state=states.ACTIVATION_LIMIT)


def _activate_floating(key: LicenseKey, device: Device, interval: int, overdraft: int
                       ) -> SeatResult:
    now = timezone.now()
    expires = now + dt.timedelta(seconds=interval)
    # Heartbeat of a device that still holds its seat: one conditional UPDATE, no lock.
    renewed = Activation.objects.filter(
        key=key, machine_code=device.machine_code, floating=True, floating_expires__gt=now
    ).update(floating_expires=expires, ip=device.ip,
             **({"friendly_name": device.friendly_name} if device.friendly_name else {}))
    if renewed:
        seat = Activation.objects.get(key=key, machine_code=device.machine_code, floating=True)
        state = states.ACTIVATION_OVERDRAFT if seat.overdraft else states.ACTIVATION_FLOATING
        return SeatResult(key, seat, state)
    return _take_floating_seat(key, device, now, expires, overdraft)


@transaction.atomic
def _take_floating_seat(key: LicenseKey, device: Device, now: dt.datetime,
                        expires: dt.datetime, overdraft: int) -> SeatResult:
    locked = LicenseKey.objects.select_for_update().get(pk=key.pk)
    if locked.block:
        raise DomainError(BLOCKED, state=states.ACTIVATION_BLOCKED)
    in_use = (Activation.objects.filter(key=locked, floating=True, floating_expires__gt=now)
              .exclude(machine_code=device.machine_code).count())
    limit = locked.max_no_of_machines
    if limit and in_use >= limit + overdraft:
        raise DomainError(LIMIT_REACHED, state=states.ACTIVATION_FLOATING_LIMIT)
    is_overdraft = bool(limit) and in_use >= limit
    seat, _ = Activation.objects.update_or_create(
        key=locked, machine_code=device.machine_code, floating=True,
        defaults={"friendly_name": device.friendly_name, "ip": device.ip, "time": now,
                  "floating_expires": expires, "overdraft": is_overdraft},
    )
    state = states.ACTIVATION_OVERDRAFT if is_overdraft else states.ACTIVATION_FLOATING
    return SeatResult(key, seat, state)


@transaction.atomic
def key_deactivate(*, key: LicenseKey, machine_code: str, floating: bool,
                   actor: Actor) -> int:
    """Free a device's seat; return the log state. Floating release never fails."""
    locked = LicenseKey.objects.select_for_update().select_related("product__vendor").get(
        pk=key.pk)
    if locked.block:
        raise DomainError(BLOCKED, state=states.DEACTIVATION_FAILED)
    if floating:
        Activation.objects.filter(key=locked, machine_code=machine_code, floating=True).delete()
        return states.FLOATING_RELEASED
    deleted, _ = Activation.objects.filter(
        key=locked, machine_code=machine_code, floating=False
    ).delete()
    if not deleted:
        raise DomainError(NEVER_ACTIVATED, state=states.DEACTIVATION_FAILED)
    log_change(vendor=locked.product.vendor, actor=actor, obj=locked,
               action="device deactivated", changes={"machine_code": [machine_code, None]})
    return states.DEACTIVATION_OK


__all__ = ["Device", "SeatResult", "key_activate", "key_deactivate"]
