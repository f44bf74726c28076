"""data/* methods: data objects on keys, machine codes, products and the vendor's account.

Three families, as in Cryptolens (cryptolens-dotnet SKMv3/Data.cs, Models/WebAPIModels.cs):
- ...ToKey: ProductId + Key, the object by Id or Name;
- ...ToMachineCode: ProductId + Key + MachineCode (a machine code activated on the key);
- generic: AddDataObject / ListDataObjects name the owner by ReferencerType (0 account,
  1 product, 2 key, 3 machine code: Cryptolens' DataObjectType numbers, which are ours; .NET
  may send the enum's name, read by `_referencer_type`) and ReferencerId; SetIntValue,
  SetStringValue, IncrementIntValue, DecrementIntValue and RemoveDataObject take the object's
  Id alone (ChangeIntValueModel, ChangeStringValueModel, RemoveDataObjectModel).
What a token reaches (its locks, its increment limit) is decided in apps.api.access."""

from __future__ import annotations

import json
from typing import Any

from apps.core.errors import DomainError
from apps.licensing.models import Activation, DataObject, LicenseKey
from apps.licensing.services import data_objects as service
from apps.licensing.services.data_objects import Owner
from apps.usage import states

from .. import access, errors
from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..params import MAX_LIST_ITEMS, too_deep
from ..registry import Param, api_method
from .common import P_KEY, P_PRODUCT

FAILED = states.DATA_OBJECT_FAILED
P_ID = Param("Id", "int", "Data object id (or give Name).")
P_ONLY_ID = Param("Id", "int", "Data object id.")
P_NAME = Param("Name", "string", "Data object name (used when Id is not given; the oldest "
               "of that name).")
P_MACHINE = Param("MachineCode", "string", "A machine code activated on the key.")
P_CONTAINS = Param("Contains", "string", "Only names containing this (any case).")
P_INT = Param("IntValue", "int", "64-bit integer.", "0")
P_STRING = Param("StringValue", "string", "At most 10,000 characters.")
P_TYPE = Param("ReferencerType", "int", "Owner: 0 account, 1 product, 2 license key, 3 machine "
               "code (or the names User, Product, Key, MachineCode).", "0")
P_REF = Param("ReferencerId", "int", "Product id, the key's GlobalId, or the activated "
              "device's id; ignored for the account.", "0")
ADD_PARAMS = (Param("Name", "string", "1 to 100 characters."), P_STRING, P_INT,
              Param("CheckForDuplicates", "bool", "Refuse a name the owner already uses.",
                    "false"))
CHANGE_PARAMS = (Param("IntValue", "int", "Amount, not negative. At most the token's "
                       "increment limit, if it has one."),
                 Param("EnableBound", "bool", "Refuse a change that would pass Bound.",
                       "false"),
                 Param("Bound", "int", "Upper bound (increment) or lower bound (decrement), "
                       "inclusive.", "0"))
ERRS = (errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
        errors.PRODUCT_NOT_FOUND, errors.KEY_NOT_FOUND, errors.KEY_LOCKED,
        errors.DATA_OBJECT_NOT_FOUND)
ADD_ERRS = (*ERRS, service.DUPLICATE_NAME)
CHANGE_ERRS = (*ERRS, service.BOUND_REACHED, service.OUT_OF_RANGE)
MACHINE_ERRS = (service.MACHINE_NOT_ACTIVATED,)
REFERENCER_NAMES = {"user": DataObject.ACCOUNT, "product": DataObject.PRODUCT,
                    "key": DataObject.KEY, "machinecode": DataObject.MACHINE_CODE}


# --- Shared steps --------------------------------------------------------------------------


def _json(obj: DataObject) -> dict[str, Any]:
    return {"id": obj.pk, "name": obj.name, "stringValue": obj.string_value,
            "intValue": obj.int_value}


def _named(ctx: ApiContext, owner: Owner) -> DataObject:
    """The owner's object named by Id, or else by Name."""
    objects = owner.objects()
    object_id = ctx.params.int("Id", 0)
    if object_id:
        found = objects.filter(pk=object_id).first()
    else:
        name = ctx.params.str("Name", max_length=100)
        found = objects.filter(name=name).first() if name else None
    if found is None:
        raise ApiError(errors.DATA_OBJECT_NOT_FOUND, FAILED)
    ctx.record.do_id = found.pk
    return found


