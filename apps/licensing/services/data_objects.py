"""Data objects attached to license keys."""

from __future__ import annotations

from django.db import transaction

from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.licensing.models import DataObject, LicenseKey

MAX_NAME = 100
MAX_STRING = 10000
INT64 = 2**63


def _validate(name: str, string_value: str, int_value: int) -> None:
    if not name or len(name) > MAX_NAME:
        raise DomainError("The name must be 1 to 100 characters.", field="name")
    if len(string_value) > MAX_STRING:
        raise DomainError("The string value cannot exceed 10000 characters.",
                          field="string_value")
    if not -INT64 <= int_value < INT64:
        raise DomainError("The int value must fit in 64 bits.", field="int_value")


@transaction.atomic
def data_object_add(*, key: LicenseKey, actor: Actor, name: str, string_value: str = "",
                    int_value: int = 0) -> DataObject:
    _validate(name, string_value, int_value)
    obj = DataObject.objects.create(key=key, name=name, string_value=string_value,
                                    int_value=int_value)
    log_change(vendor=key.product.vendor, actor=actor, obj=key, action="data object added",
               changes={"name": [None, name], "string_value": [None, string_value],
                        "int_value": [None, int_value]})
    return obj


@transaction.atomic
def data_object_update(*, data_object: DataObject, actor: Actor, name: str, string_value: str,
                       int_value: int) -> DataObject:
    _validate(name, string_value, int_value)
    obj = DataObject.objects.select_for_update().get(pk=data_object.pk)
    changes = {
        f: [getattr(obj, f), v]
        for f, v in (("name", name), ("string_value", string_value), ("int_value", int_value))
        if getattr(obj, f) != v
    }
    obj.name, obj.string_value, obj.int_value = name, string_value, int_value
    obj.save()
    if changes:
        key = obj.key
        log_change(vendor=key.product.vendor, actor=actor, obj=key,
                   action="data object changed", changes=changes)
    return obj


@transaction.atomic
def data_object_remove(*, data_object: DataObject, actor: Actor) -> None:
    key = data_object.key
    deleted, _ = DataObject.objects.filter(pk=data_object.pk).delete()
    if deleted:
        log_change(vendor=key.product.vendor, actor=actor, obj=key,
                   action="data object removed",
                   changes={"name": [data_object.name, None],
                            "string_value": [data_object.string_value, None],
                            "int_value": [data_object.int_value, None]})


@transaction.atomic
def data_object_change_int(*, data_object: DataObject, actor: Actor, delta: int,
                           bound: int | None = None) -> DataObject:
    """Add `delta` (negative to decrement) atomically. With `bound`, an increment may not go
    above it and a decrement may not go below it; the change is refused instead."""
    obj = DataObject.objects.select_for_update().get(pk=data_object.pk)
    new_value = obj.int_value + delta
    if not -INT64 <= new_value < INT64:
        raise DomainError("The int value must fit in 64 bits.", field="int_value")
    if bound is not None and ((delta > 0 and new_value > bound)
                              or (delta < 0 and new_value < bound)):
        raise DomainError("The bound was reached.", field="int_value")
    obj.int_value = new_value
    obj.save(update_fields=["int_value"])
    return obj
