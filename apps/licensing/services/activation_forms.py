"""Activation forms: public pages where an end user without internet on the device turns a
license key and a machine code into a license file (.skm).

A submission follows the Web API's Activate rules (seats.key_activate, which asks
admission.decide_seat), leaves one Web API log row whatever its outcome, and is rate-limited
per IP address and form on failed attempts, so that the page cannot be used to guess keys."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from apps.audit.log import Actor, diff, log_change, snapshot
from apps.core.errors import DomainError
from apps.licensing.license_files import FORMATS, LicenseFile, license_file
from apps.licensing.machine_codes import (
    OFFICIAL,
    PATTERN,
    check_example,
    check_pattern,
    machine_code_matches,
)
from apps.licensing.models import MAX_MACHINE_CODE_LENGTH, ActivationForm, LicenseKey, Product
from apps.licensing.services.admission import NOT_REGISTERED, SeatRefused
from apps.licensing.services.seats import Device, key_activate
from apps.usage import states
from apps.usage.weblog import CallRecord, web_api_log_write

METHOD = "form.Activate"
MACHINE_CODE_FIELDS = ["machine_code_format", "machine_code_pattern", "machine_code_example"]
FORM_FIELDS = ["title", "instructions", "file_format", "ask_friendly_name",
               "allow_new_devices", "validity_days", "enabled", *MACHINE_CODE_FIELDS]
MAX_FRIENDLY_NAME = 255
MAX_KEY_INPUT = 64
MAX_VALIDITY_DAYS = 36_500

# Messages for the end user, who did not write the software and cannot read its log.
FORM_CLOSED = "This activation form is closed. Please contact your software vendor."
UNKNOWN_KEY = ("This license key was not found. Check that you typed it exactly as you "
               "received it, e.g. ABCDE-FGHIJ-KLMNO-PQRST.")
KEY_BLOCKED = "This license key is blocked. Please contact your software vendor."
SEATS_FULL = ("This license key cannot be activated on another computer: all its seats are "
              "in use. Please contact your software vendor.")
BAD_MACHINE_CODE = ("Enter the machine code exactly as your software shows it: 1 to "
                    f"{MAX_MACHINE_CODE_LENGTH} characters, on one line.")
NOT_A_MACHINE_CODE = ("This is not a machine code. Copy it again from your software: the "
                      "format is described above.")
BAD_FRIENDLY_NAME = (f"The device name can have at most {MAX_FRIENDLY_NAME} characters, "
                     "on one line.")
NEW_DEVICE_REFUSED = ("This computer is not registered for this license key, and this form "
                      "only serves registered computers. Please contact your software vendor.")
TOO_MANY_ATTEMPTS = "Too many failed attempts. Please try again later."


class TooManyAttempts(DomainError):
    """Refused before any check: this IP address failed too often on this form."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(TOO_MANY_ATTEMPTS, state=states.ACTIVATION_FAILED)
        self.retry_after = retry_after


# --- Rate limit on failed attempts -------------------------------------------------------


def _limits() -> tuple[int, int]:
    window = max(1, int(getattr(settings, "ACTIVATION_FORM_FAILURE_WINDOW_SECONDS", 600)))
    return int(getattr(settings, "ACTIVATION_FORM_MAX_FAILURES", 10)), window


def _bucket(form: ActivationForm, ip: str | None) -> tuple[str, int]:
    """The cache key counting this IP's failures on this form in the current fixed window,
    and the seconds left in that window."""
    _, window = _limits()
    now = int(time.time())
    return f"activation-form-fail:{form.pk}:{ip or '-'}:{now // window}", window - now % window


def activation_form_retry_after(*, form: ActivationForm, ip: str | None) -> int:
    """Seconds until `ip` may try `form` again; 0 when it may now."""
    limit, _ = _limits()
    key, left = _bucket(form, ip)
    return left if (cache.get(key) or 0) >= limit else 0


def _record_failure(form: ActivationForm, ip: str | None) -> None:
    key, left = _bucket(form, ip)
    if not cache.add(key, 1, timeout=left + 1):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=left + 1)


# --- The public submission ---------------------------------------------------------------


