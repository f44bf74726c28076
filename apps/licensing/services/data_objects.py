"""Data objects: named values (a string and a 64-bit integer) on an owner, as Cryptolens has
them: the vendor's account, a product, a license key, or one machine code of a key
(Cryptolens' `DataObjectType` User=0, Product=1, Key=2, MachineCode=3,
cryptolens-dotnet Cryptolens.Licensing/LicenseRelated/DataObject.cs; ours are the same
numbers, DataObject.ACCOUNT .. MACHINE_CODE).

Rules kept here, whoever calls (Web API, vendor portal, deactivation):
- A machine code's objects exist only for a machine code activated on the key: Cryptolens'
  release notes v4017 (cryptolens-dotnet articles/v4017.md): "It's now possible to associate
  a data object with a machine code (assuming the machine code is registered with the license
  key)".
- Deactivating a device drops its data objects (machine_data_objects_drop). In Cryptolens a
  machine code's data object is referenced by the activated-machine record (its generic
  `ReferencerId` is an integer, DataObjectWithReferencer in DataObject.cs, so it names the
  record, not the code string), and that record "will be removed" on deactivation
  (Cryptolens docs legal/DataPolicy.md, "Activated machines"); the objects go with it. A
  device activated again starts with none. (Inferred from those two sources; Cryptolens does
  not say it in one sentence.)
- Increments and decrements are one conditional UPDATE with the bound in its WHERE clause,
  so no number of parallel calls can pass a bound (Cryptolens' bound is inclusive: "you will
  be able to increment the int value until you reach ten (inclusive)", ChangeIntValueModel
  in cryptolens-dotnet Models/WebAPIModels.cs)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.db.models import F, QuerySet

from apps.accounts.models import Vendor
from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError, NotFound
from apps.licensing.models import Activation, DataObject, LicenseKey, Product

MAX_NAME = 100
MAX_STRING = 10000
INT64 = 2**63
MAX_UPLOAD_CHANGES = 1000  # Cryptolens: "the limit of the number of entries in the log is 1000"

BOUND_REACHED = "The bound was reached."
DUPLICATE_NAME = "A data object with the same name already exists."
MACHINE_NOT_ACTIVATED = "Could not find the machine code."  # wording inferred, see above
NOT_FOUND = "Could not find the data object."
OUT_OF_RANGE = "The int value must fit in 64 bits."


@dataclass(frozen=True)
class Owner:
    """Whom a data object belongs to: Cryptolens' ReferencerType and its referencer."""

    vendor: Vendor
    referencer_type: int
    product: Product | None = None
    key: LicenseKey | None = None
    machine_code: str = ""

    @classmethod
    def account(cls, vendor: Vendor) -> Owner:
        return cls(vendor, DataObject.ACCOUNT)

    @classmethod
    def of_product(cls, product: Product) -> Owner:
        return cls(product.vendor, DataObject.PRODUCT, product=product)

    @classmethod
    def of_key(cls, key: LicenseKey) -> Owner:
        return cls(key.product.vendor, DataObject.KEY, key=key)

    @classmethod
    def of_machine(cls, key: LicenseKey, machine_code: str) -> Owner:
        return cls(key.product.vendor, DataObject.MACHINE_CODE, key=key,
                   machine_code=machine_code)

    @classmethod
    def of_object(cls, obj: DataObject) -> Owner:
        if obj.referencer_type == DataObject.KEY and obj.key is not None:
            return cls.of_key(obj.key)
        if obj.referencer_type == DataObject.MACHINE_CODE and obj.machine_key is not None:
            return cls.of_machine(obj.machine_key, obj.machine_code)
        if obj.referencer_type == DataObject.PRODUCT and obj.product is not None:
            return cls.of_product(obj.product)
        return cls.account(obj.vendor)

    def objects(self) -> QuerySet[DataObject]:
        """This owner's data objects, oldest first."""
        queryset = DataObject.objects.filter(vendor=self.vendor,
                                             referencer_type=self.referencer_type)
        if self.referencer_type == DataObject.PRODUCT:
            queryset = queryset.filter(product=self.product)
        elif self.referencer_type == DataObject.KEY:
            queryset = queryset.filter(key=self.key)
        elif self.referencer_type == DataObject.MACHINE_CODE:
            queryset = queryset.filter(machine_key=self.key, machine_code=self.machine_code)
        return queryset.order_by("id")

    def _fields(self) -> dict[str, object]:
        fields: dict[str, object] = {"vendor": self.vendor,
                                     "referencer_type": self.referencer_type}
        if self.referencer_type == DataObject.PRODUCT:
            fields["product"] = self.product
        elif self.referencer_type == DataObject.KEY:
            fields["key"] = self.key
        elif self.referencer_type == DataObject.MACHINE_CODE:
            fields.update(machine_key=self.key, machine_code=self.machine_code)
        return fields

    def log_target(self) -> models.Model:
        """The object log entry goes to the key (key and machine objects), the product, or
        the vendor."""
        return self.key or self.product or self.vendor

    def _lock(self) -> None:
        """Lock the owner's row, so that a duplicate-name check and the insert are one step."""
        target = self.log_target()
        list(type(target)._default_manager.select_for_update().filter(pk=target.pk)
             .values_list("pk", flat=True))


