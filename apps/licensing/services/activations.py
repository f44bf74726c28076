"""Seats: freeing devices from keys, one at a time or a selection."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from apps.audit.log import Actor, log_change
from apps.licensing import events
from apps.licensing.models import Activation, Customer, LicenseKey
from apps.licensing.services.data_objects import machine_data_objects_drop


@transaction.atomic
def activation_release(*, activation: Activation, actor: Actor) -> None:
    """Free the seat held by a device, so that another device can activate the key."""
    # FOR UPDATE of the key's row only (apps.licensing.services.seats._key_locked).
    key = LicenseKey.objects.select_for_update(of=("self",)).select_related("product__vendor").get(
        pk=activation.key_id
    )
    deleted, _ = Activation.objects.filter(pk=activation.pk).delete()
    # A deactivated device's data objects go with it (data_objects module docstring).
    machine_data_objects_drop(key=key, machine_codes=[activation.machine_code])
    if deleted:
        log_change(
            vendor=key.product.vendor, actor=actor, obj=key, action="device deactivated",
            changes={"machine_code": [activation.machine_code, None],
                     "friendly_name": [activation.friendly_name, None],
                     "floating": [activation.floating, None]},
        )
        events.device_event(key, activation, "device.deactivated")


@transaction.atomic
def activations_release_for_customer(*, customer: Customer, activation_ids: list[int],
                                     actor: Actor) -> int:
    """Free the seats of the given devices, only those on `customer`'s keys; returns how
    many. Each freed device is written to its key's object log with the actor."""
    return _release(Activation.objects.filter(pk__in=activation_ids, key__customer=customer),
                    actor=actor, action="device deactivated (customer portal)")


@transaction.atomic
def activations_release_for_key(*, key: LicenseKey, activation_ids: list[int], actor: Actor
                                ) -> int:
    """Free the seats of the given devices of `key` (the vendor's multi-select); ids of
    other keys' devices, another vendor's included, are ignored. Returns how many were freed;
    each is written to the key's object log with the actor."""
    return _release(Activation.objects.filter(pk__in=activation_ids, key=key),
                    actor=actor, action="device deactivated")


def _release(seats_wanted: QuerySet[Activation], *, actor: Actor, action: str) -> int:
    # Lock the keys in a fixed order, as activation does, so a racing Activate waits; read
    # the devices under the locks, so a device freed meanwhile is neither counted nor logged.
    key_ids = sorted(set(seats_wanted.values_list("key_id", flat=True)))
    list(LicenseKey.objects.select_for_update().filter(pk__in=key_ids).order_by("pk"))
    seats = list(seats_wanted.select_related("key__product__vendor").order_by("key_id", "id"))
    Activation.objects.filter(pk__in=[seat.pk for seat in seats]).delete()
    for seat in seats:
        events.device_event(seat.key, seat, "device.deactivated")
        machine_data_objects_drop(key=seat.key, machine_codes=[seat.machine_code])
        log_change(vendor=seat.key.product.vendor, actor=actor, obj=seat.key, action=action,
                   changes={"machine_code": [seat.machine_code, None],
                            "friendly_name": [seat.friendly_name, None],
                            "floating": [seat.floating, None]})
    return len(seats)