def activation_form_public(*, slug: str) -> ActivationForm | None:
    """The form behind a public URL, when it is open (its own switch and its product's)."""
    return (ActivationForm.objects.select_related("product__vendor")
            .filter(slug=slug, enabled=True, product__activation_form_enabled=True).first())


def activation_form_submit(*, form: ActivationForm, key_string: str, machine_code: str,
                           friendly_name: str = "", ip: str | None = None) -> LicenseFile:
    """Activate a device through a public form and return its license file.

    Same seat rules as the Web API's Activate (node-locked, automatic activation, allowed
    machines); a form that allows no new devices serves only devices already activated on the
    key or listed in its allowed machines. A key of another product is "not found", like a
    key that does not exist. Every attempt writes one Web API log row; failures count towards
    the rate limit, and once over it nothing is checked at all.

    Not atomic as a whole on purpose: the log row and the failure count must survive the
    rollback of a refused activation."""
    friendly_name = friendly_name.strip() if form.ask_friendly_name else ""
    record = CallRecord(vendor_id=form.product.vendor_id, method=METHOD,
                        state=states.ACTIVATION_FAILED, product_id=form.product_id,
                        key=_printable(key_string.strip()[:MAX_KEY_INPUT]), ip=ip,
                        machine_code=_printable(machine_code),
                        friendly_name=_printable(friendly_name))
    retry_after = activation_form_retry_after(form=form, ip=ip)
    if retry_after:
        web_api_log_write(record)
        raise TooManyAttempts(retry_after)
    try:
        result_state, file = _activate(form, key_string, machine_code.strip(), friendly_name,
                                       ip)
    except DomainError as error:
        _record_failure(form, ip)
        record.state = error.state or states.ACTIVATION_FAILED
        web_api_log_write(record)
        raise
    record.state = result_state
    web_api_log_write(record)
    return file


@transaction.atomic
def _activate(form: ActivationForm, key_string: str, machine_code: str, friendly_name: str,
              ip: str | None) -> tuple[int, LicenseFile]:
    _check_open(form)
    _check_device(form, machine_code, friendly_name)
    key = LicenseKey.objects.filter(product_id=form.product_id,
                                    key=key_string.strip().upper()[:MAX_KEY_INPUT]).first()
    if key is None:
        raise DomainError(UNKNOWN_KEY, field="key", state=states.ACTIVATION_FAILED)
    try:
        seat = key_activate(key=key, device=Device(machine_code, friendly_name, ip),
                            actor=Actor.for_system(f"activation form {form.slug}"),
                            registered_only=not form.allow_new_devices)
    except DomainError as error:
        raise _for_end_user(error) from error
    return seat.state, license_file(key=key, current=seat.activation,
                                    file_format=form.file_format)


def _check_open(form: ActivationForm) -> None:
    # The page 404s for a closed form; this covers a form closed while the page was open.
    fresh = ActivationForm.objects.filter(pk=form.pk).values_list(
        "enabled", "product__activation_form_enabled").first()
    if fresh is None or not all(fresh):
        raise DomainError(FORM_CLOSED, state=states.ACTIVATION_FAILED)


def _check_device(form: ActivationForm, machine_code: str, friendly_name: str) -> None:
    if not machine_code or len(machine_code) > MAX_MACHINE_CODE_LENGTH \
            or _has_control_characters(machine_code):
        raise DomainError(BAD_MACHINE_CODE, field="machine_code",
                          state=states.ACTIVATION_FAILED)
    # Before the key is even looked up: a code no client prints never takes a seat.
    pattern = form.machine_code_pattern if form.machine_code_format == PATTERN else ""
    if not machine_code_matches(machine_code, pattern=pattern):
        raise DomainError(NOT_A_MACHINE_CODE, field="machine_code",
                          state=states.ACTIVATION_FAILED)
    if len(friendly_name) > MAX_FRIENDLY_NAME or _has_control_characters(friendly_name):
        raise DomainError(BAD_FRIENDLY_NAME, field="friendly_name",
                          state=states.ACTIVATION_FAILED)