def _validate(name: str, string_value: str, int_value: int) -> None:
    if not name or len(name) > MAX_NAME:
        raise DomainError("The name must be 1 to 100 characters.", field="name")
    _validate_string(string_value)
    _validate_int(int_value)


def _validate_string(string_value: str) -> None:
    if len(string_value) > MAX_STRING:
        raise DomainError("The string value cannot exceed 10000 characters.",
                          field="string_value")


def _validate_int(int_value: int) -> None:
    if not -INT64 <= int_value < INT64:
        raise DomainError(OUT_OF_RANGE, field="int_value")


def _log(obj: DataObject, actor: Actor, action: str, changes: dict) -> None:
    owner = Owner.of_object(obj)
    extra = {"machine_code": [obj.machine_code, obj.machine_code]} if obj.machine_code else {}
    log_change(vendor=owner.vendor, actor=actor, obj=owner.log_target(), action=action,
               changes={**extra, **changes})


@transaction.atomic
def data_object_create(*, owner: Owner, actor: Actor, name: str, string_value: str = "",
                       int_value: int = 0, check_for_duplicates: bool = False) -> DataObject:
    """Add a data object to `owner`. A machine code must be activated on the key (module
    docstring); with `check_for_duplicates`, a name the owner already uses is refused."""
    _validate(name, string_value, int_value)
    owner._lock()
    if owner.referencer_type == DataObject.MACHINE_CODE and not Activation.objects.filter(
            key=owner.key, machine_code=owner.machine_code).exists():
        raise NotFound(MACHINE_NOT_ACTIVATED, field="machine_code")
    if check_for_duplicates and owner.objects().filter(name=name).exists():
        raise DomainError(DUPLICATE_NAME, field="name")
    obj = DataObject.objects.create(**owner._fields(), name=name, string_value=string_value,
                                    int_value=int_value)
    _log(obj, actor, "data object added", {"name": [None, name],
                                           "string_value": [None, string_value],
                                           "int_value": [None, int_value]})
    return obj


def data_object_add(*, key: LicenseKey, actor: Actor, name: str, string_value: str = "",
                    int_value: int = 0) -> DataObject:
    """Add a data object to a key (the vendor portal's form)."""
    return data_object_create(owner=Owner.of_key(key), actor=actor, name=name,
                              string_value=string_value, int_value=int_value)


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
        _log(obj, actor, "data object changed", changes)
    return obj


@transaction.atomic
def data_object_set(*, data_object: DataObject, actor: Actor, int_value: int | None = None,
                    string_value: str | None = None) -> DataObject:
    """SetIntValue / SetStringValue: replace one value."""
    if int_value is not None:
        _validate_int(int_value)
    if string_value is not None:
        _validate_string(string_value)
    obj = DataObject.objects.select_for_update().filter(pk=data_object.pk).first()
    if obj is None:
        raise NotFound(NOT_FOUND)
    changes = {f: [getattr(obj, f), v] for f, v in (("int_value", int_value),
                                                     ("string_value", string_value))
               if v is not None and getattr(obj, f) != v}
    for field, (_, value) in changes.items():
        setattr(obj, field, value)
    if changes:
        obj.save(update_fields=list(changes))
        _log(obj, actor, "data object changed", changes)
    return obj


