"""Applying the changes to data objects (usage-based licensing) a license server recorded while
the portal could not be reached.

The license server answers data/IncrementIntValueToKey and data/DecrementIntValueToKey
itself when offline, as Cryptolens' license server does (Cryptolens/license-server,
Helpers.ProcessIncrementDecrementValueRequest), and puts `"Usage": {"DataObjectId", "Name",
"Delta"}` on the journal record. The upload applies each such record through the data-object
service, in the upload's transaction, next to the UploadedRecord row that marks the record's
id as received: an upload retried after a lost answer finds the id taken and applies nothing
twice, and a failure rolls back both.

No bound is applied here. The device was told the change succeeded (the server checked the
bound against the value it knew) and used what it paid for; Cryptolens' offline usage log
likewise keeps only the data object and the amount (DataObjectOperation{Increment,
DataObjectId}). A change the portal cannot make (the object was removed, the value would
leave 64 bits) is logged as failed (8020) and not sent again."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing.models import DataObject
from apps.licensing.services import data_object_change_int
from apps.usage import states
from apps.usage.models import WebApiLog

from .models import LicenseServerConfiguration

INT64 = 2**63
# The sign each method's Delta must have.
SIGNS = {"data.IncrementIntValueToKey": 1, "data.DecrementIntValueToKey": -1}


def _change(row: WebApiLog, usage: dict[str, Any]) -> tuple[int, int]:
    """(data object id, delta); ValueError/TypeError for a malformed Usage block, which
    refuses the whole upload like any malformed record."""
    object_id, delta = usage["DataObjectId"], usage["Delta"]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (object_id, delta)):
        raise TypeError("Usage: DataObjectId and Delta must be integers")
    if object_id <= 0 or not -INT64 <= delta < INT64 or delta * SIGNS[row.method] < 0:
        raise ValueError("Usage: DataObjectId or Delta out of range")
    return object_id, delta


def usage_apply(*, configuration: LicenseServerConfiguration, rows: dict[str, WebApiLog],
                records: dict[str, dict[str, Any]]) -> tuple[int, int]:
    """Apply the usage of the records `rows` holds (the accepted, new ones, by id), setting
    each row's state, do_id and do_int_value; returns (applied, failed). Runs inside
    license_server_upload's transaction (which also stores the records' ids)."""
    actor = Actor.for_system(f"license server {configuration.pk} ({configuration.name})")
    applied = failed = 0
    for record_id, row in rows.items():
        usage = records[record_id].get("Usage")
        if row.method not in SIGNS or row.state != states.DATA_OBJECT_CHANGED:
            continue
        if not isinstance(usage, dict):
            raise TypeError("a data object change without its Usage")
        object_id, delta = _change(row, usage)
        row.do_id = object_id
        data_object = DataObject.objects.filter(
            vendor_id=configuration.vendor_id, referencer_type=DataObject.KEY, pk=object_id,
            key__product_id=row.product_id or 0, key__key=row.key).first()
        try:
            if data_object is None:
                raise DomainError("The data object could not be found.")
            with transaction.atomic():  # a refused change leaves the rest of the upload
                changed = data_object_change_int(data_object=data_object, actor=actor,
                                                 delta=delta)
        except DomainError:
            row.state = states.DATA_OBJECT_FAILED
            failed += 1
            continue
        row.do_int_value = changed.int_value
        applied += 1
    return applied, failed
