"""ai/* methods: registered events, the Web API log (with the anomaly findings), the object log
and the usage analytics computed from the log (apps.usage.analytics).

Sources: app.cryptolens.io/docs/api/v3 pages RegisterEvent, RegisterEvents, GetEvents,
GetWebAPILog, GetObjectLog, GetDailyAggregates, GetDailyCountryAggregates,
GetKeyUsageSummaries, GetKeyDevices, GetLicenseActivityBuckets and their model pages; the
Python client `licensing` 0.54 (class AI); the .NET client (SKMv3/AI.cs, RegisterEventsModel,
WebAPILog, EventObject in Models/WebAPIModels.cs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from apps.anomalies.models import Finding
from apps.core.errors import DomainError
from apps.licensing.license_payload import unix
from apps.licensing.models import LicenseKey
from apps.usage import analytics
from apps.usage.events import (
    LATEST_TIME,
    MAX_EVENTS_PER_BATCH,
    event_time_condition,
    events_from_json,
    events_register,
)
from apps.usage.models import Event, WebApiLog
from apps.usage.sql import from_unix
from apps.usage.weblog import event_register

from .. import access, errors
from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..registry import Param, api_method
from .common import P_KEY, P_PRODUCT

P_LIMIT = Param("Limit", "int", "Entries per call (at most 100).", "10")
P_AFTER = Param("StartingAfter", "int", "Only entries with a larger id.")
P_BEFORE = Param("EndingBefore", "int", "Only entries with a smaller id, newest first.")
P_MACHINE = Param("MachineCode", "string", "The device.")
ERRS = (errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
        errors.PRODUCT_NOT_FOUND, errors.KEY_NOT_FOUND, errors.KEY_LOCKED)


@api_method(
    "ai.RegisterEvent", reach=Reach.KEY,
    summary="Record an event from your software (feature use, payment...).",
    params=(Param("ProductId", "int", "Product (needed when Key is given)."), P_KEY,
            P_MACHINE,
            Param("FeatureName", "string", "At most 100 characters."),
            Param("EventName", "string", "At most 100 characters."),
            Param("Value", "int", "An amount (e.g. cents).", "0"),
            Param("Currency", "string", "e.g. USD."),
            Param("Metadata", "string", "Free text or JSON, at most 10,000 characters.")),
    errors=ERRS)
def register_event(ctx: ApiContext) -> dict[str, Any]:
    product_id, key_string, machine_code = _event_owner(ctx)
    event_register(
        vendor_id=ctx.vendor.pk, product_id=product_id, key=key_string,
        machine_code=machine_code,
        feature_name=ctx.params.str("FeatureName", max_length=100),
        event_name=ctx.params.str("EventName", max_length=100),
        value=ctx.params.int("Value", 0), currency=ctx.params.str("Currency", max_length=10),
        metadata=ctx.params.str("Metadata", max_length=10000),
    )
    return {}


def _event_owner(ctx: ApiContext) -> tuple[int | None, str, str]:
    """ProductId, Key (which needs ProductId and must exist) and MachineCode of an event; a
    locked token's events belong to its product (apps.api.access.event_product_id)."""
    product = ctx.product(required=False)
    key_string = ctx.params.str("Key", max_length=64)
    if key_string:
        if product is None:
            raise ApiError(errors.PRODUCT_NOT_FOUND)
        ctx.key(devices=False)
    machine_code = ctx.params.str("MachineCode", max_length=128)
    ctx.record.machine_code = machine_code
    return (access.event_product_id(ctx.token, product.pk if product else None), key_string,
            machine_code)


@api_method(
    "ai.RegisterEvents", reach=Reach.KEY,
    summary="Record several events of one product, key and device in one call: all of them "
            f"or none. At most {MAX_EVENTS_PER_BATCH} events.",
    params=(Param("ProductId", "int", "Product (needed when Key is given)."), P_KEY, P_MACHINE,
            Param("Events", "JSON array", 'Objects {"FeatureName", "EventName", "Value" '
                  '(integer), "Currency", "Time" (Unix seconds; now when 0 or missing), '
                  '"Metadata" (string, or a JSON object kept as its text)}, names in any case, '
                  'as the .NET client\'s AI.RegisterEvents sends them. One bad event refuses '
                  'the whole batch.')),
    errors=ERRS)
