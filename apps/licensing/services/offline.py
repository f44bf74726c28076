"""Offline activation: vendor-side activation of a device, and bulk activation of the machine
codes a customer's IT collected."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from apps.core.errors import DomainError

from .. import states
from ..audit import Actor, log_change
from ..models import MAX_MACHINE_CODE_LENGTH, Activation, LicenseKey
from .seats import BLOCKED, LIMIT_REACHED, Device

NEW, ACTIVE, DUPLICATE, INVALID, OVER_LIMIT = "new", "already active", "duplicate", \
    "invalid", "over the seat limit"
HEADER_NAMES = {"machinecode", "machine_code", "machine code", "mid", "code"}
MAX_FRIENDLY_NAME = 255
MAX_LINES = 100_000


@transaction.atomic
def activation_add(*, key: LicenseKey, device: Device, actor: Actor) -> tuple[Activation, bool]:
    """The vendor activates a device on a key (for a license file): allowed whatever the key's
    automatic-activation setting, but never beyond its seat limit. Returns (seat, created)."""
    locked = LicenseKey.objects.select_for_update().select_related("product__vendor").get(
        pk=key.pk)
    if len(device.machine_code) > MAX_MACHINE_CODE_LENGTH or not device.machine_code.strip():
        raise DomainError("Enter a machine code of 1 to 128 characters.", field="machine_code",
                          state=states.ACTIVATION_FAILED)
    if locked.block:
        raise DomainError(BLOCKED, state=states.ACTIVATION_BLOCKED)
    existing = Activation.objects.filter(key=locked, machine_code=device.machine_code,
                                         floating=False).first()
    if existing is not None:
        return existing, False
    used = Activation.objects.filter(key=locked, floating=False).count()
    allowed = device.machine_code in locked.allowed_machine_list
    if locked.max_no_of_machines and used >= locked.max_no_of_machines and not allowed:
        raise DomainError(LIMIT_REACHED, field="machine_code", state=states.ACTIVATION_LIMIT)
    seat = Activation.objects.create(key=locked, machine_code=device.machine_code,
                                     friendly_name=device.friendly_name, ip=device.ip,
                                     time=timezone.now())
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

    @property
    def to_activate(self) -> list[BulkLine]:
        return [line for line in self.lines if line.status == NEW]

    @property
    def over_limit(self) -> int:
        return self.counts.get(OVER_LIMIT, 0)

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
    lines = bulk_parse(text)
    active = set(Activation.objects.filter(key=key, floating=False)
                 .values_list("machine_code", flat=True))
    limit = key.max_no_of_machines if new_limit is None else new_limit
    free = None if limit == 0 else max(0, limit - len(active))
    seen: set[str] = set()
    for line in lines:
        if line.status == INVALID:
            continue
        if line.machine_code in seen:
            line.status, line.reason = DUPLICATE, "Listed earlier in the paste."
        elif line.machine_code in active:
            line.status, line.reason = ACTIVE, "Already activated on this key."
        elif free is not None and free <= 0:
            line.status, line.reason = OVER_LIMIT, f"The key has {limit} seats."
        elif free is not None:
            free -= 1
        seen.add(line.machine_code)
    preview = BulkPreview(lines=lines, limit=limit, in_use=len(active))
    for line in lines:
        preview.counts[line.status] = preview.counts.get(line.status, 0) + 1
    return preview


@transaction.atomic
def bulk_activate(*, key: LicenseKey, text: str, actor: Actor, new_limit: int | None = None
                  ) -> BulkPreview:
    """Activate every valid new line at once, or nothing: the seat limit (raised to
    `new_limit` first, if given) must hold for all of them. Invalid, duplicate and already
    active lines are skipped. The key row is locked, so the preview is recomputed against
    the seats as they are now."""
    locked = LicenseKey.objects.select_for_update().select_related("product__vendor").get(
        pk=key.pk)
    if locked.block:
        raise DomainError(BLOCKED)
    if new_limit is not None and new_limit < 0:
        raise DomainError("The number of machines cannot be negative.", field="new_limit")
    preview = bulk_preview(key=locked, text=text, new_limit=new_limit)
    if preview.over_limit:
        raise DomainError(
            f"{preview.over_limit} device(s) would exceed the seat limit of {preview.limit}. "
            f"Raise it to at least {preview.seats_needed}.", field="new_limit")
    if not preview.to_activate:
        raise DomainError("There is no new device to activate.", field="lines")
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
    log_change(vendor=locked.product.vendor, actor=actor, obj=locked,
               action="devices activated in bulk",
               changes={"devices": [None, len(preview.to_activate)]})
    key.max_no_of_machines = locked.max_no_of_machines
    return preview
