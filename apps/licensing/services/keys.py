"""License keys: creation, edits, blocking, extension."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.log import Actor, diff, log_change, snapshot
from apps.core.errors import DomainError
from apps.licensing import events
from apps.licensing.keygen import new_key_string
from apps.licensing.models import MAX_NOTES_LENGTH, Customer, LicenseKey, Product
from apps.licensing.models.catalogue import MAX_INTERNAL_NOTE_LENGTH

MAX_KEYS_PER_CALL = 1000
MAX_PERIOD_DAYS = 365 * 100
KEY_EDIT_FIELDS = [
    *[f"f{n}" for n in range(1, 9)],
    "notes", "internal_note", "max_no_of_machines", "trial_activation", "allowed_machines",
    "automatic_activation", "period",
]
# The object log is the vendor's alone, so the internal note's changes are kept there too.
KEY_LOG_FIELDS = ["key", "expires", "block", "customer", *KEY_EDIT_FIELDS]
NOTES_TOO_LONG = "The notes field cannot be more than 500 characters."
INTERNAL_NOTE_TOO_LONG = (f"The internal note cannot be more than {MAX_INTERNAL_NOTE_LENGTH} "
                          "characters.")


@dataclass
class KeySpec:
    """What a new key looks like. Mirrors the parameters of the Web API's CreateKey, plus
    the vendor's internal note (which the Web API never reads or returns)."""

    period: int = 0
    features: list[bool] = field(default_factory=lambda: [False] * 8)
    notes: str = ""
    internal_note: str = ""
    block: bool = False
    customer: Customer | None = None
    max_no_of_machines: int = 0
    trial_activation: bool = False
    allowed_machines: str = ""
    automatic_activation: bool = True

    def validate(self, product: Product) -> None:
        if len(self.notes) > MAX_NOTES_LENGTH:
            raise DomainError(NOTES_TOO_LONG, field="notes")
        if len(self.internal_note) > MAX_INTERNAL_NOTE_LENGTH:
            raise DomainError(INTERNAL_NOTE_TOO_LONG, field="internal_note")
        if not -MAX_PERIOD_DAYS <= self.period <= MAX_PERIOD_DAYS:
            raise DomainError("The period must be at most 100 years.", field="period")
        if self.max_no_of_machines < 0:
            raise DomainError("The number of machines cannot be negative.",
                              field="max_no_of_machines")
        if len(self.features) != 8:
            raise ValueError("features must have 8 entries")
        if self.customer is not None and self.customer.vendor_id != product.vendor_id:
            raise DomainError("Could not find the customer.", field="customer")


def _expiry(start: dt.datetime, days: int) -> dt.datetime:
    return start + dt.timedelta(days=days)


@transaction.atomic
def key_create(*, product: Product, actor: Actor, spec: KeySpec, count: int = 1
               ) -> list[LicenseKey]:
    """Create `count` keys for `product`. All or none: the batch is one transaction.

    Serial numbers (the wire's per-product `ID`) come from the product row, locked so that
    parallel calls never hand out the same number."""
    if not 1 <= count <= MAX_KEYS_PER_CALL:
        raise DomainError(f"Create between 1 and {MAX_KEYS_PER_CALL} keys at a time.",
                          field="count")
    spec.validate(product)
    locked = Product.objects.select_for_update().get(pk=product.pk)
    first_serial = locked.next_key_serial
    locked.next_key_serial = first_serial + count
    locked.save(update_fields=["next_key_serial"])
    product.next_key_serial = locked.next_key_serial

    now = timezone.now()
    created = []
    for offset in range(count):
        created.append(_insert_unique(product, spec, first_serial + offset, now))
    for key in created:
        log_change(vendor=product.vendor, actor=actor, obj=key, action="created",
                   changes=diff({}, snapshot(key, KEY_LOG_FIELDS)))
        events.key_event(key, "key.created")
    return created


def _insert_unique(product: Product, spec: KeySpec, serial: int, now: dt.datetime
                   ) -> LicenseKey:
    # 26^20 keys make a clash astronomically rare; retry inside a savepoint if one happens.
    for _ in range(5):
        try:
            with transaction.atomic():
                return LicenseKey.objects.create(
                    product=product, serial=serial, key=new_key_string(), created=now,
                    period=spec.period, expires=_expiry(now, spec.period),
                    notes=spec.notes, internal_note=spec.internal_note, block=spec.block,
                    customer=spec.customer,
                    max_no_of_machines=spec.max_no_of_machines,
                    trial_activation=spec.trial_activation,
                    allowed_machines=spec.allowed_machines,
                    automatic_activation=spec.automatic_activation,
                    **{f"f{n}": bool(v) for n, v in enumerate(spec.features, start=1)},
                )
        except IntegrityError:
            if LicenseKey.objects.filter(product=product, serial=serial).exists():
                raise
    raise DomainError("Could not generate a unique key; try again.")