def _by_id(ctx: ApiContext) -> DataObject:
    found = access.data_object_by_id(ctx.token, ctx.params.int("Id", 0))
    _note(ctx, Owner.of_object(found))
    ctx.record.do_id = found.pk
    return found


def _machine(ctx: ApiContext) -> Owner:
    key = ctx.key(devices=False)
    code = ctx.params.str("MachineCode", max_length=128)
    if not code:
        raise ApiError(errors.INCORRECT_INPUT, FAILED)
    ctx.record.machine_code = code
    return Owner.of_machine(key, code)


def _note(ctx: ApiContext, owner: Owner) -> None:
    """Name the owner's product, key and machine code in the Web API log row."""
    key = owner.key
    if key is not None:
        ctx.record.product_id, ctx.record.key = key.product_id, key.key
    elif owner.product is not None:
        ctx.record.product_id = owner.product.pk
    if owner.machine_code:
        ctx.record.machine_code = owner.machine_code


def _changed(ctx: ApiContext, obj: DataObject) -> dict[str, Any]:
    ctx.record.state, ctx.record.do_id = states.DATA_OBJECT_CHANGED, obj.pk
    ctx.record.do_int_value = obj.int_value
    return {}


def _add(ctx: ApiContext, owner: Owner) -> dict[str, Any]:
    try:
        obj = service.data_object_create(
            owner=owner, actor=ctx.actor, name=ctx.params.str("Name", max_length=100),
            string_value=ctx.params.str("StringValue", max_length=10000),
            int_value=ctx.params.int("IntValue", 0),
            check_for_duplicates=ctx.params.bool("CheckForDuplicates"))
    except DomainError as exc:
        raise ApiError(exc.message, FAILED) from None
    _changed(ctx, obj)
    return {"id": obj.pk}


def _list(ctx: ApiContext, owner: Owner) -> dict[str, Any]:
    objects = owner.objects()
    contains = ctx.params.str("Contains", max_length=100)
    if contains:
        objects = objects.filter(name__icontains=contains)
    return {"dataObjects": [_json(o) for o in objects]}


def _set(ctx: ApiContext, obj: DataObject, *, integer: bool) -> dict[str, Any]:
    try:
        if integer:
            obj = service.data_object_set(data_object=obj, actor=ctx.actor,
                                          int_value=ctx.params.int("IntValue", 0))
        else:
            obj = service.data_object_set(
                data_object=obj, actor=ctx.actor,
                string_value=ctx.params.str("StringValue", max_length=10000))
    except DomainError as exc:
        raise ApiError(exc.message, FAILED) from None
    return _changed(ctx, obj)


def _change(ctx: ApiContext, obj: DataObject, sign: int) -> dict[str, Any]:
    amount = ctx.params.int("IntValue", 0, minimum=0)
    access.check_increment(ctx.token, amount)
    bound = ctx.params.int("Bound", 0) if ctx.params.bool("EnableBound") else None
    try:
        obj = service.data_object_change_int(data_object=obj, actor=ctx.actor,
                                             delta=sign * amount, bound=bound)
    except DomainError as exc:
        raise ApiError(exc.message, FAILED) from None
    return _changed(ctx, obj)


def _remove(ctx: ApiContext, obj: DataObject) -> dict[str, Any]:
    service.data_object_remove(data_object=obj, actor=ctx.actor)
    ctx.record.state = states.DATA_OBJECT_CHANGED
    return {}


def _key(ctx: ApiContext) -> Owner:
    return Owner.of_key(ctx.key(devices=False))


# --- ...ToKey -------------------------------------------------------------------------------


@api_method("data.AddDataObjectToKey", reach=Reach.KEY, summary="Attach a named value to a key.",
            params=(P_PRODUCT, P_KEY, *ADD_PARAMS), returns="id", errors=ADD_ERRS)
def add(ctx: ApiContext) -> dict[str, Any]:
    return _add(ctx, _key(ctx))


@api_method("data.ListDataObjectsToKey", reach=Reach.KEY, summary="List a key's data objects.",
            params=(P_PRODUCT, P_KEY, P_CONTAINS),
            returns="dataObjects: [{id, name, stringValue, intValue}]", errors=ERRS)
def list_objects(ctx: ApiContext) -> dict[str, Any]:
    return _list(ctx, _key(ctx))


@api_method("data.RemoveDataObjectToKey", reach=Reach.KEY,
            summary="Remove a data object from a key.",
            params=(P_PRODUCT, P_KEY, P_ID, P_NAME), errors=ERRS)
