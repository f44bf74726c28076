"""data/* methods: data objects attached to keys."""

from __future__ import annotations

from typing import Any

from apps.core.errors import DomainError
from apps.licensing import services
from apps.licensing.models import DataObject, LicenseKey
from apps.usage import states

from .. import errors
from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..registry import Param, api_method
from .common import P_KEY, P_PRODUCT

P_ID = Param("Id", "int", "Data object id (or give Name).")
P_NAME = Param("Name", "string", "Data object name (used when Id is not given).")
ERRS = (errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
        errors.PRODUCT_NOT_FOUND, errors.KEY_NOT_FOUND, errors.KEY_LOCKED)


def _object(ctx: ApiContext, key: LicenseKey) -> DataObject:
    objects = DataObject.objects.filter(key=key)
    object_id = ctx.params.int("Id", 0)
    if object_id:
        found = objects.filter(pk=object_id).first()
    else:
        name = ctx.params.str("Name", max_length=100)
        found = objects.filter(name=name).order_by("id").first() if name else None
    if found is None:
        raise ApiError(errors.DATA_OBJECT_NOT_FOUND, states.DATA_OBJECT_FAILED)
    ctx.record.do_id = found.pk
    return found


def _json(obj: DataObject) -> dict[str, Any]:
    return {"id": obj.pk, "name": obj.name, "stringValue": obj.string_value,
            "intValue": obj.int_value}


def _domain(exc: DomainError) -> ApiError:
    return ApiError(exc.message, states.DATA_OBJECT_FAILED)


@api_method(
    "data.AddDataObjectToKey", reach=Reach.KEY, summary="Attach a named value to a key.",
    params=(P_PRODUCT, P_KEY, Param("Name", "string", "At most 100 characters."),
            Param("StringValue", "string", "At most 10,000 characters."),
            Param("IntValue", "int", "64-bit integer.", "0"),
            Param("CheckForDuplicates", "bool", "Refuse if the name is taken.", "false")),
    returns="id", errors=ERRS)
def add(ctx: ApiContext) -> dict[str, Any]:
    ctx.record.state = states.DATA_OBJECT_FAILED
    key = ctx.key()
    name = ctx.params.str("Name", max_length=100)
    if ctx.params.bool("CheckForDuplicates") and key.data_objects.filter(name=name).exists():
        raise ApiError("A data object with the same name already exists.",
                       states.DATA_OBJECT_FAILED)
    try:
        obj = services.data_object_add(
            key=key, actor=ctx.actor, name=name,
            string_value=ctx.params.str("StringValue", max_length=10000),
            int_value=ctx.params.int("IntValue", 0))
    except DomainError as exc:
        raise _domain(exc) from None
    ctx.record.state, ctx.record.do_id = states.DATA_OBJECT_CHANGED, obj.pk
    ctx.record.do_int_value = obj.int_value
    return {"id": obj.pk}


@api_method(
    "data.ListDataObjectsToKey", reach=Reach.KEY, summary="List a key's data objects.",
    params=(P_PRODUCT, P_KEY, Param("Contains", "string", "Only names containing this.")),
    returns="dataObjects", errors=ERRS)
def list_objects(ctx: ApiContext) -> dict[str, Any]:
    key = ctx.key()
    objects = key.data_objects.order_by("id")
    contains = ctx.params.str("Contains", max_length=100)
    if contains:
        objects = objects.filter(name__icontains=contains)
    return {"dataObjects": [_json(o) for o in objects]}


@api_method("data.RemoveDataObjectToKey", reach=Reach.KEY,
            summary="Remove a data object from a key.",
            params=(P_PRODUCT, P_KEY, P_ID, P_NAME), errors=ERRS)
def remove(ctx: ApiContext) -> dict[str, Any]:
    ctx.record.state = states.DATA_OBJECT_FAILED
    key = ctx.key()
    services.data_object_remove(data_object=_object(ctx, key), actor=ctx.actor)
    ctx.record.state = states.DATA_OBJECT_CHANGED
    return {}


def _change_int(ctx: ApiContext, sign: int) -> dict[str, Any]:
    ctx.record.state = states.DATA_OBJECT_FAILED
    key = ctx.key()
    obj = _object(ctx, key)
    amount = ctx.params.int("IntValue", 0, minimum=0)
    bound = ctx.params.int("Bound", 0) if ctx.params.bool("EnableBound") else None
    try:
        obj = services.data_object_change_int(data_object=obj, actor=ctx.actor,
                                              delta=sign * amount, bound=bound)
    except DomainError as exc:
        raise _domain(exc) from None
    ctx.record.state, ctx.record.do_int_value = states.DATA_OBJECT_CHANGED, obj.int_value
    return {}


INT_PARAMS = (P_PRODUCT, P_KEY, P_ID, P_NAME,
              Param("IntValue", "int", "Amount (non-negative)."),
              Param("EnableBound", "bool", "Refuse a change past Bound.", "false"),
              Param("Bound", "int", "Upper bound (increment) or lower bound (decrement)."))


@api_method("data.IncrementIntValueToKey", reach=Reach.KEY,
            summary="Add to a data object's int value, "
            "atomically.", params=INT_PARAMS, errors=(*ERRS, "The bound was reached."))
def increment(ctx: ApiContext) -> dict[str, Any]:
    return _change_int(ctx, +1)


@api_method("data.DecrementIntValueToKey", reach=Reach.KEY,
            summary="Subtract from a data object's int value, "
            "atomically.", params=INT_PARAMS, errors=(*ERRS, "The bound was reached."))
def decrement(ctx: ApiContext) -> dict[str, Any]:
    return _change_int(ctx, -1)
