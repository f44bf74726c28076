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

SQLite and other databases always take the ordinary path."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection

from apps.core.geoip import country_of
from apps.licensing.models import Activation, Customer, DataObject, LicenseKey, Product

# The key named by the call, in the vendor's product.
_KEY = """k AS (
    SELECT k.* FROM licensing_licensekey k
    JOIN licensing_product p ON p.id = k.product_id
    WHERE k.product_id = %(product_id)s AND p.vendor_id = %(vendor_id)s AND k.key = %(key)s
)"""
# What an answer reads of that key, as JSON: the key, its devices, data objects, customer and
# product (columns 0-4 of both statements; _build makes the key of them).
_READ = """row_to_json(k.*)::text,
    (SELECT json_agg(row_to_json(a.*) ORDER BY a.time, a.id)::text
       FROM licensing_activation a WHERE a.key_id = k.id),
    (SELECT json_agg(row_to_json(d.*) ORDER BY d.id)::text
       FROM licensing_dataobject d WHERE d.key_id = k.id),
    (SELECT row_to_json(c.*)::text FROM licensing_customer c WHERE c.id = k.customer_id),
    (SELECT row_to_json(p.*)::text FROM licensing_product p WHERE p.id = k.product_id)"""

_SQL = f"""
WITH {_KEY}, hit AS (
    SELECT 1 FROM k
    WHERE (%(locked_key)s::bigint IS NULL OR k.id = %(locked_key)s::bigint)
      AND (NOT %(need_seat)s OR (NOT k.block AND EXISTS (
          SELECT 1 FROM licensing_activation a
          WHERE a.key_id = k.id AND a.machine_code = %(machine_code)s AND NOT a.floating
            AND (%(friendly_name)s = '' OR a.friendly_name = %(friendly_name)s))))
), logged AS (
    INSERT INTO licensing_webapilog (vendor_id, time, product_id, key, ip, state,
        machine_code, friendly_name, method, user_agent, token_id, country)
    SELECT %(vendor_id)s, now(), %(product_id)s, %(key)s, %(ip)s, %(state)s,
        %(machine_code)s, %(friendly_name)s, %(method)s, %(user_agent)s, %(token_id)s,
        %(country)s
    FROM hit
    RETURNING state
)
SELECT {_READ},
    (SELECT state FROM logged)
FROM k
"""  # noqa: S608 (built from this module's constants, not from input)

# The heartbeat: the same read, with the device's live floating seat renewed. The statement
# reads the devices as they were before its UPDATE (one snapshot), so the renewed seat is
# returned separately and replaces its old self in Python.
_HEARTBEAT_SQL = f"""
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
SELECT {_READ},
    (SELECT state FROM logged),
    (SELECT row_to_json(seat.*)::text FROM seat)
FROM k
"""  # noqa: S608 (built from this module's constants, not from input)


@dataclass
class Served:
    key: LicenseKey  # with product, customer, devices and data objects loaded
    current: Activation | None  # the calling device (Activate)
    state: int  # the state the log row was written with


def available() -> bool:
    return connection.vendor == "postgresql"


def _run(sql: str, *, vendor_id: int, product_id: int, key: str, locked_key_id: int | None,
         machine_code: str, friendly_name: str, log: dict[str, Any],
         **extra: Any) -> tuple[Any, ...] | None:
    """Execute one of the statements for the call; None when its input is beyond what the
    tables hold (the ordinary path words the refusal) or the key was not found."""
    if (not product_id or not key or len(key) > 64 or len(machine_code) > 128
            or len(friendly_name) > 255):
        return None
    params = {
        "vendor_id": vendor_id, "product_id": product_id, "key": key,
        "locked_key": locked_key_id, "machine_code": machine_code,
        "friendly_name": friendly_name, "ip": log["ip"], "method": log["method"],
        "user_agent": log["user_agent"][:255], "token_id": log["token_id"],
        "country": country_of(log["ip"]), "state": log["state"], **extra,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def serve(*, vendor_id: int, product_id: int, key: str, locked_key_id: int | None,
          machine_code: str | None, friendly_name: str, log: dict[str, Any]) -> Served | None:
    """Run the one statement. `machine_code` None means GetKey (no seat needed). Returns the
    loaded key when the success was logged, else None: take the ordinary path."""
    row = _run(_SQL, vendor_id=vendor_id, product_id=product_id, key=key,
               locked_key_id=locked_key_id, machine_code=machine_code or "",
               friendly_name=friendly_name, log=log, need_seat=machine_code is not None)
    if row is None or row[5] is None:
        return None
    loaded = _build(*row[:5])
    current = None
    if machine_code is not None:
        current = next(a for a in loaded.activations.all()
                       if a.machine_code == machine_code and not a.floating)
    return Served(loaded, current, row[5])


def serve_heartbeat(*, vendor_id: int, product_id: int, key: str, locked_key_id: int | None,
                    machine_code: str, friendly_name: str, interval: int,
                    log: dict[str, Any]) -> Served | None:
    """Renew the device's live floating seat for `interval` seconds and log it, in one
    statement (`log` names the state and, for a seat in overdraft, `overdraft_state`).
    Returns the loaded key (its devices as they are now) and the logged state, or None: take
    the ordinary path."""
    if not machine_code:
        return None
    row = _run(_HEARTBEAT_SQL, vendor_id=vendor_id, product_id=product_id, key=key,
               locked_key_id=locked_key_id, machine_code=machine_code,
               friendly_name=friendly_name, log=log, interval=interval,
               overdraft_state=log["overdraft_state"])
    if row is None or row[5] is None:
        return None
    renewed = _instance(Activation, json.loads(row[6]))
    loaded = _build(*row[:5])
    devices = [renewed if a.pk == renewed.pk else a for a in loaded.activations.all()]
    loaded._prefetched_objects_cache["activations"] = (  # type: ignore[attr-defined]
        _prefetched(Activation, devices))
    return Served(loaded, renewed, row[5])


def _instance(model, data: dict[str, Any]):
    fields = model._meta.concrete_fields
    values = []
    for f in fields:
        value = data.get(f.column)
        if value is not None and f.get_internal_type() == "DateTimeField":
            value = dt.datetime.fromisoformat(value)
        values.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def _prefetched(model, rows: list[Any]):
    queryset = model.objects.all()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    return queryset


def _build(key_json: str, activations_json: str | None, data_json: str | None,
           customer_json: str | None, product_json: str) -> LicenseKey:
    key = _instance(LicenseKey, json.loads(key_json))
    key.product = _instance(Product, json.loads(product_json))
    key.customer = _instance(Customer, json.loads(customer_json)) if customer_json else None
    activations = [_instance(Activation, a) for a in json.loads(activations_json or "[]")]
    data_objects = [_instance(DataObject, d) for d in json.loads(data_json or "[]")]
    key._prefetched_objects_cache = {
        "activations": _prefetched(Activation, activations),
        "data_objects": _prefetched(DataObject, data_objects),
    }
    return key
