"""Registered events in batches (ai/RegisterEvents) and the time filter of ai/GetEvents.

The batch is what the .NET client's AI.RegisterEvents sends: `Events`, a JSON array of
{FeatureName, EventName, Value, Currency, Time, Metadata} (RegisterEventsModel / Event in
cryptolens-dotnet Models/WebAPIModels.cs; names in any case, as every Web API name; null for an
unset string). Any bad item refuses the whole batch with "The input parameters were
incorrect.", and nothing of it is stored."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q

from apps.core.errors import DomainError
from apps.usage.models import Event
from apps.usage.sql import from_unix

# One call stores at most this many events. Cryptolens documents no number; a batch is an
# application's buffer of recent events, and 1000 rows keep one INSERT small.
MAX_EVENTS_PER_BATCH = 1000
BAD_INPUT = "The input parameters were incorrect."
# Unix seconds a Time may hold: after 1970, before the year 10000.
LATEST_TIME = 253_402_300_799
INT64 = 2**63
# Field name (lower case) -> (kind, longest text), the limits of ai/RegisterEvent.
EVENT_FIELDS = {"featurename": ("str", 100), "eventname": ("str", 100), "value": ("int", 0),
                "currency": ("str", 10), "time": ("int", 0), "metadata": ("str", 10000)}


@dataclass(frozen=True)
class EventInput:
    """One event of a batch, validated. `time` None: now."""

    feature_name: str = ""
    event_name: str = ""
    value: int = 0
    currency: str = ""
    metadata: str = ""
    time: dt.datetime | None = None


@transaction.atomic
def events_register(*, vendor_id: int, product_id: int | None, key: str, machine_code: str,
                    events: list[EventInput]) -> list[Event]:
    """Store a batch of events of one product, key and device: all of them or, when any is
    refused, none (DomainError)."""
    if not events or len(events) > MAX_EVENTS_PER_BATCH:
        raise DomainError(BAD_INPUT)
    now = dt.datetime.now(tz=dt.UTC)
    return Event.objects.bulk_create([
        Event(vendor_id=vendor_id, product_id=product_id, key=key, machine_code=machine_code,
              feature_name=e.feature_name, event_name=e.event_name, value=e.value,
              currency=e.currency, metadata=e.metadata, time=e.time or now)
        for e in events
    ])


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
        raise DomainError(BAD_INPUT) from None


def events_from_json(text: str | None) -> list[EventInput]:
    """The Events parameter: a JSON array of 1 to MAX_EVENTS_PER_BATCH event objects."""
    items = _json(text) if text is not None else None
    if not isinstance(items, list) or not 0 < len(items) <= MAX_EVENTS_PER_BATCH:
        raise DomainError(BAD_INPUT)
    return [_event(item) for item in items]


def _field(kind: str, longest: int, value: Any) -> Any:
    if kind == "str":
        if not (isinstance(value, str) and len(value) <= longest and "\x00" not in value):
            raise DomainError(BAD_INPUT)
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not -INT64 <= value < INT64:
        raise DomainError(BAD_INPUT)
    return value


def _event(item: Any) -> EventInput:
    if not isinstance(item, dict):
        raise DomainError(BAD_INPUT)
    values: dict[str, Any] = {}
    for name, value in item.items():
        lowered = str(name).lower()
        if lowered not in EVENT_FIELDS:
            raise DomainError(BAD_INPUT)
        if value is None:  # .NET sends null for an unset string
            continue
        if lowered == "metadata" and isinstance(value, dict | list):
            value = json.dumps(value, separators=(",", ":"))  # a JSON object kept as its text
        values[lowered] = _field(*EVENT_FIELDS[lowered], value)
    seconds = values.get("time", 0)
    if not 0 <= seconds <= LATEST_TIME:
        raise DomainError(BAD_INPUT)
    return EventInput(feature_name=values.get("featurename", ""),
                      event_name=values.get("eventname", ""), value=values.get("value", 0),
                      currency=values.get("currency", ""), metadata=values.get("metadata", ""),
                      time=from_unix(seconds) if seconds else None)


def event_time_condition(text: str) -> Q:
    """GetEvents' Time (page GetEvents): Unix seconds (the events of that second) or a JSON
    object of bounds {"gte": …, "gt": …, "lte": …, "lt": …}. A whole-second "lte" or "gt"
    covers the whole second: stored times carry fractions the answers do not show."""
    value = text.strip()
    if value.lstrip("-").isdigit():
        if len(value) > 19:  # past any Unix time (and Python's limit on digits to parse)
            raise DomainError(BAD_INPUT)
        seconds = int(value)
        bounds: Any = {"gte": seconds, "lte": seconds}
    else:
        parsed = _json(value)
        if not isinstance(parsed, dict) or not parsed:
            raise DomainError(BAD_INPUT)
        bounds = {str(k).lower(): v for k, v in parsed.items()}
    if not set(bounds) <= {"gte", "gt", "lte", "lt"} or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= LATEST_TIME
            for v in bounds.values()):
        raise DomainError(BAD_INPUT)
    condition = Q()
    for operator, seconds in bounds.items():
        if operator in ("lte", "gt"):
            edge = from_unix(min(seconds + 1, LATEST_TIME))
            condition &= Q(time__lt=edge) if operator == "lte" else Q(time__gte=edge)
        else:
            edge = from_unix(seconds)
            condition &= Q(time__gte=edge) if operator == "gte" else Q(time__lt=edge)
    return condition