def register_events(ctx: ApiContext) -> dict[str, Any]:
    product_id, key_string, machine_code = _event_owner(ctx)
    try:
        events_register(vendor_id=ctx.vendor.pk, product_id=product_id, key=key_string,
                        machine_code=machine_code,
                        events=events_from_json(ctx.params.raw("Events")))
    except DomainError as exc:
        raise ApiError(exc.message) from None
    return {}


def _scope(ctx: ApiContext, queryset: QuerySet) -> QuerySet:
    """Narrow a log to the token's locks and the ProductId/Key asked for."""
    product = ctx.product(required=False)
    queryset = access.log_rows(ctx.token, queryset)
    if product is not None:
        queryset = queryset.filter(product_id=product.pk)
    if ctx.params.str("Key", max_length=64):
        if product is None:
            raise ApiError(errors.PRODUCT_NOT_FOUND)
        queryset = queryset.filter(key=ctx.key(devices=False).key)
    return queryset


def _page(ctx: ApiContext, queryset: QuerySet, max_limit: int) -> list:
    """Id cursors and OrderBy. The order is "Id ascending" unless EndingBefore is given, then
    "Id descending" (page GetWebAPILog: "unless EndingBefore is specified, in which case it
    will be set to Id descending")."""
    limit = ctx.params.int("Limit", 10, minimum=1, maximum=10**6)
    after = ctx.params.int("StartingAfter", 0)
    before = ctx.params.int("EndingBefore", 0)
    if after:
        queryset = queryset.filter(id__gt=after)
    if before:
        queryset = queryset.filter(id__lt=before)
    default = "Id descending" if before else "Id ascending"
    order = ctx.params.str("OrderBy", default, max_length=50).strip().lower()
    descending = order.endswith("descending") or order.endswith("desc")
    if order.split()[0] not in ("id", "time"):
        raise ApiError(errors.INCORRECT_INPUT)
    field = "time" if order.startswith("time") else "id"
    queryset = queryset.order_by(f"-{field}" if descending else field,
                                 "-id" if descending else "id")
    return list(queryset[: min(limit, max_limit)])


@api_method(
    "ai.GetEvents", reach=Reach.LISTING, summary="List registered events.",
    params=(P_PRODUCT, P_KEY, P_LIMIT, P_AFTER, P_BEFORE,
            Param("Time", "int or JSON", 'Unix seconds (events of that second), or '
                  '{"gte": …, "gt": …, "lte": …, "lt": …}, e.g. '
                  '{"gte":1534407953,"lte":1534422362}.'),
            Param("Metadata", "string", "Only events with exactly this metadata.")),
    returns="events: id, productId, key, machineCode, featureName, eventName, value, "
            "currency, time, metadata",
    errors=ERRS)
def get_events(ctx: ApiContext) -> dict[str, Any]:
    events = _scope(ctx, Event.objects.filter(vendor=ctx.vendor))
    time = ctx.params.raw("Time")
    if time is not None:
        try:
            events = events.filter(event_time_condition(time))
        except DomainError as exc:
            raise ApiError(exc.message) from None
    metadata = ctx.params.raw("Metadata")
    if metadata is not None:
        events = events.filter(metadata=metadata)
    return {"events": [
        {"id": e.pk, "productId": e.product_id or 0, "key": e.key,
         "machineCode": e.machine_code, "featureName": e.feature_name,
         "eventName": e.event_name, "value": e.value, "currency": e.currency,
         "time": unix(e.time), "metadata": e.metadata}
        for e in _page(ctx, events, 100)
    ]}


@api_method(
    "ai.GetWebAPILog", reach=Reach.LISTING, summary="List Web API calls with their state codes.",
    params=(P_PRODUCT, P_KEY,
            Param("MachineCode", "string", "Exact machine code."),
            Param("FriendlyName", "string", "Friendly name contains (any case)."),
            Param("States", "JSON array", "Only these state codes, e.g. [2010,2011]."),
            Param("Limit", "int", "Entries per call (at most 1000).", "10"),
            P_AFTER, P_BEFORE,
            Param("OrderBy", "string", '"Id ascending", "Id descending", "Time descending".',
                  "Id ascending (Id descending with EndingBefore)"),
            Param("AnomalyClassification", "bool", "Add isAnomaly and anomalyProperties "
                  "{groupId, startingAt, endingAt} from the anomaly findings: a call is "
                  "anomalous when a finding (not marked as expected) counts it.", "false")),
    returns="logs: id, productId, key, ip, time, state, machineCode, friendlyName, "
            "floatingExpires, doIntValue, doId (+ isAnomaly, anomalyProperties)",
    errors=ERRS)