def _locked(key: LicenseKey) -> LicenseKey:
    return LicenseKey.objects.select_for_update().select_related("product__vendor").get(pk=key.pk)


@transaction.atomic
def key_update(*, key: LicenseKey, actor: Actor, **fields: Any) -> LicenseKey:
    """Edit features, notes (sent with the license), the internal note (the vendor's
    alone), seats, allowed machines, trial and automatic activation."""
    unknown = set(fields) - set(KEY_EDIT_FIELDS) - {"customer"}
    if unknown:
        raise TypeError(f"Unknown key fields: {sorted(unknown)}")
    if len(fields.get("notes", "")) > MAX_NOTES_LENGTH:
        raise DomainError(NOTES_TOO_LONG, field="notes")
    if len(fields.get("internal_note", "")) > MAX_INTERNAL_NOTE_LENGTH:
        raise DomainError(INTERNAL_NOTE_TOO_LONG, field="internal_note")
    if fields.get("max_no_of_machines", 0) < 0:
        raise DomainError("The number of machines cannot be negative.",
                          field="max_no_of_machines")
    customer = fields.get("customer")
    if customer is not None and customer.vendor_id != key.product.vendor_id:
        raise DomainError("Could not find the customer.", field="customer")
    locked = _locked(key)
    before = snapshot(locked, KEY_LOG_FIELDS)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(fields))
    changes = diff(before, snapshot(locked, KEY_LOG_FIELDS))
    if changes:
        log_change(vendor=locked.product.vendor, actor=actor, obj=locked, action="updated",
                   changes=changes)
        events.key_event(locked, "key.changed")
    refresh_from(key, locked)
    return key


@transaction.atomic
def key_set_blocked(*, key: LicenseKey, actor: Actor, blocked: bool) -> LicenseKey:
    locked = _locked(key)
    if locked.block != blocked:
        locked.block = blocked
        locked.save(update_fields=["block"])
        log_change(vendor=locked.product.vendor, actor=actor, obj=locked,
                   action="blocked" if blocked else "unblocked",
                   changes={"block": [not blocked, blocked]})
        events.key_event(locked, "key.blocked" if blocked else "key.unblocked")
    refresh_from(key, locked)
    return key


@transaction.atomic
def key_extend(*, key: LicenseKey, actor: Actor, days: int) -> LicenseKey:
    """Add `days` to the expiry, counting from now if the key has already expired.
    Negative days shorten the licence, as in Cryptolens' ExtendLicense."""
    if abs(days) > MAX_PERIOD_DAYS:
        raise DomainError("The number of days must be at most 100 years.", field="days")
    locked = _locked(key)
    now = timezone.now()
    before = locked.expires
    base = locked.expires if locked.expires > now else now
    try:
        locked.expires = base + dt.timedelta(days=days)
    except OverflowError:
        raise DomainError("The expiry date would be past the year 9999.", field="days") from None
    locked.save(update_fields=["expires"])
    log_change(vendor=locked.product.vendor, actor=actor, obj=locked, action="extended",
               changes={"expires": [before, locked.expires], "days": [None, days]})
    events.key_event(locked, "key.extended")
    refresh_from(key, locked)
    return key


@transaction.atomic
def key_set_expiry(*, key: LicenseKey, actor: Actor, expires: dt.datetime) -> LicenseKey:
    """Set the expiry to a date (a subscription's paid period): logged when it changes."""
    locked = _locked(key)
    if locked.expires != expires:
        before = locked.expires
        locked.expires = expires
        locked.save(update_fields=["expires"])
        log_change(vendor=locked.product.vendor, actor=actor, obj=locked, action="expiry set",
                   changes={"expires": [before, expires]})
        events.key_event(locked, "key.extended")
    refresh_from(key, locked)
    return key


def refresh_from(target: LicenseKey, source: LicenseKey) -> None:
    """Give the caller's instance the values just saved through a locked copy."""
    for f in LicenseKey._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))