def remove(ctx: ApiContext) -> dict[str, Any]:
    return _remove(ctx, _named(ctx, _key(ctx)))


@api_method("data.SetIntValueToKey", reach=Reach.KEY,
            summary="Set the int value of a key's data object.",
            params=(P_PRODUCT, P_KEY, P_ID, P_NAME, P_INT),
            errors=(*ERRS, service.OUT_OF_RANGE))
def set_int_to_key(ctx: ApiContext) -> dict[str, Any]:
    return _set(ctx, _named(ctx, _key(ctx)), integer=True)


@api_method("data.SetStringValueToKey", reach=Reach.KEY,
            summary="Set the string value of a key's data object.",
            params=(P_PRODUCT, P_KEY, P_ID, P_NAME, P_STRING), errors=ERRS)
def set_string_to_key(ctx: ApiContext) -> dict[str, Any]:
    return _set(ctx, _named(ctx, _key(ctx)), integer=False)


@api_method("data.IncrementIntValueToKey", reach=Reach.KEY,
            summary="Add to the int value of a key's data object, atomically; with "
            "EnableBound, never past Bound.",
            params=(P_PRODUCT, P_KEY, P_ID, P_NAME, *CHANGE_PARAMS), errors=CHANGE_ERRS)
def increment(ctx: ApiContext) -> dict[str, Any]:
    return _change(ctx, _named(ctx, _key(ctx)), +1)


@api_method("data.DecrementIntValueToKey", reach=Reach.KEY,
            summary="Subtract from the int value of a key's data object, atomically; with "
            "EnableBound, never below Bound.",
            params=(P_PRODUCT, P_KEY, P_ID, P_NAME, *CHANGE_PARAMS), errors=CHANGE_ERRS)
def decrement(ctx: ApiContext) -> dict[str, Any]:
    return _change(ctx, _named(ctx, _key(ctx)), -1)


# --- ...ToMachineCode -----------------------------------------------------------------------

MACHINE = (P_PRODUCT, P_KEY, P_MACHINE)


@api_method("data.AddDataObjectToMachineCode", reach=Reach.KEY,
            summary="Attach a named value to a machine code activated on the key. "
            "Deactivating the device removes its data objects.",
            params=(*MACHINE, *ADD_PARAMS), returns="id", errors=(*ADD_ERRS, *MACHINE_ERRS))
def add_to_machine(ctx: ApiContext) -> dict[str, Any]:
    return _add(ctx, _machine(ctx))


@api_method("data.ListDataObjectsToMachineCode", reach=Reach.KEY,
            summary="List the data objects of a key's machine code.",
            params=(*MACHINE, P_CONTAINS),
            returns="dataObjects: [{id, name, stringValue, intValue}]", errors=ERRS)
def list_machine(ctx: ApiContext) -> dict[str, Any]:
    return _list(ctx, _machine(ctx))


@api_method("data.RemoveDataObjectToMachineCode", reach=Reach.KEY,
            summary="Remove a data object from a key's machine code.",
            params=(*MACHINE, P_ID, P_NAME), errors=ERRS)
def remove_from_machine(ctx: ApiContext) -> dict[str, Any]:
    return _remove(ctx, _named(ctx, _machine(ctx)))


@api_method("data.SetIntValueToMachineCode", reach=Reach.KEY,
            summary="Set the int value of a machine code's data object.",
            params=(*MACHINE, P_ID, P_NAME, P_INT), errors=(*ERRS, service.OUT_OF_RANGE))
def set_int_to_machine(ctx: ApiContext) -> dict[str, Any]:
    return _set(ctx, _named(ctx, _machine(ctx)), integer=True)


@api_method("data.SetStringValueToMachineCode", reach=Reach.KEY,
            summary="Set the string value of a machine code's data object.",
            params=(*MACHINE, P_ID, P_NAME, P_STRING), errors=ERRS)
def set_string_to_machine(ctx: ApiContext) -> dict[str, Any]:
    return _set(ctx, _named(ctx, _machine(ctx)), integer=False)


@api_method("data.IncrementIntValueToMachineCode", reach=Reach.KEY,
            summary="Add to the int value of a machine code's data object, atomically.",
            params=(*MACHINE, P_ID, P_NAME, *CHANGE_PARAMS), errors=CHANGE_ERRS)