def get_web_api_log(ctx: ApiContext) -> dict[str, Any]:
    logs = _scope(ctx, WebApiLog.objects.filter(vendor=ctx.vendor))
    machine_code = ctx.params.str("MachineCode", max_length=128)
    if machine_code:
        logs = logs.filter(machine_code=machine_code)
    friendly = ctx.params.str("FriendlyName", max_length=255)
    if friendly:
        logs = logs.filter(friendly_name__icontains=friendly)
    wanted = ctx.params.int_list("States")
    if wanted:
        logs = logs.filter(state__in=wanted)
    classify = ctx.params.bool("AnomalyClassification")
    rows = _page(ctx, logs, 1000)
    findings = _findings_of(ctx, rows) if classify else {}
    answer = []
    for log in rows:
        item = {"id": log.pk, "productId": log.product_id or 0, "key": log.key,
                "ip": log.ip or "", "time": unix(log.time), "state": log.state,
                "machineCode": log.machine_code, "friendlyName": log.friendly_name,
                "floatingExpires": unix(log.floating_expires) if log.floating_expires else 0,
                "doIntValue": log.do_int_value or 0, "doId": log.do_id or 0}
        if classify:
            finding = findings.get(log.pk)
            item["isAnomaly"] = finding is not None
            item["anomalyProperties"] = None if finding is None else {
                "groupId": finding.pk, "startingAt": min(finding.log_ids),
                "endingAt": max(finding.log_ids)}
        answer.append(item)
    return {"logs": answer}


def _findings_of(ctx: ApiContext, rows: list[WebApiLog]) -> dict[int, Finding]:
    """Log row id -> the finding that counts it (the highest-scoring one). A finding names
    the log rows behind it (Finding.log_ids, every row of its flagged windows), which is
    Cryptolens' "the group of requests that the log entry is part of was classified as
    anomalous" (help page Anomaly detection: Group Id, Starting At, Ending At). Only findings
    of the page's keys or IPs whose span overlaps the page's times are read."""
    if not rows:
        return {}
    times = [row.time for row in rows]
    keys = {row.key for row in rows if row.key}
    ips = {row.ip for row in rows if row.ip}
    findings = (Finding.objects.for_vendor(ctx.vendor)
                .exclude(status=Finding.Status.EXPECTED)
                .filter(start__lte=max(times), end__gte=min(times))
                .filter(Q(subject_kind="key", subject__in=keys)
                        | Q(subject_kind="ip", subject__in=ips))
                .only("id", "log_ids").order_by("-score", "id"))
    ids = {row.pk for row in rows}
    counted: dict[int, Finding] = {}
    for finding in findings:
        for row_id in ids.intersection(int(i) for i in finding.log_ids):
            counted.setdefault(row_id, finding)
    return counted


@api_method(
    "ai.GetObjectLog", reach=Reach.LISTING,
    summary="List the object log: who added, changed or removed which key, product, customer "
            "... and when (the portal's audit log).",
    params=(P_PRODUCT, P_KEY, P_LIMIT, P_AFTER, P_BEFORE),
    returns="logs (also as events, the name the documentation uses): id, time, objectType, "
            "objectId, objectName, action, changes, actorType, actorId, actorName",
    errors=ERRS)
def get_object_log(ctx: ApiContext) -> dict[str, Any]:
    product = ctx.product(required=False)
    key_id = None
    if ctx.params.str("Key", max_length=64):
        if product is None:
            raise ApiError(errors.PRODUCT_NOT_FOUND)
        key_id = ctx.key(devices=False).pk
    rows = access.object_log_rows(ctx.token, product_id=product.pk if product else None,
                                  key_id=key_id)
    entries = [{"id": e.pk, "time": unix(e.time), "objectType": e.object_type,
                "objectId": e.object_id, "objectName": e.object_repr, "action": e.action,
                "changes": e.changes, "actorType": e.actor_type, "actorId": e.actor_id or 0,
                "actorName": e.actor_label}
               for e in _page(ctx, rows, 100)]
    # The page GetObjectLog calls the list "Events"; its sibling GetWebAPILog answers "logs"
    # where its page said "Events" too. No client reads it yet: both names, one list.
    return {"logs": entries, "events": entries}


