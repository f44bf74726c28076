"""ai/* methods: registered events and the Web API log."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.licensing.license_payload import unix
from apps.usage.models import Event, WebApiLog
from apps.usage.weblog import event_register

from .. import access, errors
from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..registry import Param, api_method
from .common import P_KEY, P_PRODUCT

P_LIMIT = Param("Limit", "int", "Entries per call.", "10")
P_AFTER = Param("StartingAfter", "int", "Only entries with a larger id.")
P_BEFORE = Param("EndingBefore", "int", "Only entries with a smaller id.")
ERRS = (errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
        errors.PRODUCT_NOT_FOUND, errors.KEY_NOT_FOUND, errors.KEY_LOCKED)


@api_method(
    "ai.RegisterEvent", reach=Reach.KEY,
    summary="Record an event from your software (feature use, payment...).",
    params=(Param("ProductId", "int", "Product (needed when Key is given)."), P_KEY,
            Param("MachineCode", "string", "The device."),
            Param("FeatureName", "string", "At most 100 characters."),
            Param("EventName", "string", "At most 100 characters."),
            Param("Value", "int", "An amount (e.g. cents).", "0"),
            Param("Currency", "string", "e.g. USD."),
            Param("Metadata", "string", "Free text or JSON, at most 10,000 characters.")),
    errors=ERRS)
def register_event(ctx: ApiContext) -> dict[str, Any]:
    product = ctx.product(required=False)
    key_string = ctx.params.str("Key", max_length=64)
    if key_string:
        if product is None:
            raise ApiError(errors.PRODUCT_NOT_FOUND)
        ctx.key()
    machine_code = ctx.params.str("MachineCode", max_length=128)
    ctx.record.machine_code = machine_code
    event_register(
        vendor_id=ctx.vendor.pk,
        product_id=access.event_product_id(ctx.token, product.pk if product else None),
        key=key_string,
        machine_code=machine_code,
        feature_name=ctx.params.str("FeatureName", max_length=100),
        event_name=ctx.params.str("EventName", max_length=100),
        value=ctx.params.int("Value", 0), currency=ctx.params.str("Currency", max_length=10),
        metadata=ctx.params.str("Metadata", max_length=10000),
    )
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
        queryset = queryset.filter(key=ctx.key().key)
    return queryset


def _page(ctx: ApiContext, queryset: QuerySet, max_limit: int) -> list:
    limit = ctx.params.int("Limit", 10, minimum=1, maximum=10**6)
    after = ctx.params.int("StartingAfter", 0)
    before = ctx.params.int("EndingBefore", 0)
    if after:
        queryset = queryset.filter(id__gt=after)
    if before:
        queryset = queryset.filter(id__lt=before)
    order = ctx.params.str("OrderBy", "Id ascending", max_length=50).strip().lower()
    descending = order.endswith("descending") or order.endswith("desc")
    if order.split()[0] not in ("id", "time"):
        raise ApiError(errors.INCORRECT_INPUT)
    field = "time" if order.startswith("time") else "id"
    queryset = queryset.order_by(f"-{field}" if descending else field,
                                 "-id" if descending else "id")
    return list(queryset[: min(limit, max_limit)])


@api_method(
    "ai.GetEvents", reach=Reach.LISTING, summary="List registered events.",
    params=(P_PRODUCT, P_KEY, P_LIMIT, P_AFTER, P_BEFORE), returns="events", errors=ERRS)
def get_events(ctx: ApiContext) -> dict[str, Any]:
    events = _page(ctx, _scope(ctx, Event.objects.filter(vendor=ctx.vendor)), 100)
    return {"events": [
        {"id": e.pk, "productId": e.product_id, "key": e.key, "machineCode": e.machine_code,
         "featureName": e.feature_name, "eventName": e.event_name, "value": e.value,
         "currency": e.currency, "time": unix(e.time), "metadata": e.metadata}
        for e in events
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
                  "Id ascending")),
    returns="logs: id, productId, key, ip, time, state, machineCode, friendlyName, "
            "floatingExpires, doIntValue, doId",
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
    return {"logs": [
        {"id": log.pk, "productId": log.product_id or 0, "key": log.key, "ip": log.ip or "",
         "time": unix(log.time), "state": log.state, "machineCode": log.machine_code,
         "friendlyName": log.friendly_name,
         "floatingExpires": unix(log.floating_expires) if log.floating_expires else 0,
         "doIntValue": log.do_int_value or 0, "doId": log.do_id or 0}
        for log in _page(ctx, logs, 1000)
    ]}
