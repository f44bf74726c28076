"""Offline activation: a device activated from a portal for its license file, and bulk
activation of the machine codes a customer's IT collected. Both ask admission.decide_seat."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.licensing.models import MAX_MACHINE_CODE_LENGTH, Activation, LicenseKey
from apps.licensing.services.admission import (
    CUSTOMER_FULL,
    KEY_BLOCKED,
    KEY_FULL,
    Admission,
    KeySeats,
    decide_seat,
    key_refusal,
)
from apps.licensing.services.seats import Device, seat_write, trial_countdown_start
from apps.usage import states

NEW, ACTIVE, DUPLICATE, INVALID, OVER_LIMIT = "new", "already active", "duplicate", \
    "invalid", "over the seat limit"
OVER_CAP, REFUSED = "over the customer's device cap", "refused"
HEADER_NAMES = {"machinecode", "machine_code", "machine code", "mid", "code"}
MAX_FRIENDLY_NAME = 255
MAX_LINES = 100_000
BAD_MACHINE_CODE = "Enter a machine code of 1 to 128 characters."


@transaction.atomic
def activation_add(*, key: LicenseKey, device: Device, actor: Actor, by_vendor: bool
                   ) -> tuple[Activation, bool]:
    """Activate a device from a portal, for a license file: the seat rule of
    admission.decide_seat, asked by the vendor (`by_vendor`: automatic activation off does
    not stop it, and a key that is not node-locked records the seat without a limit) or by a
    reseller (the device's own rules). Returns (seat, created); the seat is unsaved when the
    key is not node-locked and nothing is recorded."""
    locked = LicenseKey.objects.select_for_update().select_related("product__vendor").get(
        pk=key.pk)
    if len(device.machine_code) > MAX_MACHINE_CODE_LENGTH or not device.machine_code.strip():
        raise DomainError(BAD_MACHINE_CODE, field="machine_code",
                          state=states.ACTIVATION_FAILED)
    admission = decide_seat(KeySeats(locked, lock_customer=True), device.machine_code,
                            by_vendor=by_vendor)
    if not admission.granted:
        raise admission.refusal(field=None if admission.cause == KEY_BLOCKED
                                else "machine_code")
    if admission.seat is not None:
        return admission.seat, False
    if not admission.takes_seat:
        return Activation(key=locked, machine_code=device.machine_code,
                          friendly_name=device.friendly_name, ip=device.ip), False
    seat = seat_write(key=locked, admission=admission, device=device, actor=actor)
    log_change(vendor=locked.product.vendor, actor=actor, obj=locked, action="device activated",
               changes={"machine_code": [None, device.machine_code],
                        "friendly_name": [None, device.friendly_name]})
    return seat, True


@dataclass
class BulkLine:
    number: int
    text: str
    machine_code: str = ""
    friendly_name: str = ""
    status: str = NEW
    reason: str = ""


@dataclass
class BulkPreview:
    lines: list[BulkLine]
    limit: int  # seat limit that applies (0 = not limited)
    in_use: int  # node-locked seats already taken
    counts: dict[str, int] = field(default_factory=dict)
    customer_cap: int = 0  # the customer's device cap (0 = none)
    starts_trial: bool = False  # committing starts the key's trial countdown

    @property
    def to_activate(self) -> list[BulkLine]:
        return [line for line in self.lines if line.status == NEW]

    @property
    def over_limit(self) -> int:
        return self.counts.get(OVER_LIMIT, 0)

    @property
    def over_cap(self) -> int:
        return self.counts.get(OVER_CAP, 0)

    @property
    def refused(self) -> int:
        """Lines refused whatever the seat limit: over the customer's cap, key blocked."""
        return self.over_cap + self.counts.get(REFUSED, 0)

    @property
    def seats_needed(self) -> int:
        """The seat limit that would let every valid new line in."""
        return self.in_use + len(self.to_activate) + self.over_limit


def _split(text: str) -> tuple[str, str]:
    """`code`, `code<TAB>name`, the .bat's `code name`, or CSV `code,name`."""
    if "\t" in text:
        code, _, name = text.partition("\t")
    elif "," in text:
        row = next(csv.reader(io.StringIO(text)), [""])
        code, name = row[0], row[1] if len(row) > 1 else ""
    else:
        code, _, name = text.partition(" ")
    return code.strip().strip('"'), name.strip().strip('"')


def bulk_parse(text: str) -> list[BulkLine]:
    lines: list[BulkLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        if len(lines) >= MAX_LINES:
            raise DomainError(f"Paste at most {MAX_LINES:,} lines at a time.", field="lines")
        code, name = _split(stripped)
        line = BulkLine(number=number, text=stripped, machine_code=code, friendly_name=name)
        if not lines and code.lower() in HEADER_NAMES:
            continue  # a CSV header
        if not code:
            line.status, line.reason = INVALID, "No machine code."
        elif len(code) > MAX_MACHINE_CODE_LENGTH:
            line.status, line.reason = INVALID, "The machine code is longer than 128 characters."
        elif any(ord(c) < 32 for c in code):
            line.status, line.reason = INVALID, "The machine code has control characters."
        elif len(name) > MAX_FRIENDLY_NAME:
            line.status, line.reason = INVALID, "The device name is longer than 255 characters."
        lines.append(line)
    return lines


def bulk_preview(*, key: LicenseKey, text: str, new_limit: int | None = None) -> BulkPreview:
    """What committing `text` would do, line by line; nothing is written."""
    return _decide_lines(KeySeats.whole(key, limit=new_limit), bulk_parse(text))


def _decide_lines(seats: KeySeats, lines: list[BulkLine]) -> BulkPreview:
    """Each valid line through decide_seat in order, every grant counted for the next line:
    the preview and the commit run this same function."""
    preview = BulkPreview(lines=lines, limit=seats.limit, in_use=seats.used)
    seen: set[str] = set()
    for line in lines:
        if line.status == INVALID:
            continue
        if line.machine_code in seen:
            line.status, line.reason = DUPLICATE, "Listed earlier in the paste."
            continue
        seen.add(line.machine_code)
        admission = decide_seat(seats, line.machine_code, by_vendor=True)
        line.status, line.reason = _line_outcome(admission, seats)
        if admission.takes_seat:
            seats.took(line.machine_code)
            preview.starts_trial = admission.starts_trial
    for line in lines:
        preview.counts[line.status] = preview.counts.get(line.status, 0) + 1
    if preview.over_cap:
        preview.customer_cap = seats.customer_cap
    return preview


def _line_outcome(admission: Admission, seats: KeySeats) -> tuple[str, str]:
    if admission.granted:
        if admission.seat is not None:
            return ACTIVE, "Already activated on this key."
        if admission.state == states.ACTIVATION_ALLOWED_MACHINE:
            return NEW, "Listed in the key's allowed machines."
        return NEW, ""
    if admission.cause == KEY_FULL:
        return OVER_LIMIT, f"The key has {seats.limit} seats."
    if admission.cause == CUSTOMER_FULL:
        return OVER_CAP, (f"The customer's keys already hold {seats.customer_cap} devices, "
                          "its cap.")
    return REFUSED, admission.message


@transaction.atomic
def bulk_activate(*, key: LicenseKey, text: str, actor: Actor, new_limit: int | None = None
                  ) -> BulkPreview:
    """Activate every valid new line at once, or nothing: the seat rule (the seat limit raised
    to `new_limit` first, if given) must admit all of them. Invalid, duplicate and already
    active lines are skipped. The key row is locked, so the preview is recomputed against
    the seats as they are now."""
    locked = LicenseKey.objects.select_for_update().select_related("product__vendor").get(
        pk=key.pk)
    refusal = key_refusal(locked)
    if refusal is not None:
        raise refusal.refusal()
    if new_limit is not None and new_limit < 0:
        raise DomainError("The number of machines cannot be negative.", field="new_limit")
    preview = _decide_lines(KeySeats.whole(locked, limit=new_limit, lock_customer=True),
                            bulk_parse(text))
    _check_all_admitted(preview)
    if new_limit is not None and new_limit != locked.max_no_of_machines:
        log_change(vendor=locked.product.vendor, actor=actor, obj=locked, action="updated",
                   changes={"max_no_of_machines": [locked.max_no_of_machines, new_limit]})
        locked.max_no_of_machines = new_limit
        locked.save(update_fields=["max_no_of_machines"])
    now = timezone.now()
    Activation.objects.bulk_create(
        [Activation(key=locked, machine_code=line.machine_code,
                    friendly_name=line.friendly_name, time=now)
         for line in preview.to_activate],
        batch_size=1000,
    )
    if preview.starts_trial:
        trial_countdown_start(key=locked, machine_code=preview.to_activate[0].machine_code,
                              actor=actor, now=now)
    log_change(vendor=locked.product.vendor, actor=actor, obj=locked,
               action="devices activated in bulk",
               changes={"devices": [None, len(preview.to_activate)]})
    key.max_no_of_machines, key.expires = locked.max_no_of_machines, locked.expires
    return preview


def _check_all_admitted(preview: BulkPreview) -> None:
    if preview.over_cap:
        raise DomainError(
            f"{preview.over_cap} device(s) would exceed the customer's device cap of "
            f"{preview.customer_cap}.", field="lines")
    if preview.over_limit:
        raise DomainError(
            f"{preview.over_limit} device(s) would exceed the seat limit of {preview.limit}. "
            f"Raise it to at least {preview.seats_needed}.", field="new_limit")
    if not preview.to_activate:
        raise DomainError("There is no new device to activate.", field="lines")
