"""Taking in the journal a license server uploads: each record becomes a row of the vendor's
Web API log (and, for ai.RegisterEvent, an event; for a change to a data object made offline,
that change: see usage.py), once.

Only what the configuration covers is stored (see `_covered`): a record for a key outside the
configuration's scope, or timed outside its validity, is refused and counted, never stored.
The upload token is checked before the records are parsed, and the records' size and nesting
are bounded before `json.loads` sees them.

Idempotent: the server gives every record an id when it writes it and sends it again until
the portal confirms. The configuration's row is locked while a batch is stored, so a retry
racing the original upload waits for it and then finds every id already taken."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.errors import DomainError
from apps.licensing import tokens
from apps.licensing.models import LicenseKey
from apps.usage.models import Event, WebApiLog
from apps.webhooks.services import emit

from .configuration_file import PORTAL_REVOKED
from .models import LicenseServerConfiguration, UploadedRecord
from .usage import usage_apply

MAX_RECORDS_PER_UPLOAD = 500
# Under Django's 2.5 MB request limit; the server's batches of 200 are about 60 kB.
MAX_RECORDS_LENGTH = 2_000_000
# [records] > {record} > {"Event": {...}} or {"Usage": {...}}: nothing deeper.
MAX_DEPTH = 3
# A license server's clock may be a little off the portal's.
CLOCK_SKEW = dt.timedelta(minutes=5)
UNABLE_TO_AUTHENTICATE = "Unable to authenticate."
INCORRECT_INPUT = "The input parameters were incorrect."
# The wire's spelling of each method a license server answers.
METHOD_NAMES = {"key.activate": "key.Activate", "key.getkey": "key.GetKey",
                "key.deactivate": "key.Deactivate", "ai.registerevent": "ai.RegisterEvent",
                "data.incrementintvaluetokey": "data.IncrementIntValueToKey",
                "data.decrementintvaluetokey": "data.DecrementIntValueToKey"}
MAX_INT = 2**63 - 1


@dataclass(frozen=True)
class UploadResult:
    stored: int
    duplicates: int
    refused: int = 0
    usage_applied: int = 0  # changes to data objects made (see usage.py)
    usage_failed: int = 0  # ... that the portal could not make (logged as 8020)


def _authenticate(token: str) -> LicenseServerConfiguration:
    decoded = tokens.decode(token)
    if decoded is None:
        raise DomainError(UNABLE_TO_AUTHENTICATE)
    configuration_id, secret = decoded
    configuration = (LicenseServerConfiguration.objects.select_for_update()
                     .filter(pk=configuration_id).first())
    if configuration is None or not tokens.secret_matches(secret,
                                                          configuration.upload_secret_hash):
        raise DomainError(UNABLE_TO_AUTHENTICATE)
    if configuration.revoked_at is not None:
        raise DomainError(PORTAL_REVOKED)
    return configuration


def _time(value: Any) -> dt.datetime | None:
    if value in (None, "", 0):
        return None
    return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)


def _ip(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    number = int(value) if value not in (None, "") else None
    return number if number is None or 0 <= number <= MAX_INT else None


def _log_row(configuration: LicenseServerConfiguration, record: dict[str, Any]) -> WebApiLog:
    """Raises ValueError/TypeError/KeyError for a record that is not well-formed."""
    state = int(record["State"])
    if not 1000 <= state <= 9999:
        raise ValueError("state out of range")
    source = str(record.get("Source", ""))[:20]
    agent = f"license server {configuration.pk} ({source}) {record.get('UserAgent', '')}"
    return WebApiLog(
        vendor_id=configuration.vendor_id, time=_time(record["Time"]) or timezone.now(),
        product_id=_int(record.get("ProductId")) or None,
        key=str(record.get("Key") or "").strip()[:64],
        ip=_ip(record.get("IP")), state=state,
        machine_code=str(record.get("MachineCode", ""))[:128],
        friendly_name=str(record.get("FriendlyName", ""))[:255],
        floating_expires=_time(record.get("FloatingExpires")),
        method=METHOD_NAMES[str(record["Method"]).lower()], user_agent=agent.strip()[:255])


def _event(row: WebApiLog, event: dict[str, Any]) -> Event:
    return Event(vendor_id=row.vendor_id, time=row.time, product_id=row.product_id,
                 key=row.key, machine_code=row.machine_code,
                 feature_name=str(event.get("FeatureName", ""))[:100],
                 event_name=str(event.get("EventName", ""))[:100],
                 value=_int(event.get("Value")) or 0,
                 currency=str(event.get("Currency", ""))[:10],
                 metadata=str(event.get("Metadata", ""))[:10000])


# Backslash escapes first, so that a string's end is simply its next quote: every pattern
# here is linear (no backtracking on hostile input).
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# The outer list, each record and its event or usage: two brackets each.
MAX_BRACKETS = 2 + 4 * MAX_RECORDS_PER_UPLOAD


def _shallow(text: str) -> bool:
    """True when `text` has at most MAX_BRACKETS brackets outside strings and none nested
    deeper than MAX_DEPTH. Checked before json.loads, whose recursion a few thousand `[`
    would otherwise exhaust. (Exact for valid JSON; invalid JSON fails json.loads anyway.)"""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    if len(brackets) > MAX_BRACKETS:
        return False
    depth = 0
    for bracket in brackets:
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            return False
    return True


def parse_records(text: str) -> list[dict[str, Any]]:
    if len(text) > MAX_RECORDS_LENGTH or not _shallow(text):
        raise DomainError(INCORRECT_INPUT)
    try:
        records = json.loads(text)
    except (ValueError, RecursionError):
        raise DomainError(INCORRECT_INPUT) from None
    if not isinstance(records, list) or len(records) > MAX_RECORDS_PER_UPLOAD or not all(
            isinstance(r, dict) and isinstance(r.get("Id"), str) and 0 < len(r["Id"]) <= 64
            for r in records):
        raise DomainError(INCORRECT_INPUT)
    return records


def _covered(configuration: LicenseServerConfiguration, rows: list[WebApiLog]
             ) -> tuple[set[tuple[int, str]], set[int]]:
    """The (product id, key) pairs among `rows` that the configuration covers, and the
    products a keyless record (ai.RegisterEvent) may name.

    Covered: the configuration's floating keys, and the other keys its server may answer
    for from its cache or license files: those of the configuration's customer or, when it
    names none, any key of its vendor. Never another vendor's product or key."""
    scope = LicenseKey.objects.for_vendor(configuration.vendor)
    if configuration.customer_id is not None:
        scope = scope.filter(Q(customer_id=configuration.customer_id)
                             | Q(pk__in=configuration.keys.values("pk")))
    product_ids = {row.product_id for row in rows if row.product_id}
    keys = set(scope.filter(product_id__in=product_ids,
                            key__in={row.key for row in rows if row.key})
               .values_list("product_id", "key"))
    products = set(scope.filter(product_id__in={row.product_id for row in rows
                                                if row.product_id and not row.key})
                   .values_list("product_id", flat=True).distinct())
    return keys, products