def increment_machine(ctx: ApiContext) -> dict[str, Any]:
    return _change(ctx, _named(ctx, _machine(ctx)), +1)


@api_method("data.DecrementIntValueToMachineCode", reach=Reach.KEY,
            summary="Subtract from the int value of a machine code's data object, "
            "atomically.", params=(*MACHINE, P_ID, P_NAME, *CHANGE_PARAMS), errors=CHANGE_ERRS)
def decrement_machine(ctx: ApiContext) -> dict[str, Any]:
    return _change(ctx, _named(ctx, _machine(ctx)), -1)


# --- Generic: ReferencerType + ReferencerId, or the Id alone --------------------------------


def _referencer_type(ctx: ApiContext) -> int:
    """ReferencerType as a number (0-3) or, from .NET, the DataObjectType enum's name."""
    raw = (ctx.params.raw("ReferencerType") or "0").strip().lower()
    if raw in REFERENCER_NAMES:
        return REFERENCER_NAMES[raw]
    return ctx.params.int("ReferencerType", 0, minimum=0, maximum=3)


def _referencer(ctx: ApiContext) -> Owner:
    owner = access.data_referencer(ctx.token, _referencer_type(ctx),
                                   ctx.params.int("ReferencerId", 0))
    _note(ctx, owner)
    return owner


@api_method("data.AddDataObject", reach=Reach.KEY,
            summary="Attach a named value to the account, a product, a key or a machine code "
            "(ReferencerType + ReferencerId). Account-level objects need a token without a "
            "product or key lock.", params=(P_TYPE, P_REF, *ADD_PARAMS), returns="id",
            errors=(*ADD_ERRS, *MACHINE_ERRS))
def add_generic(ctx: ApiContext) -> dict[str, Any]:
    return _add(ctx, _referencer(ctx))


@api_method("data.ListDataObjects", reach=Reach.KEY,
            summary="List the data objects of one owner (ReferencerType + ReferencerId), or "
            "with ShowAll every one the token may see, each with its referencerType and "
            "referencerId.",
            params=(P_TYPE, P_REF, P_CONTAINS,
                    Param("ShowAll", "bool", "All owners at once.", "false")),
            returns="dataObjects: [{id, name, stringValue, intValue[, referencerType, "
            "referencerId]}]", errors=ERRS)
def list_generic(ctx: ApiContext) -> dict[str, Any]:
    if not ctx.params.bool("ShowAll"):
        return _list(ctx, _referencer(ctx))
    objects = access.data_objects_visible(ctx.token).order_by("id")
    contains = ctx.params.str("Contains", max_length=100)
    if contains:
        objects = objects.filter(name__icontains=contains)
    rows = list(objects)
    devices = _device_ids(rows)
    return {"dataObjects": [{**_json(o), "referencerType": o.referencer_type,
                             "referencerId": _referencer_id(o, devices)} for o in rows]}


def _device_ids(rows: list[DataObject]) -> dict[tuple[int, str], int]:
    """The id of each machine code's (first) activation: a machine object's ReferencerId."""
    key_ids = {o.machine_key_id for o in rows if o.machine_key_id}
    found: dict[tuple[int, str], int] = {}
    for key_id, code, pk in (Activation.objects.filter(key_id__in=key_ids).order_by("-pk")
                             .values_list("key_id", "machine_code", "pk")):
        found[(key_id, code)] = pk
    return found


def _referencer_id(obj: DataObject, devices: dict[tuple[int, str], int]) -> int:
    if obj.referencer_type == DataObject.PRODUCT:
        return obj.product_id or 0
    if obj.referencer_type == DataObject.KEY:
        return obj.key_id or 0
    if obj.referencer_type == DataObject.MACHINE_CODE and obj.machine_key_id:
        return devices.get((obj.machine_key_id, obj.machine_code), 0)
    return 0


@api_method("data.SetIntValue", reach=Reach.KEY, summary="Set a data object's int value (by Id).",
            params=(P_ONLY_ID, P_INT), errors=(*ERRS, service.OUT_OF_RANGE))
def set_int(ctx: ApiContext) -> dict[str, Any]:
    return _set(ctx, _by_id(ctx), integer=True)


@api_method("data.SetStringValue", reach=Reach.KEY,
            summary="Set a data object's string value (by Id).", params=(P_ONLY_ID, P_STRING),
            errors=ERRS)
def set_string(ctx: ApiContext) -> dict[str, Any]:
    return _set(ctx, _by_id(ctx), integer=False)


