"""What the license server answers a device: the portal's answer when it can be reached,
otherwise the cache, a license file, an offline floating seat or a change to a data object
recorded for upload, and a clear error when none of them applies. Every call goes into the
journal."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from . import floating, usage, wire
from .cache import AnswerCache
from .configuration import REVOKED, Configuration, ConfigurationError
from .license_files import LicenseFile
from .options import Options
from .store import PendingUsage, StorageError, Store, UsageChange
from .upstream import Upstream

logger = logging.getLogger(__name__)
CACHED = ("key.activate", "key.getkey")


@dataclass
class Outcome:
    body: bytes
    state: int
    source: str  # portal, cache, license-file, floating, local, error
    floating_expires: float | None = None
    journaled: bool = False  # already in the journal (an offline change to a data object)


class LicenseServer:
    def __init__(self, *, options: Options, store: Store, cache: AnswerCache,
                 files: dict[tuple[int, str], LicenseFile], upstream: Upstream | None,
                 configuration: Configuration | None, configuration_error: str = "") -> None:
        self.options = options
        self.store = store
        self.cache = cache
        self.files = files
        self.upstream = upstream
        self.configuration = configuration
        self.configuration_error = configuration_error
        self.on_portal_answer = lambda: None  # the uploader's wake-up

    def handle(self, call: wire.Request) -> bytes:
        name = call.method_name
        if name not in wire.METHODS:
            return wire.error(wire.NOT_SUPPORTED)
        if name in wire.USAGE_METHODS:
            outcome = self._usage(call)
        else:
            relayed = None
            if self.upstream is not None and not self.options.offline:
                relayed = self.upstream.forward(call)
            outcome = (self._relayed(call, relayed) if relayed is not None
                       else self._local(call))
        if not outcome.journaled:
            self._journal(call, outcome)
        return outcome.body

    def _relayed(self, call: wire.Request, body: bytes) -> Outcome:
        answer = wire.decode_answer(body) or {}
        ok = answer.get("result") == 0
        if ok and call.method_name in CACHED and call.int("FloatingTimeInterval") <= 0:
            try:
                self.cache.store(product_id=call.int("ProductId"), key=call.str("Key"),
                                 machine_code=call.str("MachineCode"),
                                 sign_method=call.int("SignMethod"), body=body)
            except OSError:
                logger.exception("Could not cache the portal's answer (is the disk full?)")
        self.on_portal_answer()
        return Outcome(body, wire.state(wire.METHODS[call.method_name], ok), "portal")

    def _local(self, call: wire.Request) -> Outcome:
        name = call.method_name
        family = wire.METHODS[name]
        if name == "ai.registerevent":
            return Outcome(wire.envelope(), wire.state(family, True), "local")
        if name == "key.deactivate":
            return self._deactivate(call)
        if call.int("FloatingTimeInterval") > 0:
            return self._floating(call)
        found = self._from_cache(call) or self._from_file(call)
        if found is None:
            return Outcome(wire.error(wire.UNREACHABLE), wire.state(family, False), "error")
        return found

    def _from_cache(self, call: wire.Request) -> Outcome | None:
        product_id, key, machine = call.int("ProductId"), call.str("Key"), call.str("MachineCode")
        sign_method = call.int("SignMethod")
        if call.method_name == "key.activate":
            if not machine:
                return None
            hit = self.cache.lookup(product_id=product_id, key=key, machine_code=machine,
                                    sign_method=sign_method)
            listed = hit is not None and wire.lists_device(
                wire.license_json(wire.decode_answer(hit.body) or {}) or {}, machine)
            return Outcome(hit.body, 2010, "cache") if listed and hit else None
        hit = self.cache.newest_for_key(product_id=product_id, key=key, sign_method=sign_method)
        return Outcome(hit.body, 1010, "cache") if hit else None

    def _from_file(self, call: wire.Request) -> Outcome | None:
        found = self.files.get((call.int("ProductId"), call.str("Key")))
        if found is None or call.int("SignMethod") != 1:
            return None
        if call.method_name == "key.activate":
            if found.blocked or not found.lists(call.str("MachineCode")):
                return None
            return Outcome(found.text, 2010, "license-file")
        return Outcome(found.text, 1010, "license-file")

    def _deactivate(self, call: wire.Request) -> Outcome:
        if not call.bool("Floating"):
            return Outcome(wire.error(wire.NEEDS_PORTAL), 6020, "error")
        try:
            self.store.release_seat(product_id=call.int("ProductId"), key=call.str("Key"),
                                    machine_code=call.str("MachineCode"))
        except StorageError:
            return Outcome(wire.error(wire.STORAGE_FAILED), 6020, "error")
        return Outcome(wire.envelope(), 6011, "floating")

    def _configuration_refusal(self, missing: str) -> str:
        """Why the vendor's configuration does not allow offline work now, or ""."""
        config = self.configuration
        if config is None:
            return self.configuration_error or missing
        if self.store.get_meta("revoked") == str(config.id):
            return REVOKED
        try:
            config.check_valid()
        except ConfigurationError as exc:
            return str(exc)
        return ""

    def _floating_refusal(self, call: wire.Request) -> tuple[str, LicenseFile | None, int]:
        """(error message or "", the license file, the seat limit)."""
        if not self.options.local_floating:
            return wire.FLOATING_OFF, None, 0
        if call.int("SignMethod") != 1:
            return wire.SIGN_METHOD_NEEDED, None, 0
        refusal = self._configuration_refusal(wire.NO_CONFIGURATION)
        if refusal:
            return refusal, None, 0
        config = self.configuration
        assert config is not None
        slot = (call.int("ProductId"), call.str("Key"))
        if slot not in config.floating_keys:
            return wire.KEY_NOT_CONFIGURED, None, 0
        found = self.files.get(slot)
        if found is None:
            return wire.NO_FLOATING_FILE, None, 0
        if found.blocked:
            return wire.KEY_BLOCKED, None, 0
        limits = [n for n in (config.floating_keys[slot], found.max_machines) if n > 0]
        return "", found, min(limits, default=0)

    def _floating(self, call: wire.Request) -> Outcome:
        """A seat among the local devices: at most the configured number at a time, each
        held for FloatingTimeInterval seconds after its last call."""
        activate = call.method_name == "key.activate"
        family = wire.METHODS[call.method_name]
        refusal, found, limit = self._floating_refusal(call)
        if found is None:
            return Outcome(wire.error(refusal), wire.state(family, False), "error")
        now = time.time()
        slot = {"product_id": found.product_id, "key": found.key}
        seat = None
        if activate:
            try:
                seat = self.store.take_seat(
                    **slot, machine_code=call.str("MachineCode"), now=now,
                    friendly_name=call.str("FriendlyName"), ip=call.ip,
                    interval=call.int("FloatingTimeInterval"), limit=limit)
            except StorageError:
                return Outcome(wire.error(wire.STORAGE_FAILED), 2020, "error")
            if seat is None:
                return Outcome(wire.error(wire.LIMIT_REACHED), 2024, "floating")
        seats = [seat] if seat else self.store.active_seats(**slot, now=now)
        assert self.configuration is not None
        body = floating.signed_answer(
            license_obj=found.license, seats=seats, model_version=call.int("ModelVersion", 1),
            server_key=self.configuration.server_key, now=now)
        return Outcome(body, 2014 if activate else 1010, "floating",
                       seat.expires if seat else None)

    def _usage(self, call: wire.Request) -> Outcome:
        """Relay the change; record it here when the portal cannot be reached. A call that
        reached the portal and got no answer may have been applied there: recording it too
        could count it twice, so the device is told to check instead."""
        if self.upstream is not None and not self.options.offline:
            reply = self.upstream.relay(call)
            if reply.body is not None:
                return self._relayed(call, reply.body)
            if reply.uncertain:
                return Outcome(wire.error(wire.USAGE_UNCONFIRMED), 8020, "error")
        return self._usage_offline(call)

    def _usage_offline(self, call: wire.Request) -> Outcome:
        refusal = self._configuration_refusal(wire.USAGE_NEEDS_CONFIGURATION)
        change = usage.parse(call)
        if not refusal and change is None:
            refusal = wire.INCORRECT_INPUT
        if refusal or change is None:
            return Outcome(wire.error(refusal), 8020, "error")
        known = usage.newest_license(product_id=change.product_id, key=change.key,
                                     files=self.files, cache=self.cache)
        if known is None:
            return Outcome(wire.error(wire.NO_USAGE_FILE), 8020, "error")
        found = usage.find_object(known.license, change)
        if found is None:
            return Outcome(wire.error(wire.NO_DATA_OBJECT), 8020, "error")
        outcome = Outcome(wire.envelope(), 8010, "local", journaled=True)
        record = self._record(call, outcome)
        # What the portal applies on upload (apps/license_server/usage.py).
        record["Usage"] = {"DataObjectId": found["id"], "Name": found["name"],
                           "Delta": change.delta}
        try:
            value = self.store.record_usage(
                record, UsageChange(change.product_id, change.key, found["id"], found["name"],
                                    change.delta, record["Time"], local=True),
                base=found["intvalue"], since=known.signed_at, bound=change.bound)
        except StorageError:
            return Outcome(wire.error(wire.STORAGE_FAILED), 8020, "error")
        if value is None:
            return Outcome(wire.error(wire.BOUND_REACHED), 8020, "local")
        return outcome

    def _record(self, call: wire.Request, outcome: Outcome) -> dict[str, Any]:
        record: dict[str, Any] = {
            "Time": time.time(), "Method": call.method_name, "ProductId": call.int("ProductId"),
            "Key": call.str("Key"), "MachineCode": call.str("MachineCode"),
            "FriendlyName": call.str("FriendlyName"), "IP": call.ip, "State": outcome.state,
            "FloatingExpires": outcome.floating_expires, "Source": outcome.source,
            "UserAgent": call.user_agent,
        }
        if call.method_name == "ai.registerevent":
            record["Event"] = {name: call.str(name) for name in (
                "FeatureName", "EventName", "Value", "Currency", "Metadata")}
        return record

    def _journal(self, call: wire.Request, outcome: Outcome) -> None:
        """Record the call. Calls the portal answered are in its log already (it logged them
        as they passed through), so they are kept here but not uploaded again; a change to a
        data object the portal made is remembered, to know the object's value offline."""
        record = self._record(call, outcome)
        relayed = outcome.source == "portal"
        change = usage.parse(call) if call.method_name in wire.USAGE_METHODS else None
        made = (UsageChange(change.product_id, change.key, change.object_id, change.name,
                            change.delta, record["Time"], local=False)
                if change is not None and relayed and outcome.state == 8010 else None)
        try:
            self.store.record(record, uploaded=relayed, usage=made)
        except StorageError:
            logger.exception("Could not write the journal (is the disk full?): %s", record)

    def stats(self) -> dict[str, Any]:
        config = self.configuration
        return {
            "offline": self.options.offline, "upstream": self.upstream.base if self.upstream
            else "", "cached_answers": self.cache.count(),
            "license_files": sorted(f"{p}/{k}" for p, k in self.files),
            "floating_seats": self.store.seat_count(time.time()),
            "journal": self.store.counts(),
            "usage_pending": [_pending(p) for p in self.store.pending_usage()],
            "configuration": {"id": config.id, "name": config.name,
                              "valid_until": int(config.valid_until),
                              "error": self.configuration_error} if config
            else {"error": self.configuration_error},
        }


def _pending(pending: PendingUsage) -> dict[str, Any]:
    return {"product_id": pending.product_id, "key": pending.key,
            "data_object_id": pending.object_id, "name": pending.name,
            "records": pending.records, "delta": pending.delta}