def _accepted(configuration: LicenseServerConfiguration, rows: dict[str, WebApiLog]
              ) -> set[str]:
    """The ids of the rows the configuration covers, timed within its validity (from its
    issue to its end, and never in the future, give or take CLOCK_SKEW)."""
    earliest = configuration.created - CLOCK_SKEW
    latest = min(configuration.valid_until, timezone.now() + CLOCK_SKEW)
    timely = {i: row for i, row in rows.items() if earliest <= row.time <= latest}
    keys, products = _covered(configuration, list(timely.values()))
    return {i for i, row in timely.items()
            if ((row.product_id, row.key) in keys if row.key else row.product_id in products)}


@transaction.atomic
def license_server_upload(*, token: str, records_text: str) -> UploadResult:
    """Store the records not stored before that the configuration covers; refuse (count,
    never store) the others. The token is checked before the records are read. A malformed
    record refuses the whole batch (nothing is half-stored; the server keeps it and reports
    the error in its log). Changes to data objects are applied in this transaction, with the
    ids that mark their records as received: exactly once, however often one is sent."""
    configuration = _authenticate(token)
    records = parse_records(records_text)
    fresh = {r["Id"]: r for r in records}
    seen = set(UploadedRecord.objects.filter(configuration=configuration,
                                             record_id__in=list(fresh))
               .values_list("record_id", flat=True))
    try:
        rows = {i: _log_row(configuration, r) for i, r in fresh.items() if i not in seen}
        accepted = _accepted(configuration, rows)
        events = [_event(row, fresh[i]["Event"]) for i, row in rows.items()
                  if i in accepted and isinstance(fresh[i].get("Event"), dict)]
        applied, failed = usage_apply(configuration=configuration, records=fresh,
                                      rows={i: row for i, row in rows.items() if i in accepted})
    except (ValueError, TypeError, KeyError, OverflowError, OSError):
        raise DomainError(INCORRECT_INPUT) from None
    WebApiLog.objects.bulk_create([rows[i] for i in rows if i in accepted])
    Event.objects.bulk_create(events)
    UploadedRecord.objects.bulk_create(
        [UploadedRecord(configuration=configuration, record_id=i) for i in rows if i in accepted])
    received = configuration.last_upload_at = timezone.now()
    configuration.save(update_fields=["last_upload_at"])
    refused = len(rows) - len(accepted)
    emit(vendor_id=configuration.vendor_id, type="license_server.upload_received",
         data=lambda: {
             "ConfigurationId": configuration.pk, "Name": str(configuration),
             "Stored": len(accepted), "Refused": refused,
             "Duplicates": len(records) - len(accepted) - refused,
             "UsageApplied": applied, "UsageFailed": failed,
             "ReceivedAt": int(received.timestamp())})
    return UploadResult(stored=len(accepted), refused=refused,
                        duplicates=len(records) - len(accepted) - refused,
                        usage_applied=applied, usage_failed=failed)
