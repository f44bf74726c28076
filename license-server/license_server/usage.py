"""Usage-based licensing through the license server: data/IncrementIntValueToKey and
data/DecrementIntValueToKey, as Cryptolens' license server has them
(Cryptolens/license-server, Program.cs and Helpers.ProcessIncrementDecrementValueRequest):
relayed while the portal can be reached; otherwise recorded here, answered with success and
uploaded to the portal later.

Offline, the data object must be in a signed license the server holds: a license file or a
cached answer of the portal (Cryptolens: "The license file ... needs to have the data objects
that will be incremented or decremented"). Its value there, plus the changes made through this
server since that license was signed, is the last known value a bound is checked against.
Cryptolens' server checks no bound offline; this one does, as far as it knows the value."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from . import wire
from .cache import AnswerCache
from .license_files import LicenseFile

INT64 = 2**63


@dataclass(frozen=True)
class Change:
    """What the device asked for, with the same defaults as the portal's Web API: the object
    by Id, or by Name when Id is 0 or missing; IntValue non-negative; Bound only with
    EnableBound."""

    product_id: int
    key: str
    object_id: int
    name: str
    amount: int
    sign: int  # +1 increment, -1 decrement
    bound: int | None

    @property
    def delta(self) -> int:
        return self.sign * self.amount


@dataclass(frozen=True)
class KnownLicense:
    license: dict[str, Any]
    signed_at: float  # Unix seconds


def _strict_int(call: wire.Request, name: str) -> int:
    """The parameter as a 64-bit integer, 0 when missing; ValueError when it is not one."""
    value = call.str(name).strip()
    number = int(value) if value else 0
    if not -INT64 <= number < INT64:
        raise ValueError(name)
    return number


def parse(call: wire.Request) -> Change | None:
    """The change the call asks for; None when its parameters are not well-formed (the
    portal answers "The input parameters were incorrect." for those)."""
    try:
        product_id, object_id, amount, bound = (
            _strict_int(call, name) for name in ("ProductId", "Id", "IntValue", "Bound"))
    except ValueError:
        return None
    if amount < 0:
        return None
    return Change(product_id=product_id, key=call.str("Key"), object_id=object_id,
                  name=call.str("Name")[:100], amount=amount,
                  sign=wire.USAGE_METHODS[call.method_name],
                  bound=bound if call.bool("EnableBound") else None)


def _signed_at(license_obj: dict[str, Any]) -> float | None:
    """SignDate: Unix seconds (StringSign) or an ISO 8601 time (LinqSign's signDate)."""
    value = {k.lower(): v for k, v in license_obj.items()}.get("signdate")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
    return None


def newest_license(*, product_id: int, key: str, files: dict[tuple[int, str], LicenseFile],
                   cache: AnswerCache) -> KnownLicense | None:
    """The most recently signed license of the key among the license files and the cached
    answers still young enough to be served (both sign methods)."""
    found: list[KnownLicense] = []
    license_file = files.get((product_id, key))
    if license_file is not None:
        signed = _signed_at(license_file.license)
        found.append(KnownLicense(license_file.license, signed or 0.0))
    for sign_method in (1, 0):
        hit = cache.newest_for_key(product_id=product_id, key=key, sign_method=sign_method)
        obj = wire.license_json(wire.decode_answer(hit.body) or {}) if hit else None
        if obj is not None and hit is not None:
            found.append(KnownLicense(obj, _signed_at(obj) or hit.stored_at))
    return max(found, key=lambda k: k.signed_at, default=None)


def find_object(license_obj: dict[str, Any], change: Change) -> dict[str, Any] | None:
    """The data object the change names, as {"id", "name", "intvalue"}; None when the
    license does not list it (or lists no data objects: a token may hide them)."""
    listed = {k.lower(): v for k, v in license_obj.items()}.get("dataobjects")
    objects = [{str(k).lower(): v for k, v in item.items()}
               for item in (listed if isinstance(listed, list) else []) if isinstance(item, dict)]
    if change.object_id:
        matches = [o for o in objects if o.get("id") == change.object_id]
    else:
        # By name, the first (lowest id) of that name, as the portal picks it.
        matches = [o for o in objects if change.name and o.get("name") == change.name]
    matches = sorted((o for o in matches if _is_int(o.get("id"))), key=lambda o: int(o["id"]))
    if not matches:
        return None
    value = matches[0].get("intvalue")
    return {"id": matches[0]["id"], "name": str(matches[0].get("name") or ""),
            "intvalue": value if _is_int(value) else 0}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