# --- Usage analytics (apps.usage.analytics) ---------------------------------------------------

U_LIMIT = Param("Limit", "int", "Entries per call (at most 1000).", "100")
U_AFTER = Param("StartingAfter", "int", "Only entries with a larger id (ascending).")
U_BEFORE = Param("EndingBefore", "int", "Only entries with a smaller id (descending); wins "
                 "over StartingAfter.")
U_KEY_ID = Param("KeyId", "int", "The license key's id.")
U_KEY = Param("Key", "string", "The license key string (needs ProductId).")
U_DEVICE = Param("MachineCode", "string", "The device (compared trimmed, in upper case).")
IDS = (" Ids: the id of the first Web API log row counted (stable; new entries get higher "
       "ids).")


def _date(ctx: ApiContext, name: str) -> int | None:
    """A yyyy-MM-dd parameter as the Unix second its UTC day starts."""
    text = ctx.params.raw(name)
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ApiError(errors.INCORRECT_INPUT) from None
    if len(text.strip()) != 10:
        raise ApiError(errors.INCORRECT_INPUT)
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _range(ctx: ApiContext) -> tuple[int | None, int | None]:
    """Start (first second of that day) and the first second after End's day."""
    start, end = _date(ctx, "Start"), _date(ctx, "End")
    if end is not None and end + 86400 > LATEST_TIME:  # End=9999-12-31: no upper bound
        end = None
    return start, None if end is None else end + 86400


def _product_rows(ctx: ApiContext) -> QuerySet:
    """The token's log rows (its locks, apps.api.access.log_rows) of ProductId."""
    rows = access.log_rows(ctx.token, WebApiLog.objects.all())
    product = ctx.product(required=False)
    return rows if product is None else rows.filter(product_id=product.pk)


def _key_rows(ctx: ApiContext) -> QuerySet | None:
    """The token's log rows of ProductId, KeyId and Key (Key needs ProductId). None: nothing
    can match (a KeyId that is none of the keys the token may read)."""
    rows = _scope(ctx, WebApiLog.objects.all())
    key_id = ctx.params.int("KeyId", 0)
    if key_id:
        key = access.keys(ctx.token, LicenseKey.objects.filter(pk=key_id)).first()
        if key is None:
            return None
        rows = rows.filter(product_id=key.product_id, key=key.key)
    return rows


def _usage_page(ctx: ApiContext) -> analytics.Page:
    return analytics.Page(limit=min(ctx.params.int("Limit", 100, minimum=1, maximum=10**6),
                                    1000),
                          after=ctx.params.int("StartingAfter", 0),
                          before=ctx.params.int("EndingBefore", 0))


def _in_range(rows: QuerySet, start: int | None, end: int | None) -> QuerySet:
    if start is not None:
        rows = rows.filter(time__gte=from_unix(start))
    if end is not None:
        rows = rows.filter(time__lt=from_unix(end))
    return rows


@api_method(
    "ai.GetDailyAggregates", reach=Reach.LISTING,
    summary="Web API calls per product and UTC day: total, successful, failed, active "
            "devices, keys and customers." + IDS,
    params=(P_PRODUCT, U_LIMIT, U_AFTER, U_BEFORE,
            Param("Start", "yyyy-MM-dd", "From this day."),
            Param("End", "yyyy-MM-dd", "Up to and including this day.")),
    returns="aggregates: id, productId, date, totalRequestsLogged, successful, failed, "
            "activeDevices, activeKeys, activeCustomers",
    errors=ERRS)
def get_daily_aggregates(ctx: ApiContext) -> dict[str, Any]:
    page, (start, end) = _usage_page(ctx), _range(ctx)
    rows = _product_rows(ctx)
    return {"aggregates": analytics.daily_aggregates(_in_range(rows, start, end), page)}


@api_method(
    "ai.GetDailyCountryAggregates", reach=Reach.LISTING,
    summary="Web API calls per product, UTC day and caller's country (calls from an unknown "
            "country left out)." + IDS,
    params=(P_PRODUCT, Param("CountryCode", "string", "Two letters, e.g. US or SE."), U_LIMIT,
            U_AFTER, U_BEFORE, Param("Start", "yyyy-MM-dd", "From this day."),
            Param("End", "yyyy-MM-dd", "Up to and including this day.")),
    returns="aggregates: id, productId, date, countryCode, totalRequests, successful, failed",
    errors=ERRS)
