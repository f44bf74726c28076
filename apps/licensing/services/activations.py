"""Seats: freeing a device from a key. (Activation itself arrives with the Web API.)"""

from __future__ import annotations

from django.db import transaction

from apps.audit.log import Actor, log_change
from apps.licensing.models import Activation, LicenseKey


@transaction.atomic
def activation_release(*, activation: Activation, actor: Actor) -> None:
    """Free the seat held by a device, so that another device can activate the key."""
    key = LicenseKey.objects.select_for_update().select_related("product__vendor").get(
        pk=activation.key_id
    )
    deleted, _ = Activation.objects.filter(pk=activation.pk).delete()
    if deleted:
        log_change(
            vendor=key.product.vendor, actor=actor, obj=key, action="device deactivated",
            changes={"machine_code": [activation.machine_code, None],
                     "friendly_name": [activation.friendly_name, None],
                     "floating": [activation.floating, None]},
        )


@transaction.atomic
def activations_release_for_customer(*, customer, activation_ids: list[int], actor: Actor
                                     ) -> int:
    """Free the seats of the given devices, only those on `customer`'s keys; returns how
    many. Each freed device is written to its key's object log with the actor."""
    seats = list(
        Activation.objects.select_related("key__product__vendor")
        .filter(pk__in=activation_ids, key__customer=customer)
        .order_by("key_id", "id")
    )
    # Lock the keys in a fixed order, as activation does, so a racing Activate waits.
    key_ids = sorted({seat.key_id for seat in seats})
    list(LicenseKey.objects.select_for_update().filter(pk__in=key_ids).order_by("pk"))
    Activation.objects.filter(pk__in=[seat.pk for seat in seats]).delete()
    for seat in seats:
        log_change(vendor=seat.key.product.vendor, actor=actor, obj=seat.key,
                   action="device deactivated (customer portal)",
                   changes={"machine_code": [seat.machine_code, None],
                            "friendly_name": [seat.friendly_name, None],
                            "floating": [seat.floating, None]})
    return len(seats)
