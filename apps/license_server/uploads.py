"""Taking in the journal a license server uploads: each record becomes a row of the vendor's
Web API log (and, for ai.RegisterEvent, an event), once.

Idempotent: the server gives every record an id when it writes it and sends it again until
the portal confirms. The configuration's row is locked while a batch is stored, so a retry
racing the original upload waits for it and then finds every id already taken."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.errors import DomainError
from apps.licensing import tokens
from apps.licensing.models import Event, WebApiLog

from .models import LicenseServerConfiguration, UploadedRecord
from .server.configuration import PORTAL_REVOKED

MAX_RECORDS_PER_UPLOAD = 500
UNABLE_TO_AUTHENTICATE = "Unable to authenticate."
INCORRECT_INPUT = "The input parameters were incorrect."
# The wire's spelling of each method a license server answers.
METHOD_NAMES = {"key.activate": "key.Activate", "key.getkey": "key.GetKey",
                "key.deactivate": "key.Deactivate", "ai.registerevent": "ai.RegisterEvent"}
MAX_INT = 2**63 - 1


@dataclass(frozen=True)
class UploadResult:
    stored: int
    duplicates: int


def _authenticate(token: str) -> LicenseServerConfiguration:
    decoded = tokens.decode(token)
    configuration = None
    if decoded is not None:
        configuration = (LicenseServerConfiguration.objects.select_for_update()
                         .filter(pk=decoded[0]).first())
    if configuration is None or not tokens.secret_matches(decoded[1],
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
        product_id=_int(record.get("ProductId")) or None, key=str(record.get("Key", ""))[:64],
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


def parse_records(text: str) -> list[dict[str, Any]]:
    try:
        records = json.loads(text)
    except ValueError:
        raise DomainError(INCORRECT_INPUT) from None
    if not isinstance(records, list) or len(records) > MAX_RECORDS_PER_UPLOAD or not all(
            isinstance(r, dict) and isinstance(r.get("Id"), str) and 0 < len(r["Id"]) <= 64
            for r in records):
        raise DomainError(INCORRECT_INPUT)
    return records


@transaction.atomic
def license_server_upload(*, token: str, records: list[dict[str, Any]]) -> UploadResult:
    """Store the records not stored before. A malformed record refuses the whole batch
    (nothing is half-stored; the server keeps it and reports the error in its log)."""
    configuration = _authenticate(token)
    fresh = {r["Id"]: r for r in records}
    seen = set(UploadedRecord.objects.filter(configuration=configuration,
                                             record_id__in=list(fresh))
               .values_list("record_id", flat=True))
    rows, events = [], []
    try:
        for record_id, record in fresh.items():
            if record_id in seen:
                continue
            row = _log_row(configuration, record)
            rows.append(row)
            if isinstance(record.get("Event"), dict):
                events.append(_event(row, record["Event"]))
    except (ValueError, TypeError, KeyError, OverflowError, OSError):
        raise DomainError(INCORRECT_INPUT) from None
    WebApiLog.objects.bulk_create(rows)
    Event.objects.bulk_create(events)
    UploadedRecord.objects.bulk_create(
        [UploadedRecord(configuration=configuration, record_id=i) for i in fresh if i not in seen])
    configuration.last_upload_at = timezone.now()
    configuration.save(update_fields=["last_upload_at"])
    return UploadResult(stored=len(rows), duplicates=len(records) - len(rows))