def get_daily_country_aggregates(ctx: ApiContext) -> dict[str, Any]:
    page, (start, end) = _usage_page(ctx), _range(ctx)
    rows = _product_rows(ctx)
    country = ctx.params.str("CountryCode", max_length=2).strip().upper()
    if country:
        rows = rows.filter(country=country)
    return {"aggregates": analytics.daily_country_aggregates(_in_range(rows, start, end), page)}


@api_method(
    "ai.GetKeyUsageSummaries", reach=Reach.LISTING,
    summary="Lifetime Web API totals per license key, with activation, deactivation, trial "
            "and data-object counters." + IDS,
    params=(P_PRODUCT, U_KEY_ID, U_KEY, U_LIMIT, U_AFTER, U_BEFORE,
            Param("Start", "yyyy-MM-dd", "Keys last seen on or after this day."),
            Param("End", "yyyy-MM-dd", "Keys first seen before the end of this day.")),
    returns="summaries: id, productId, keyId, key, totalRequests, totalSuccessful, "
            "totalFailed, firstSeenUtc, lastSeenUtc, "
            + ", ".join(name for name, _ in analytics.SUMMARY_COUNTERS),
    errors=ERRS)
def get_key_usage_summaries(ctx: ApiContext) -> dict[str, Any]:
    page, (start, end) = _usage_page(ctx), _range(ctx)
    rows = _key_rows(ctx)
    if rows is None:
        return {"summaries": []}
    return {"summaries": analytics.key_usage_summaries(rows, page, seen_from=start,
                                                       seen_until=end)}


@api_method(
    "ai.GetKeyDevices", reach=Reach.LISTING,
    summary="Devices per license key from the Web API log: first and last call, number of "
            "calls (calls with a machine code only)." + IDS,
    params=(P_PRODUCT, U_KEY_ID, U_KEY, U_DEVICE, U_LIMIT, U_AFTER, U_BEFORE,
            Param("Start", "yyyy-MM-dd", "Devices active on or after this day."),
            Param("End", "yyyy-MM-dd", "Devices first seen before the end of this day.")),
    returns="devices: id, productId, keyId, key, machineCode, firstSeenUtc, lastSeenUtc, "
            "totalRequests",
    errors=ERRS)
def get_key_devices(ctx: ApiContext) -> dict[str, Any]:
    page, (start, end) = _usage_page(ctx), _range(ctx)
    rows = _key_rows(ctx)
    if rows is None:
        return {"devices": []}
    return {"devices": analytics.key_devices(
        rows, page, machine_code=ctx.params.str("MachineCode", max_length=128),
        seen_from=start, seen_until=end)}


@api_method(
    "ai.GetLicenseActivityBuckets", reach=Reach.LISTING,
    summary="Activations (2010-2015) and deactivations (6010, 6011) per key, device and "
            "30-minute UTC bucket; times in Unix seconds." + IDS,
    params=(P_PRODUCT, U_KEY_ID, U_KEY, U_DEVICE, U_LIMIT, U_AFTER, U_BEFORE,
            Param("Start", "yyyy-MM-dd", "Buckets starting on or after this day."),
            Param("End", "yyyy-MM-dd", "Buckets starting up to the end of this day.")),
    returns="buckets: id, productId, keyId, key, machineCode, bucketStartUtc, refreshCount, "
            "deactivationCount, firstEventUtc, lastEventUtc, lastEventState, "
            "gapFromPreviousEventSeconds (null when there was no earlier event)",
    errors=ERRS)
def get_license_activity_buckets(ctx: ApiContext) -> dict[str, Any]:
    page, (start, end) = _usage_page(ctx), _range(ctx)
    rows = _key_rows(ctx)
    if rows is None:
        return {"buckets": []}
    rows = rows.filter(state__in=(*analytics.REFRESH_STATES, *analytics.DEACTIVATION_STATES))
    earlier = rows.filter(time__lt=from_unix(start)) if start is not None else None
    return {"buckets": analytics.license_activity_buckets(
        _in_range(rows, start, end), page,
        machine_code=ctx.params.str("MachineCode", max_length=128), earlier=earlier)}