def _has_control_characters(text: str) -> bool:
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def _printable(text: str) -> str:
    # What was typed goes into the log as it was, except characters PostgreSQL refuses (NUL)
    # or that would garble a log line.
    return "".join("\ufffd" if _has_control_characters(c) else c for c in text)


def _for_end_user(error: DomainError) -> DomainError:
    """Seat refusals in words for the end user, with the Web API's state code kept."""
    if isinstance(error, SeatRefused) and error.cause == NOT_REGISTERED:
        return DomainError(NEW_DEVICE_REFUSED, field="machine_code", state=error.state)
    if error.state == states.ACTIVATION_BLOCKED:
        return DomainError(KEY_BLOCKED, field="key", state=error.state)
    if error.state == states.ACTIVATION_LIMIT:
        return DomainError(SEATS_FULL, field="key", state=error.state)
    if error.state == states.ACTIVATION_FAILED:
        return DomainError(BAD_MACHINE_CODE, field="machine_code", state=error.state)
    return error


# --- Vendor side --------------------------------------------------------------------------


def _check_fields(values: dict[str, Any], current: ActivationForm | None = None) -> None:
    unknown = set(values) - set(FORM_FIELDS)
    if unknown:
        raise TypeError(f"Unknown activation form fields: {sorted(unknown)}")
    if "title" in values and not str(values["title"]).strip():
        raise DomainError("Give the form a title.", field="title")
    if "file_format" in values and values["file_format"] not in dict(FORMATS):
        raise DomainError("Choose a file format.", field="file_format")
    if "validity_days" in values and not 1 <= int(values["validity_days"]) <= MAX_VALIDITY_DAYS:
        raise DomainError(f"Choose between 1 and {MAX_VALIDITY_DAYS} days.",
                          field="validity_days")
    if set(values) & set(MACHINE_CODE_FIELDS):
        _check_machine_code_settings(
            {name: values.get(name, getattr(current, name, "") if current else "")
             for name in MACHINE_CODE_FIELDS})


def _check_machine_code_settings(chosen: dict[str, Any]) -> None:
    """A vendor's own pattern compiles, is safe to run, and accepts its example, which the
    public page shows to end users."""
    kind, pattern, example = (str(chosen[name] or "") for name in MACHINE_CODE_FIELDS)
    if kind not in (OFFICIAL, PATTERN):
        raise DomainError("Choose which machine codes the form accepts.",
                          field="machine_code_format")
    if pattern:
        check_pattern(pattern)
    if kind == PATTERN:
        if not pattern:
            raise DomainError("Give the pattern your machine codes follow.",
                              field="machine_code_pattern")
        if not example:
            raise DomainError("Give an example machine code; the page shows it to end users.",
                              field="machine_code_example")
        check_example(example, pattern=pattern)


@transaction.atomic
def activation_form_create(*, product: Product, actor: Actor, title: str,
                           **fields: Any) -> ActivationForm:
    """A new public activation form for `product`, with a fresh random URL."""
    _check_fields({"title": title, **fields})
    form = ActivationForm.objects.create(product=product, title=title.strip(), **fields)
    log_change(vendor=product.vendor, actor=actor, obj=form, action="created",
               changes=diff({}, snapshot(form, ["product", *FORM_FIELDS])))
    return form


@transaction.atomic
def activation_form_update(*, form: ActivationForm, actor: Actor,
                           **fields: Any) -> ActivationForm:
    _check_fields(fields, current=form)
    before = snapshot(form, FORM_FIELDS)
    for name, value in fields.items():
        setattr(form, name, value.strip() if name == "title" else value)
    form.save(update_fields=[*fields, "updated"])
    changes = diff(before, snapshot(form, FORM_FIELDS))
    if changes:
        log_change(vendor=form.product.vendor, actor=actor, obj=form, action="updated",
                   changes=changes)
    return form


@transaction.atomic
def activation_form_delete(*, form: ActivationForm, actor: Actor) -> None:
    """Remove a form: its URL stops working. Devices it activated keep their seats."""
    before = snapshot(form, ["slug", *FORM_FIELDS])
    log_change(vendor=form.product.vendor, actor=actor, obj=form, action="deleted",
               changes={name: [value, None] for name, value in before.items()})
    form.delete()
