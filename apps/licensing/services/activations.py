"""Seats: freeing a device from a key. (Activation itself arrives with the Web API.)"""

from __future__ import annotations

from django.db import transaction

from ..audit import Actor, log_change
from ..models import Activation, LicenseKey


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
