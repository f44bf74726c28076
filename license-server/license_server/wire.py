"""The Cryptolens Web API v3 wire as the license server meets it: requests from any official
client (names in any case, `None` for a missing value, GET or form POST), the JSON envelope,
and reading the signed LicenseKey inside an answer."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

MISSING = {"", "none", "null"}
TRUE = {"true", "1"}

# Cryptolens' own strings: C++ and Java clients compare some of them exactly.
LIMIT_REACHED = "Cannot activate the new device as the limit has been reached."
INCORRECT_INPUT = "The input parameters were incorrect."
KEY_BLOCKED = "The key is blocked and cannot be accessed."

# The license server's own refusals, worded for the person at the device.
PREFIX = "License server error: "
UNREACHABLE = (PREFIX + "the portal could not be reached and this device has no valid cached "
               "license. Connect it once while the portal can be reached, or ask the vendor "
               "for a license file.")
NOT_SUPPORTED = PREFIX + "this method is not supported by the license server."
NEEDS_PORTAL = (PREFIX + "devices can only be deactivated while the portal can be reached. "
                "Please try again later.")
SIGN_METHOD_NEEDED = PREFIX + "SignMethod=1 is needed to use floating licensing offline."
NO_FLOATING_FILE = PREFIX + "could not find the license file (floating license)."
FLOATING_OFF = (PREFIX + "the portal could not be reached and local floating licensing is "
                "turned off.")
NO_CONFIGURATION = (PREFIX + "no configuration from the vendor is loaded, so floating "
                    "licenses cannot be served offline.")
KEY_NOT_CONFIGURED = (PREFIX + "this license key is not in the vendor's configuration for "
                      "offline floating licensing.")
STORAGE_FAILED = PREFIX + "could not write to its data folder (is the disk full?)."
# Offline usage (data/IncrementIntValueToKey, data/DecrementIntValueToKey): Cryptolens'
# license server's own two strings (Helpers.ProcessIncrementDecrementValueRequest), then ours.
NO_USAGE_FILE = (PREFIX + "could not find the license file (to increment/decrement the data "
                 "object).")
NO_DATA_OBJECT = (PREFIX + "could not find the data object in the license file (to "
                  "increment/decrement the data object).")
USAGE_NEEDS_CONFIGURATION = (PREFIX + "no configuration from the vendor is loaded, so changes "
                             "to data objects cannot be recorded offline.")
USAGE_UNCONFIRMED = (PREFIX + "the portal did not confirm the change in time, so it may or may "
                     "not have been made. Read the value (GetKey) before trying again.")
# The portal's refusal of a change past its bound (apps/licensing/services/data_objects.py),
# given for the same change refused offline; the portal's tests keep the two equal.
BOUND_REACHED = "The bound was reached."

# method name (lower case) -> first two digits of its Web API log states
METHODS = {"key.activate": 20, "key.getkey": 10, "key.deactivate": 60, "ai.registerevent": 50,
           "data.incrementintvaluetokey": 80, "data.decrementintvaluetokey": 80}
USAGE_METHODS = {"data.incrementintvaluetokey": 1, "data.decrementintvaluetokey": -1}
_API_PATH = re.compile(r"/api/+([A-Za-z]+)/+([A-Za-z]+)/*$", re.IGNORECASE)


def envelope(body: dict[str, Any] | None = None, *, message: str = "", result: int = 0
             ) -> bytes:
    data = dict(body or {})
    data["result"] = result
    data["message"] = message
    return json.dumps(data, ensure_ascii=False).encode()


def error(message: str) -> bytes:
    return envelope(message=message, result=1)


@dataclass
class Request:
    """One device call: its path, raw body (relayed unchanged) and parsed parameters."""

    path: str  # e.g. "key/Activate", as the client spelled it
    http_method: str
    body: bytes
    query: str
    content_type: str
    ip: str
    user_agent: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, *, raw_path: str, http_method: str, body: bytes, content_type: str,
              ip: str, user_agent: str) -> Request | None:
        """None when the path is not /api/<controller>/<Method>."""
        path, _, query = raw_path.partition("?")
        match = _API_PATH.search(path)
        if match is None:
            return None
        params: dict[str, str] = {}
        pairs = parse_qsl(query, keep_blank_values=True)
        if http_method == "POST" and "json" not in content_type:
            pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        for name, value in pairs:
            params[name.lower()] = value
        return cls(f"{match.group(1)}/{match.group(2)}", http_method, body, query,
                   content_type, ip, user_agent, params)

    @property
    def method_name(self) -> str:
        return self.path.replace("/", ".").lower()

    def str(self, name: str) -> str:
        value = self.params.get(name.lower(), "")
        return "" if value.strip().lower() in MISSING else value

    def int(self, name: str, default: int = 0) -> int:
        value = self.str(name).strip()
        if value.lower() == "stringsign":  # .NET sends enums by name
            return 1
        if value.lower() == "linqsign":
            return 0
        try:
            return int(value) if value else default
        except ValueError:
            return default

    def bool(self, name: str) -> bool:
        return self.str(name).strip().lower() in TRUE


def decode_answer(body: bytes) -> dict[str, Any] | None:
    """The JSON envelope with lower-case top-level names, or None if it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    return {str(k).lower(): v for k, v in data.items()}


def license_json(answer: dict[str, Any]) -> dict[str, Any] | None:
    """The LicenseKey object in an answer (StringSign base64 JSON, or a LinqSign object)."""
    value = answer.get("licensekey")
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    try:
        decoded = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return decoded if isinstance(decoded, dict) else None


def machine_codes(license_obj: dict[str, Any]) -> list[str]:
    """The Mid of every listed device, whichever casing the format uses."""
    lowered = {k.lower(): v for k, v in license_obj.items()}
    machines = lowered.get("activatedmachines") or []
    mids = []
    for item in machines if isinstance(machines, list) else []:
        if isinstance(item, dict):
            mid = {k.lower(): v for k, v in item.items()}.get("mid")
            if isinstance(mid, str):
                mids.append(mid)
    return mids


def lists_device(license_obj: dict[str, Any], machine_code: str) -> bool:
    """The device may use this license: it is listed, or the key is not node-locked
    (MaxNoOfMachines 0, where Cryptolens records no devices at all)."""
    lowered = {k.lower(): v for k, v in license_obj.items()}
    if lowered.get("maxnoofmachines") == 0:
        return True
    return bool(machine_code) and machine_code in machine_codes(license_obj)


def state(family: int, ok: bool, detail: int = 0) -> int:
    return family * 100 + (10 if ok else 20) + detail