@transaction.atomic
def data_object_remove(*, data_object: DataObject, actor: Actor) -> None:
    deleted, _ = DataObject.objects.filter(pk=data_object.pk).delete()
    if deleted:
        _log(data_object, actor, "data object removed",
             {"name": [data_object.name, None],
              "string_value": [data_object.string_value, None],
              "int_value": [data_object.int_value, None]})


def _passing_limit(delta: int, bound: int | None) -> tuple[str, int] | None:
    """The WHERE condition on the current value under which adding `delta` stays within 64
    bits and the bound: ("lte", x) or ("gte", x); None when no current value can pass."""
    if delta >= 0:
        limit = INT64 - 1 - delta
        if bound is not None:
            limit = min(limit, bound - delta)
        return ("lte", limit) if limit >= -INT64 else None
    limit = -INT64 - delta
    if bound is not None:
        limit = max(limit, bound - delta)
    return ("gte", limit) if limit < INT64 else None


@transaction.atomic
def data_object_change_int(*, data_object: DataObject, actor: Actor, delta: int,
                           bound: int | None = None) -> DataObject:
    """Add `delta` (negative to decrement) in one conditional UPDATE. With `bound`, an
    increment may reach the bound but not pass it, a decrement likewise downwards; the change
    is refused instead ("The bound was reached."), exactly, under any concurrency: the bound
    is checked by the database in the same statement that changes the value."""
    _validate_int(delta)
    rows = DataObject.objects.filter(pk=data_object.pk)
    condition = _passing_limit(delta, bound)
    updated = condition is not None and rows.filter(
        **{f"int_value__{condition[0]}": condition[1]}).update(
            int_value=F("int_value") + delta) == 1
    current = rows.values_list("int_value", flat=True).first()
    if current is None:
        raise NotFound(NOT_FOUND)
    if not updated:
        new_value = current + delta
        if not -INT64 <= new_value < INT64:
            raise DomainError(OUT_OF_RANGE, field="int_value")
        raise DomainError(BOUND_REACHED, field="int_value")
    data_object.int_value = current
    return data_object


@transaction.atomic
def data_objects_upload_values(*, key: LicenseKey, actor: Actor,
                               changes: Sequence[tuple[int, int]]) -> list[DataObject]:
    """UploadValuesToKey: apply a batch of (data object id, signed change) to the key's data
    objects, all or nothing (a missing object or an overflow undoes the whole batch). The
    changes carry no bound: they record usage that already happened offline."""
    if len(changes) > MAX_UPLOAD_CHANGES:
        raise DomainError("At most 1000 changes can be uploaded at once.")
    objects = {o.pk: o for o in key.data_objects.select_for_update().filter(
        pk__in={object_id for object_id, _ in changes}).order_by("pk")}
    changed = []
    for object_id, delta in changes:
        obj = objects.get(object_id)
        if obj is None:
            raise NotFound(NOT_FOUND)
        changed.append(data_object_change_int(data_object=obj, actor=actor, delta=delta))
    return changed


_DROP_MACHINE_OBJECTS_SQL = (
    f"DELETE FROM {DataObject._meta.db_table} "  # noqa: S608 (the models' own names)
    "WHERE machine_key_id = %s AND machine_code IN ({codes}) AND NOT EXISTS ("
    f"SELECT 1 FROM {Activation._meta.db_table} a WHERE a.key_id = %s "
    f"AND a.machine_code = {DataObject._meta.db_table}.machine_code)")


def machine_data_objects_drop(*, key: LicenseKey, machine_codes: Iterable[str]) -> int:
    """Drop the data objects of the key's machine codes that no longer hold any activation
    (called by every path that deactivates a device, inside its transaction; see the module
    docstring). Returns how many were removed. One statement, the check that a machine code
    holds no seat any more included, written out: the ORM took longer to build it than the
    database takes to run it, on every deactivation."""
    codes = sorted(set(machine_codes))
    if not codes:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_DROP_MACHINE_OBJECTS_SQL.format(codes=", ".join(["%s"] * len(codes))),
                       [key.pk, *codes, key.pk])
        return cursor.rowcount
