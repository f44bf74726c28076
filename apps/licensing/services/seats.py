"""Activation and deactivation of devices: the seat rule (admission.decide_seat), enforced
under concurrency.

A key's row is locked (SELECT ... FOR UPDATE) before a seat is added and the rule is decided
again under the lock, so two devices racing for the last seat cannot both get it.
Re-activation of a device that already holds its seat, the path every client takes at
start-up, reads without locking."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.licensing import events, fastpath
from apps.licensing.models import MAX_MACHINE_CODE_LENGTH, Activation, LicenseKey
from apps.licensing.services.admission import (
    BLOCKED,
    LIMIT_REACHED,
    Admission,
    KeySeats,
    decide_seat,
)
from apps.licensing.services.data_objects import machine_data_objects_drop
from apps.licensing.services.keys import refresh_from
from apps.usage import states

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
                 max_overdraft: int = 0, actor: Actor | None = None,
                 registered_only: bool = False) -> SeatResult:
    """Activate `device` on `key` (Cryptolens' key/Activate rules, decided by
    admission.decide_seat); raise SeatRefused when the device gets no seat.

    Node-locked (floating_interval = 0): a device that holds its seat, and any device on a key
    that is not node-locked, pass without a lock; a new seat is decided again and written under
    the key's row lock. Floating (floating_interval = T > 0): a device holds a seat while it
    calls again within T seconds. `registered_only`: see decide_seat (activation forms)."""
    _check_machine_code(device.machine_code)
    if floating_interval > 0:
        return _activate_floating(key, device, floating_interval, max_overdraft)
    admission = decide_seat(KeySeats(key), device.machine_code,
                            registered_only=registered_only)
    if not admission.granted:
        raise admission.refusal()
    if admission.seat is not None:
        _refresh_friendly_name(admission.seat, device)
        return SeatResult(key, admission.seat, admission.state)
    if not admission.takes_seat:  # not node-locked: nothing is recorded
        return SeatResult(key, _unsaved(key, device), admission.state)
    return _add_node_locked(key, device, actor, registered_only)


def _unsaved(key: LicenseKey, device: Device) -> Activation:
    return Activation(key=key, machine_code=device.machine_code,
                      friendly_name=device.friendly_name, ip=device.ip)


def _refresh_friendly_name(activation: Activation, device: Device) -> None:
    if device.friendly_name and device.friendly_name != activation.friendly_name:
        activation.friendly_name = device.friendly_name
        Activation.objects.filter(pk=activation.pk).update(friendly_name=device.friendly_name)


# The seat services below run inside the caller's transaction when there is one (the Web API's
# change-and-log transaction, a form's) without a savepoint of their own: two round trips
# less per call. A refusal raised inside leaves that transaction to be rolled back as a
# whole, which is what each caller does with it (none carries on after a refusal).
_one_transaction = transaction.atomic(savepoint=False)


def _key_locked(key: LicenseKey) -> LicenseKey:
    """The key's row, read again and locked (FOR UPDATE of that row only: never its product's
    or vendor's, which every activation and log entry of the vendor would queue behind), with
    the product (and vendor) the caller loaded. On PostgreSQL a prepared statement: the ORM
    took longer to build it than the database takes to answer it."""
    if fastpath.available():
        locked = fastpath.lock(key.pk)
    else:
        locked = LicenseKey.objects.select_for_update(of=("self",)).get(pk=key.pk)
    locked.product = key.product
    return locked


@_one_transaction
def _add_node_locked(key: LicenseKey, device: Device, actor: Actor | None,
                     registered_only: bool) -> SeatResult:
    locked = _key_locked(key)
    admission = decide_seat(KeySeats(locked, lock_customer=True), device.machine_code,
                            registered_only=registered_only)
    if not admission.granted:
        raise admission.refusal()
    if admission.seat is not None:  # another request added it while we waited for the lock
        return SeatResult(locked, admission.seat, admission.state)
    if not admission.takes_seat:  # the key stopped being node-locked meanwhile
        return SeatResult(key, _unsaved(key, device), admission.state)
    activation = seat_write(key=locked, admission=admission, device=device,
                            actor=actor or Actor.for_system("activation"))
    refresh_from(key, locked)
    return SeatResult(key, activation, admission.state)


def seat_write(*, key: LicenseKey, admission: Admission, device: Device, actor: Actor,
               now: dt.datetime | None = None) -> Activation:
    """Write the node-locked seat `admission` granted on `key`, whose row the caller locked,
    and start the trial countdown when it says so."""
    now = now or timezone.now()
    activation = Activation.objects.create(
        key=key, machine_code=device.machine_code, friendly_name=device.friendly_name,
        ip=device.ip, time=now,
    )
    if admission.starts_trial:
        trial_countdown_start(key=key, machine_code=device.machine_code, actor=actor, now=now)
    events.device_event(key, activation, "device.activated")
    return activation


def trial_countdown_start(*, key: LicenseKey, machine_code: str, actor: Actor,
                          now: dt.datetime) -> None:
    """Trial activation: the key runs Period days from this activation (key locked)."""
    before = key.expires
    key.expires = now + dt.timedelta(days=key.period)
    key.save(update_fields=["expires"])
    log_change(vendor=key.product.vendor, actor=actor, obj=key,
               action="trial countdown started",
               changes={"expires": [before, key.expires], "machine_code": [None, machine_code]})


def _activate_floating(key: LicenseKey, device: Device, interval: int, overdraft: int
                       ) -> SeatResult:
    now = timezone.now()
    expires = now + dt.timedelta(seconds=interval)
    admission = decide_seat(KeySeats(key, now=now), device.machine_code, floating=True,
                            overdraft=overdraft)
    if not admission.granted:
        if admission.state == states.ACTIVATION_FLOATING_LIMIT:
            events.floating_limit_event(key, device.machine_code)
        raise admission.refusal()
    # Heartbeat of a device that still holds its seat: one conditional UPDATE, no lock.
    if admission.seat is not None and _renew(admission.seat, device, now, expires):
        return SeatResult(key, admission.seat, admission.state)
    return _take_floating_seat(key, device, now, expires, overdraft)


def _renew(seat: Activation, device: Device, now: dt.datetime, expires: dt.datetime) -> bool:
    changes = {"floating_expires": expires, "ip": device.ip,
               **({"friendly_name": device.friendly_name} if device.friendly_name else {})}
    if not Activation.objects.filter(pk=seat.pk, floating_expires__gt=now).update(**changes):
        return False  # expired or released meanwhile: take a seat anew
    for name, value in changes.items():
        setattr(seat, name, value)
    return True


@_one_transaction
def _take_floating_seat(key: LicenseKey, device: Device, now: dt.datetime,
                        expires: dt.datetime, overdraft: int) -> SeatResult:
    locked = _key_locked(key)
    admission = decide_seat(KeySeats(locked, now=now), device.machine_code, floating=True,
                            overdraft=overdraft)
    if not admission.granted:
        raise admission.refusal()
    is_overdraft = admission.state == states.ACTIVATION_OVERDRAFT
    seat, _ = Activation.objects.update_or_create(
        key=locked, machine_code=device.machine_code, floating=True,
        defaults={"friendly_name": device.friendly_name, "ip": device.ip, "time": now,
                  "floating_expires": expires, "overdraft": is_overdraft},
    )
    events.device_event(locked, seat, "device.activated")
    if is_overdraft:
        events.device_event(locked, seat, "floating.overdraft_used")
    return SeatResult(key, seat, admission.state)


@_one_transaction
def key_deactivate(*, key: LicenseKey, machine_code: str, floating: bool,
                   actor: Actor) -> int:
    """Free a device's seat; return the log state. Floating release never fails."""
    locked = _key_locked(key)
    if locked.block:
        raise DomainError(BLOCKED, state=states.DEACTIVATION_FAILED)
    if floating:
        for seat in Activation.objects.filter(key=locked, machine_code=machine_code,
                                              floating=True):
            events.device_event(locked, seat, "device.deactivated")
        Activation.objects.filter(key=locked, machine_code=machine_code, floating=True).delete()
        machine_data_objects_drop(key=locked, machine_codes=[machine_code])
        return states.FLOATING_RELEASED
    seats = list(Activation.objects.filter(key=locked, machine_code=machine_code,
                                           floating=False))
    deleted, _ = Activation.objects.filter(pk__in=[seat.pk for seat in seats]).delete()
    if not deleted:
        raise DomainError(NEVER_ACTIVATED, state=states.DEACTIVATION_FAILED)
    for seat in seats:
        events.device_event(locked, seat, "device.deactivated")
    # A deactivated device's data objects go with it (data_objects module docstring).
    machine_data_objects_drop(key=locked, machine_codes=[machine_code])
    log_change(vendor=locked.product.vendor, actor=actor, obj=locked,
               action="device deactivated", changes={"machine_code": [machine_code, None]})
    return states.DEACTIVATION_OK


__all__ = ["BLOCKED", "LIMIT_REACHED", "Device", "SeatResult", "key_activate", "key_deactivate",
           "seat_write", "trial_countdown_start"]