@api_method("data.IncrementIntValue", reach=Reach.KEY,
            summary="Add to a data object's int value (by Id), atomically; with EnableBound, "
            "never past Bound.", params=(P_ONLY_ID, *CHANGE_PARAMS), errors=CHANGE_ERRS)
def increment_generic(ctx: ApiContext) -> dict[str, Any]:
    return _change(ctx, _by_id(ctx), +1)


@api_method("data.DecrementIntValue", reach=Reach.KEY,
            summary="Subtract from a data object's int value (by Id), atomically; with "
            "EnableBound, never below Bound.", params=(P_ONLY_ID, *CHANGE_PARAMS),
            errors=CHANGE_ERRS)
def decrement_generic(ctx: ApiContext) -> dict[str, Any]:
    return _change(ctx, _by_id(ctx), -1)


@api_method("data.RemoveDataObject", reach=Reach.KEY, summary="Remove a data object (by Id).",
            params=(P_ONLY_ID,), errors=ERRS)
def remove_generic(ctx: ApiContext) -> dict[str, Any]:
    return _remove(ctx, _by_id(ctx))


# --- UploadValuesToKey ----------------------------------------------------------------------


def _uploaded_changes(ctx: ApiContext) -> list[tuple[int, int]]:
    """Data: a JSON array of at most 1000 {"Id": <data object id>, "Increment": <signed
    amount>} (Cryptolens' license server records DataObjectOperation{Increment, DataObjectId};
    "DataObjectId" is read too)."""
    raw = ctx.params.raw("Data")
    if raw is None or too_deep(raw, 3):
        raise ApiError(errors.INCORRECT_INPUT, FAILED)
    try:
        items = json.loads(raw)
    except ValueError:
        raise ApiError(errors.INCORRECT_INPUT, FAILED) from None
    if not isinstance(items, list) or len(items) > MAX_LIST_ITEMS:
        raise ApiError(errors.INCORRECT_INPUT, FAILED)
    changes = []
    for item in items:
        if not isinstance(item, dict):
            raise ApiError(errors.INCORRECT_INPUT, FAILED)
        lowered = {str(k).lower(): v for k, v in item.items()}
        object_id = lowered.get("id", lowered.get("dataobjectid"))
        amount = lowered.get("increment")
        if not all(isinstance(v, int) and not isinstance(v, bool) and -2**63 <= v < 2**63
                   for v in (object_id, amount)):
            raise ApiError(errors.INCORRECT_INPUT, FAILED)
        changes.append((int(object_id), int(amount)))  # type: ignore[arg-type]
    return changes


@api_method("data.UploadValuesToKey", reach=Reach.KEY,
            summary="Apply a batch of int changes to a key's data objects, all or none (usage "
            "recorded offline, e.g. by a license server). As in Cryptolens, a token with "
            "IncrementIntValueToKey may upload increases and one with DecrementIntValueToKey "
            "decreases; UploadValuesToKey allows both.",
            params=(P_PRODUCT, P_KEY,
                    Param("Data", "string", 'JSON array of at most 1000 {"Id": <data object '
                          'id>, "Increment": <signed amount>}.')),
            errors=ERRS,
            permissions=("data.UploadValuesToKey", "data.IncrementIntValueToKey",
                         "data.DecrementIntValueToKey"))
def upload_values(ctx: ApiContext) -> dict[str, Any]:
    key: LicenseKey = ctx.key(devices=False)
    changes = _uploaded_changes(ctx)
    for name, present in (("data.IncrementIntValueToKey", any(d > 0 for _, d in changes)),
                          ("data.DecrementIntValueToKey", any(d < 0 for _, d in changes))):
        if present and not (ctx.has_permission("data.UploadValuesToKey")
                            or ctx.has_permission(name)):
            raise ApiError(errors.ACCESS_DENIED, FAILED)
    # The feature lock bounds what one upload does to each object, however it is split up.
    net: dict[int, int] = {}
    for object_id, amount in changes:
        net[object_id] = net.get(object_id, 0) + amount
    for amount in net.values():
        access.check_increment(ctx.token, amount)
    try:
        service.data_objects_upload_values(key=key, actor=ctx.actor, changes=changes)
    except DomainError as exc:
        raise ApiError(exc.message, FAILED) from None
    ctx.record.state = states.DATA_OBJECT_CHANGED
    return {}
