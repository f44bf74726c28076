"""One round trip for the calls every client makes at start-up, on PostgreSQL.

Re-activating a device that already holds its node-locked seat, and GetKey, change nothing
but the Web API log. Through the ORM they cost four statements (key, devices, data objects,
log row); here one statement reads the key with its devices, data objects, customer and
product as JSON and, in the same statement, writes the log row — but only when the outcome is
certain to be the success this path serves:

- Activate: the key exists in the vendor's product, is not blocked, is the token's locked key
  (if any), and the machine code already holds a node-locked seat with the same friendly name
  (or none given). Anything else writes no row here and the caller takes the ordinary path,
  which applies every rule and logs the real outcome.
- GetKey: the key exists (and is the token's locked key, if any).
- Floating heartbeat (Activate with FloatingTimeInterval T > 0), the call a floating client
  repeats every few minutes: the key is not blocked and the device still holds a live
  floating seat. The statement renews that seat (one conditional UPDATE, as the ordinary
  path's renewal: a seat that expired or was released meanwhile is not renewed, and the
  caller takes the ordinary path, which counts seats under the key's lock) and writes the
  log row with the new expiry. Renewing a seat the device holds changes no count, so the
  seat count stays exact under concurrency.

How the statement runs (apps.core.pipeline): prepared once per connection, since planning
it cost PostgreSQL three times what running it does; and, outside a transaction, in libpq's
pipeline mode, so that its row arrives before its commit and the caller builds and signs the
answer while PostgreSQL flushes the commit to disk. Served.committed() waits for that commit:
nothing may be answered before it returns (see apps.api.context.ApiContext.fast_answer).

SQLite and other databases always take the ordinary path."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState

from apps.accounts.models import Reseller
from apps.core.geoip import country_of
from apps.core.pipeline import Statement, run
from apps.licensing.models import Activation, Customer, DataObject, LicenseKey, Product

M = TypeVar("M", bound=Model)

# Each parameter's SQL type: libpq sends them as text, and a parameter used twice must be
# read the same way both times.
_TYPES = {
    "vendor_id": "bigint", "product_id": "bigint", "key": "text", "locked_key": "bigint",
    "need_seat": "boolean", "machine_code": "text", "friendly_name": "text", "ip": "inet",
    "method": "text", "user_agent": "text", "token_id": "bigint", "country": "text",
    "state": "integer", "overdraft_state": "integer", "interval": "bigint",
}

# The key named by the call, in the vendor's product.
_KEY = """k AS (
    SELECT k.* FROM licensing_licensekey k
    JOIN licensing_product p ON p.id = k.product_id
    WHERE k.product_id = %(product_id)s AND p.vendor_id = %(vendor_id)s AND k.key = %(key)s
)"""


def _columns_array(model: type[Model], alias: str) -> str:
    """A JSON array of the model's columns in its fields' order: for a list of many rows
    (a key's devices) a third smaller to send and faster to read than an object each."""
    return "json_build_array({})".format(", ".join(
        f'{alias}."{f.column}"' for f in model._meta.concrete_fields))


# What an answer reads of that key, as JSON: the key, its devices (arrays, see
# _columns_array), data objects, customer and product (columns 0-4 of every statement here;
# _build makes the key of them).
_DEVICES = f"""(SELECT json_agg({_columns_array(Activation, "a")} ORDER BY a.time, a.id)::text
       FROM licensing_activation a WHERE a.key_id = k.id)"""  # noqa: S608 (the model's columns)
_READ = f"""row_to_json(k.*)::text,
    {_DEVICES},
    (SELECT json_agg(row_to_json(d.*) ORDER BY d.id)::text
       FROM licensing_dataobject d WHERE d.key_id = k.id),
    (SELECT row_to_json(c.*)::text FROM licensing_customer c WHERE c.id = k.customer_id),
    (SELECT row_to_json(p.*)::text FROM licensing_product p WHERE p.id = k.product_id)"""  # noqa: S608
# The one-statement paths read the devices only when the call was served: a call they do not
# serve (a new device) is answered by the ordinary path, which reads them itself.
_READ_SERVED = _READ.replace(
    _DEVICES, f"CASE WHEN EXISTS (SELECT 1 FROM logged) THEN {_DEVICES} END")  # noqa: S608
# ... and its reseller (the ordinary path's reads: column 5).
_RESELLER = """(SELECT row_to_json(r.*)::text FROM accounts_reseller r
       WHERE r.id = k.reseller_id)"""

_SQL = Statement(f"""
WITH {_KEY}, hit AS (
    -- The device's node-locked seat, found through the seat's unique index (key, machine
    -- code, floating) whatever the planner thinks of the key's share of all devices.
    SELECT 1 FROM k
    LEFT JOIN licensing_activation a ON %(need_seat)s AND a.key_id = k.id
        AND a.machine_code = %(machine_code)s AND NOT a.floating
    WHERE (%(locked_key)s::bigint IS NULL OR k.id = %(locked_key)s::bigint)
      AND (NOT %(need_seat)s OR (NOT k.block AND a.id IS NOT NULL
           AND (%(friendly_name)s = '' OR a.friendly_name = %(friendly_name)s)))
), logged AS (
    INSERT INTO licensing_webapilog (vendor_id, time, product_id, key, ip, state,
        machine_code, friendly_name, method, user_agent, token_id, country)
    SELECT %(vendor_id)s, now(), %(product_id)s, %(key)s, %(ip)s, %(state)s,
        %(machine_code)s, %(friendly_name)s, %(method)s, %(user_agent)s, %(token_id)s,
        %(country)s
    FROM hit
    RETURNING state
)
SELECT {_READ_SERVED},
    (SELECT state FROM logged)
FROM k
""", _TYPES)  # noqa: S608 (built from this module's constants, not from input)

# The heartbeat: the same read, with the device's live floating seat renewed. The statement
# reads the devices as they were before its UPDATE (one snapshot), so the renewed seat is
# returned separately and replaces its old self in Python.
_HEARTBEAT_SQL = Statement(f"""
WITH {_KEY}, seat AS (
    UPDATE licensing_activation a
    SET floating_expires = now() + make_interval(secs => %(interval)s), ip = %(ip)s,
        friendly_name = CASE WHEN %(friendly_name)s = '' THEN a.friendly_name
                             ELSE %(friendly_name)s END
    FROM k
    WHERE a.key_id = k.id AND a.machine_code = %(machine_code)s AND a.floating
      AND a.floating_expires > now() AND NOT k.block
      AND (%(locked_key)s::bigint IS NULL OR k.id = %(locked_key)s::bigint)
    RETURNING a.*
), logged AS (
    INSERT INTO licensing_webapilog (vendor_id, time, product_id, key, ip, state,
        machine_code, friendly_name, floating_expires, method, user_agent, token_id, country)
    SELECT %(vendor_id)s, now(), %(product_id)s, %(key)s, %(ip)s,
        CASE WHEN seat.overdraft THEN %(overdraft_state)s ELSE %(state)s END,
        %(machine_code)s, %(friendly_name)s, seat.floating_expires, %(method)s,
        %(user_agent)s, %(token_id)s, %(country)s
    FROM seat
    RETURNING state
)
SELECT {_READ_SERVED},
    (SELECT state FROM logged),
    (SELECT row_to_json(seat.*)::text FROM seat)
FROM k
""", _TYPES)  # noqa: S608 (built from this module's constants, not from input)


# The ordinary path's reads: the key named by the call, with or without its devices (its
# handler counts seats in the database, and reads them after a change) ...
_FIND_SQL = Statement(f"""
WITH {_KEY}
SELECT {_READ.replace(_DEVICES, f"CASE WHEN %(devices)s THEN {_DEVICES} END")}, {_RESELLER}
FROM k
""", {**_TYPES, "devices": "boolean"})  # noqa: S608 (built from this module's constants)
# ... and the key as it is now, by id, after a change.
_LOAD_SQL = Statement(f"""
SELECT {_READ}, {_RESELLER} FROM licensing_licensekey k WHERE k.id = %(key_id)s
""", {"key_id": "bigint"})  # noqa: S608 (built from this module's constants, not from input)


# A key's row locked FOR UPDATE (that row only), before a seat is added or freed.
_LOCK_SQL = Statement("""
SELECT row_to_json(k.*)::text FROM licensing_licensekey k WHERE k.id = %(key_id)s FOR UPDATE
""", {"key_id": "bigint"})


@dataclass
class Served:
    key: LicenseKey  # with product, customer, devices and data objects loaded
    current: Activation | None  # the calling device (Activate)
    state: int  # the state the log row was written with
    # Waits until the statement's transaction (the log row with it) has committed; raises
    # a DatabaseError when it did not. Call it before answering.
    committed: Callable[[], None]


def available() -> bool:
    return connection.vendor == "postgresql"


def _run(statement: Statement, *, vendor_id: int, product_id: int, key: str,
         locked_key_id: int | None, machine_code: str, friendly_name: str,
         log: dict[str, Any], **extra: Any) -> tuple[tuple[Any, ...], Callable[[], None]] | None:
    """Execute one of the statements for the call: its row and the wait for its commit; None
    when its input is beyond what the tables hold (the ordinary path words the refusal) or
    the key was not found (and nothing was written)."""
    if (not product_id or not key or len(key) > 64 or len(machine_code) > 128
            or len(friendly_name) > 255):
        return None
    row, committed = run(statement, {
        "vendor_id": vendor_id, "product_id": product_id, "key": key,
        "locked_key": locked_key_id, "machine_code": machine_code,
        "friendly_name": friendly_name, "ip": log["ip"], "method": log["method"],
        "user_agent": log["user_agent"][:255], "token_id": log["token_id"],
        "country": country_of(log["ip"]), "state": log["state"], **extra,
    })
    if row is None or row[5] is None:
        committed()  # nothing was written; the ordinary path goes on with this connection
        return None
    return row, committed


def find(*, vendor_id: int, product_id: int, key: str, devices: bool) -> LicenseKey | None:
    """The vendor's key `key` of product `product_id`, with its product, customer, reseller,
    data objects and, when `devices`, its devices; None when there is none. One prepared
    statement: the ORM's select_related and prefetch cost the ordinary path more to build
    than PostgreSQL takes to answer."""
    if not product_id or not key or len(key) > 64:
        return None
    row, committed = run(_FIND_SQL, {"vendor_id": vendor_id, "product_id": product_id,
                                     "key": key, "devices": devices})
    committed()
    if row is None:
        return None
    found = _build(*row)
    if not devices:
        del found._prefetched_objects_cache["activations"]  # type: ignore[attr-defined]
    return found


def load(key_id: int) -> LicenseKey:
    """The key with its product, customer, reseller, devices and data objects, as it is now,
    in one statement: for a key with many devices a third of what the ORM's prefetch costs."""
    row, committed = run(_LOAD_SQL, {"key_id": key_id})
    committed()
    if row is None:
        raise LicenseKey.DoesNotExist(key_id)
    return _build(*row)


def lock(key_id: int) -> LicenseKey:
    """The key's row, read as it is now and locked FOR UPDATE until the transaction ends (the
    caller's, which must be open): one prepared statement, no ORM to build."""
    row, committed = run(_LOCK_SQL, {"key_id": key_id})
    committed()
    if row is None:
        raise LicenseKey.DoesNotExist(key_id)
    return _instance(LicenseKey, json.loads(row[0]))


def serve(*, vendor_id: int, product_id: int, key: str, locked_key_id: int | None,
          machine_code: str | None, friendly_name: str, log: dict[str, Any]) -> Served | None:
    """Run the one statement. `machine_code` None means GetKey (no seat needed). Returns the
    loaded key when the success was logged, else None: take the ordinary path."""
    ran = _run(_SQL, vendor_id=vendor_id, product_id=product_id, key=key,
               locked_key_id=locked_key_id, machine_code=machine_code or "",
               friendly_name=friendly_name, log=log, need_seat=machine_code is not None)
    if ran is None:
        return None
    row, committed = ran
    with _settled_on_error(committed):
        loaded = _build(*row[:5])
        current = None
        if machine_code is not None:
            current = next(a for a in loaded.activations.all()
                           if a.machine_code == machine_code and not a.floating)
    return Served(loaded, current, row[5], committed)


def serve_heartbeat(*, vendor_id: int, product_id: int, key: str, locked_key_id: int | None,
                    machine_code: str, friendly_name: str, interval: int,
                    log: dict[str, Any]) -> Served | None:
    """Renew the device's live floating seat for `interval` seconds and log it, in one
    statement (`log` names the state and, for a seat in overdraft, `overdraft_state`).
    Returns the loaded key (its devices as they are now) and the logged state, or None: take
    the ordinary path."""
    if not machine_code:
        return None
    ran = _run(_HEARTBEAT_SQL, vendor_id=vendor_id, product_id=product_id, key=key,
               locked_key_id=locked_key_id, machine_code=machine_code,
               friendly_name=friendly_name, log=log, interval=interval,
               overdraft_state=log["overdraft_state"])
    if ran is None:
        return None
    row, committed = ran
    with _settled_on_error(committed):
        renewed = _instance(Activation, json.loads(row[6]))
        loaded = _build(*row[:5])
        devices = [renewed if a.pk == renewed.pk else a for a in loaded.activations.all()]
        loaded._prefetched_objects_cache["activations"] = (  # type: ignore[attr-defined]
            _prefetched(Activation, devices))
    return Served(loaded, renewed, row[5], committed)


@contextlib.contextmanager
def _settled_on_error(committed: Callable[[], None]) -> Iterator[None]:
    """Should reading the row fail, the statement is still waited for: the connection serves
    the rest of the request."""
    try:
        yield
    except BaseException:
        committed()
        raise


@functools.cache
def _shape(model: type[Model]) -> tuple[tuple[str, ...], operator.itemgetter, tuple[int, ...]]:
    """The model's attribute names, a getter of its columns from a row's JSON object (in the
    same order), and the positions of its date-time attributes (ISO text in JSON): read
    once."""
    fields = model._meta.concrete_fields
    return (tuple(f.attname for f in fields), operator.itemgetter(*(f.column for f in fields)),
            tuple(i for i, f in enumerate(fields) if f.get_internal_type() == "DateTimeField"))


def _instance(model: type[M], data: dict[str, Any]) -> M:
    """The instance of a row read as a JSON object (row_to_json)."""
    _, columns, _ = _shape(model)
    return _instances(model, [list(columns(data))])[0]


def _instances(model: type[M], rows: list[list[Any]]) -> list[M]:
    """The instances that Model.from_db makes of rows read as arrays (_columns_array): every
    column loaded, not adding, from this database; without the field-by-field __init__ and
    its init signals, which no model of these reads has a receiver for. An answer may list
    thousands of devices: this loop is where it spends its time."""
    attnames, _, datetimes = _shape(model)
    parse, new, state_class = dt.datetime.fromisoformat, model.__new__, ModelState
    made: list[M] = []
    for row in rows:
        for i in datetimes:
            if row[i] is not None:
                row[i] = parse(row[i])
        values = dict(zip(attnames, row, strict=True))
        state = values["_state"] = state_class()
        state.adding, state.db = False, DEFAULT_DB_ALIAS  # the database pipeline.run reads
        instance = new(model)
        instance.__dict__ = values
        made.append(instance)
    return made


def _prefetched(model: type[Model], rows: list[Any]) -> QuerySet:
    """A queryset already evaluated to `rows`, as prefetch_related leaves one."""
    queryset = model._default_manager.all()
    queryset._result_cache = rows
    queryset._prefetch_done = True  # type: ignore[attr-defined]
    return queryset


def _build(key_json: str, activations_json: str | None, data_json: str | None,
           customer_json: str | None, product_json: str,
           reseller_json: str | None = None) -> LicenseKey:
    key = _instance(LicenseKey, json.loads(key_json))
    key.product = _instance(Product, json.loads(product_json))
    key.customer = _instance(Customer, json.loads(customer_json)) if customer_json else None
    if reseller_json is not None:
        key.reseller = _instance(Reseller, json.loads(reseller_json))
    activations = _instances(Activation, json.loads(activations_json or "[]"))
    data_objects = [_instance(DataObject, d) for d in json.loads(data_json or "[]")]
    key._prefetched_objects_cache = {  # type: ignore[attr-defined]
        "activations": _prefetched(Activation, activations),
        "data_objects": _prefetched(DataObject, data_objects),
    }
    return key
