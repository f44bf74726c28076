"""The license object a verified certificate carries: Cryptolens' LicenseKey fields (the
PascalCase JSON of key/Activate), as the key was when the application was signed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DataObject:
    id: int
    name: str
    string_value: str
    int_value: int


@dataclass(frozen=True)
class License:
    product_id: int
    key: str | None  # None where the vendor's token hides it
    serial: int | None
    created: dt.datetime
    expires: dt.datetime
    period: int
    features: tuple[bool, ...]  # F1..F8
    block: bool
    notes: str | None
    customer: dict[str, Any] | None
    max_no_of_machines: int | None
    data_objects: tuple[DataObject, ...]
    time_limited: bool  # whether Expires ends the license (the product's rule, at signing)
    # What the certificate binds besides the license:
    machine_code: str
    application_fingerprint: str
    application_name: str
    signed_at: dt.datetime
    certificate_id: int
    raw: dict[str, Any] = field(repr=False, compare=False)

    def has_feature(self, number: int) -> bool:
        """Feature `number` (1-8), as Cryptolens' F1..F8."""
        if not 1 <= number <= len(self.features):
            raise ValueError("features are numbered 1 to 8")
        return self.features[number - 1]

    def data_object(self, name: str) -> DataObject | None:
        """The license's first data object called `name`, if any."""
        return next((d for d in self.data_objects if d.name == name), None)


def _time(value: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(value), dt.UTC)


def license_from_payload(payload: dict[str, Any]) -> License:
    """Build the License of a verified certificate payload (KeyError/TypeError/ValueError on a
    payload that lacks a field: the caller turns them into a malformed-certificate error)."""
    body = payload["License"]
    application = payload["Application"]
    objects = tuple(
        DataObject(int(d["Id"]), str(d["Name"]), str(d.get("StringValue") or ""),
                   int(d.get("IntValue") or 0))
        for d in (body.get("DataObjects") or []))
    return License(
        product_id=int(body["ProductId"]),
        key=body.get("Key"),
        serial=body.get("ID"),
        created=_time(body["Created"]),
        expires=_time(body["Expires"]),
        period=int(body.get("Period") or 0),
        features=tuple(bool(body[f"F{n}"]) for n in range(1, 9)),
        block=bool(body.get("Block")),
        notes=body.get("Notes"),
        customer=body.get("Customer"),
        max_no_of_machines=body.get("MaxNoOfMachines"),
        data_objects=objects,
        time_limited=bool(payload["TimeLimited"]),
        machine_code=str(payload["MachineCode"]),
        application_fingerprint=str(application["Fingerprint"]),
        application_name=str(application.get("Name") or ""),
        signed_at=_time(payload["SignedAt"]),
        certificate_id=int(payload["Id"]),
        raw=body,
    )
