"""Subscription prices: which of the vendor's Stripe prices issue keys of which template.

A subscription's first paid invoice issues a key from the template mapped to its price
(apps/commerce/services.py); a metered price also names the meter's event name, so that
subscription/RecordUsage can report use to it. Changing or removing a mapping affects only
subscriptions whose first invoice comes later: keys already issued stay as they are."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction

from apps.accounts.models import Vendor
from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.licensing.models import LicenseTemplate

from .models import PriceMapping

PRICE_ID = re.compile(r"price_[A-Za-z0-9_]{1,240}")
# Stripe's meter event names: letters, digits and a few separators, at most 100 characters.
METER_EVENT_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
ALREADY_MAPPED = "This price is already mapped."


def _check(vendor: Vendor, price_id: str, template: LicenseTemplate,
           meter_event_name: str) -> None:
    if not PRICE_ID.fullmatch(price_id):
        raise DomainError("A Stripe price id starts with price_ (e.g. price_1PqRsT...).",
                          field="price_id")
    if template.product.vendor_id != vendor.pk:
        raise DomainError("Choose one of your license templates.", field="template")
    if meter_event_name and not METER_EVENT_NAME.fullmatch(meter_event_name):
        raise DomainError("A meter event name is letters, digits, _ . : or -, at most 100 "
                          "characters, as in your Stripe meter.", field="meter_event_name")


@transaction.atomic
def price_mapping_save(*, vendor: Vendor, actor: Actor, price_id: str,
                       template: LicenseTemplate, meter_event_name: str = "",
                       mapping: PriceMapping | None = None) -> PriceMapping:
    """Map a Stripe price to one of the vendor's templates (or change `mapping`). A price is
    mapped at most once per vendor: a second mapping is refused with ALREADY_MAPPED."""
    price_id, meter_event_name = price_id.strip(), meter_event_name.strip()
    _check(vendor, price_id, template, meter_event_name)
    if mapping is not None and mapping.vendor_id != vendor.pk:
        raise DomainError("No such price mapping.")
    taken = PriceMapping.objects.filter(vendor=vendor, price_id=price_id)
    if mapping is not None:
        taken = taken.exclude(pk=mapping.pk)
    if taken.exists():
        raise DomainError(ALREADY_MAPPED, field="price_id")
    created = mapping is None
    before = {} if mapping is None else {
        "price_id": mapping.price_id, "template": mapping.template.name,
        "meter_event_name": mapping.meter_event_name}
    row = mapping or PriceMapping(vendor=vendor)
    row.price_id, row.template, row.meter_event_name = price_id, template, meter_event_name
    try:
        with transaction.atomic():  # a concurrent save of the same price loses here
            row.save()
    except IntegrityError:
        raise DomainError(ALREADY_MAPPED, field="price_id") from None
    after = {"price_id": price_id, "template": template.name,
             "meter_event_name": meter_event_name}
    log_change(vendor=vendor, actor=actor, obj=row, action="created" if created else "updated",
               changes={k: [before.get(k), v] for k, v in after.items()
                        if before.get(k) != v})
    return row


@transaction.atomic
def price_mapping_remove(*, mapping: PriceMapping, actor: Actor) -> None:
    """Unmap a price: later subscriptions to it issue no key; issued keys stay."""
    log_change(vendor=mapping.vendor, actor=actor, obj=mapping, action="removed",
               changes={"price_id": [mapping.price_id, None],
                        "template": [mapping.template.name, None]})
    mapping.delete()
