"""The signed LicenseKey object that Activate and GetKey return, in both Cryptolens formats.

StringSign (SignMethod=1): `licenseKey` is base64 of UTF-8 JSON (PascalCase, Unix seconds) and
`signature` is RSA PKCS#1 v1.5 / SHA-256 over exactly those bytes.
LinqSign (SignMethod=0): a camelCase object with ISO dates whose `signature` is computed over the
UTF-16LE bytes of a comma-joined string, the way the .NET client's HasValidSignature checks it.
Metadata: counts and status with a SHA-512 signature, as the Python client's
verify_signature_metadata expects.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from apps.accounts.models import Reseller
from apps.licensing import signing
from apps.licensing.models import Activation, Customer, LicenseKey, SigningKey

# FieldsToReturn bits: a set bit hides the field (the key stays, as null).
HIDE_ID = 2
HIDE_KEY = 4
HIDE_NOTES = 8
HIDE_GLOBAL_ID = 16
HIDE_CUSTOMER = 32
HIDE_ACTIVATED_MACHINES = 64
HIDE_ALLOWED_MACHINES = 128
HIDE_MAX_NO_OF_MACHINES = 256
HIDE_DATA_OBJECTS = 512

FLOATING_PREFIX = "floating:"
OVERDRAFT_PREFIX = "floating:overdraft:"
NO_IP = "0.0.0.0"  # noqa: S104 (an address placeholder, not a bind)


def unix(value: dt.datetime | None) -> int:
    return int(value.timestamp()) if value else 0


def iso(value: dt.datetime | None) -> str:
    """.NET's default representation: yyyy-MM-ddTHH:mm:ss in UTC, without a zone suffix."""
    if value is None:
        return "0001-01-01T00:00:00"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def machine_mid(activation: Activation) -> str:
    if not activation.floating:
        return activation.machine_code
    prefix = OVERDRAFT_PREFIX if activation.overdraft else FLOATING_PREFIX
    return prefix + activation.machine_code


@dataclass
class LicenseView:
    """What one response shows of a key: the devices to list and the fields to hide."""

    key: LicenseKey
    activations: list[Activation]
    current: Activation | None = None
    model_version: int = 1
    fields_to_return: int = 0
    sign_date: dt.datetime = field(default_factory=timezone.now)

    def hidden(self, bit: int) -> bool:
        return bool(self.fields_to_return & bit)

    def machines(self) -> list[Activation]:
        """Devices to list. Hiding ActivatedMachines leaves only the calling device; before
        ModelVersion 3 only node-locked devices (and the calling floating one) are listed."""
        if self.hidden(HIDE_ACTIVATED_MACHINES):
            return [self.current] if self.current else []
        now = self.sign_date
        listed = [
            a for a in self.activations
            if not a.floating or (self.model_version >= 3 and a.floating_expires
                                  and a.floating_expires > now)
        ]
        if self.current is not None and all(
            (a.machine_code, a.floating) != (self.current.machine_code, self.current.floating)
            for a in listed
        ):
            listed.append(self.current)
        return listed


def _machine_json(activation: Activation, model_version: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Mid": machine_mid(activation),
        "IP": activation.ip or NO_IP,
        "Time": unix(activation.time),
    }
    if model_version >= 2:
        item["FriendlyName"] = activation.friendly_name or ""
    if model_version >= 3:
        item["FloatingExpires"] = unix(activation.floating_expires) if activation.floating else 0
    return item


def license_dict(view: LicenseView) -> dict[str, Any]:
    """The PascalCase LicenseKey object: every field present, in Cryptolens' order."""
    key = view.key
    customer = key.customer
    body: dict[str, Any] = {
        "ProductId": key.product_id,
        "ID": None if view.hidden(HIDE_ID) else key.serial,
        "Key": None if view.hidden(HIDE_KEY) else key.key,
        "Created": unix(key.created),
        "Expires": unix(key.expires),
        "Period": key.period,
    }
    for n, on in enumerate(key.features, start=1):
        body[f"F{n}"] = on
    body.update({
        "Notes": None if view.hidden(HIDE_NOTES) else key.notes,
        "Block": key.block,
        "GlobalId": None if view.hidden(HIDE_GLOBAL_ID) else key.pk,
        "Customer": None if customer is None or view.hidden(HIDE_CUSTOMER) else {
            "Id": customer.pk, "Name": customer.name, "Email": customer.email,
            "CompanyName": customer.company_name, "Created": unix(customer.created),
        },
        "ActivatedMachines": [_machine_json(a, view.model_version) for a in view.machines()],
        "TrialActivation": key.trial_activation,
        "MaxNoOfMachines": None if view.hidden(HIDE_MAX_NO_OF_MACHINES)
        else key.max_no_of_machines,
        "AllowedMachines": None if view.hidden(HIDE_ALLOWED_MACHINES) else key.allowed_machines,
        "DataObjects": None if view.hidden(HIDE_DATA_OBJECTS) else [
            {"Id": d.pk, "Name": d.name, "StringValue": d.string_value, "IntValue": d.int_value}
            for d in key.data_objects.all()
        ],
        "SignDate": unix(view.sign_date),
    })
    if view.model_version >= 3:
        body["Reseller"] = reseller_dict(key)
    return body


def reseller_dict(key: LicenseKey) -> dict[str, Any] | None:
    """The Reseller object of ModelVersion 3: exactly these keys (the Python client builds
    its Reseller class from them)."""
    reseller = key.reseller  # no query when the key has none
    if reseller is None:
        return None
    return {
        "Id": reseller.pk, "InviteId": reseller.pk,
        "ResellerUserId": reseller.user_id or 0, "Created": unix(reseller.created),
        "Name": reseller.name, "Url": reseller.url, "Email": reseller.email,
        "Phone": reseller.phone, "Description": reseller.description,
    }


def string_sign(view: LicenseView, signing_key: SigningKey) -> dict[str, str]:
    """{"licenseKey": base64 JSON, "signature": base64 RSA-SHA256 over those bytes}."""
    payload = json.dumps(license_dict(view), separators=(",", ":"), ensure_ascii=False).encode()
    signature = signing.sign(signing_key.private_key_encrypted, payload)
    return {
        "licenseKey": base64.b64encode(payload).decode(),
        "signature": base64.b64encode(signature).decode(),
    }


def _net_bool(value: bool) -> str:
    return "True" if value else "False"


def _net_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _net_bool(value)
    if isinstance(value, dt.datetime):
        return iso(value)
    return str(value)


_ISO_WITH_FRACTION = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.\d+")


def _net_date(value: Any) -> str:
    """A date as .NET signs it: fractional seconds dropped."""
    if isinstance(value, str):
        match = _ISO_WITH_FRACTION.fullmatch(value)
        return match.group(1) if match else value
    return _net_value(value)


def linq_signed_string(obj: dict[str, Any]) -> str:
    """The string .NET's IsLicenceseKeyGenuine hashes, from a camelCase LinqSign object."""
    customer = obj["customer"]
    parts = [
        obj["productId"], obj["id"], obj["key"], _net_date(obj["created"]),
        _net_date(obj["expires"]), obj["period"],
        *[_net_bool(obj[f"f{n}"]) for n in range(1, 9)],
        obj["notes"], _net_bool(obj["block"]), obj["globalId"],
        "" if customer is None else ",".join(
            _net_value(customer[k]) for k in ("name", "email", "companyName")
        ) + "," + _net_date(customer["created"]),
        "[" + "".join(f"{m['mid']},{m['ip']},{_net_date(m['time'])},"
                      for m in obj["activatedMachines"])
        + "]",
        _net_bool(obj["trialActivation"]), obj["maxNoOfMachines"], obj["allowedMachines"],
        "[" + "".join(
            f"{d['id']},{_net_value(d['name'])},{_net_value(d['stringValue'])},{d['intValue']},"
            for d in obj["dataObjects"]
        ) + "]",
        _net_date(obj["signDate"]),
        "",  # the Signature field itself, empty while signing
    ]
    return ",".join(_net_value(p) for p in parts)


def _created(owner: Customer | Reseller | None) -> dt.datetime:
    """When the key's customer or reseller was made: asked only when the payload names one."""
    assert owner is not None
    return owner.created


def linq_object(view: LicenseView) -> dict[str, Any]:
    """The camelCase LicenseKey object with ISO dates (no signature yet)."""
    body = license_dict(view)
    customer = body["Customer"]
    obj = {
        "productId": body["ProductId"], "id": body["ID"], "key": body["Key"],
        "created": iso(view.key.created), "expires": iso(view.key.expires),
        "period": body["Period"],
        **{f"f{n}": body[f"F{n}"] for n in range(1, 9)},
        "notes": body["Notes"], "block": body["Block"], "globalId": body["GlobalId"],
        "customer": None if customer is None else {
            "id": customer["Id"], "name": customer["Name"], "email": customer["Email"],
            "companyName": customer["CompanyName"], "created": iso(_created(view.key.customer)),
        },
        "activatedMachines": [
            {"mid": machine_mid(a), "ip": a.ip or NO_IP, "time": iso(a.time),
             **({"friendlyName": a.friendly_name or ""} if view.model_version >= 2 else {}),
             **({"floatingExpires": iso(a.floating_expires) if a.floating else None}
                if view.model_version >= 3 else {})}
            for a in view.machines()
        ],
        "trialActivation": body["TrialActivation"], "maxNoOfMachines": body["MaxNoOfMachines"],
        "allowedMachines": body["AllowedMachines"],
        "dataObjects": [
            {"id": d["Id"], "name": d["Name"], "stringValue": d["StringValue"],
             "intValue": d["IntValue"]} for d in (body["DataObjects"] or [])
        ],
        "signDate": iso(view.sign_date),
    }
    if view.model_version >= 3:
        reseller = reseller_dict(view.key)
        obj["reseller"] = None if reseller is None else {
            k[0].lower() + k[1:]: (iso(_created(view.key.reseller)) if k == "Created" else v)
            for k, v in reseller.items()}
    return obj


def linq_sign(view: LicenseView, signing_key: SigningKey) -> dict[str, Any]:
    obj = linq_object(view)
    text = linq_signed_string(obj)
    signature = signing.sign(signing_key.private_key_encrypted, text.encode("utf-16-le"))
    obj["signature"] = base64.b64encode(signature).decode()
    return {"licenseKey": obj}


def metadata(view: LicenseView, signing_key: SigningKey, *, floating_interval: int = 0
             ) -> dict[str, Any]:
    """Counts and license status, signed with SHA-512 inside `signature`."""
    key = view.key
    now = view.sign_date
    node_locked = sum(1 for a in view.activations if not a.floating)
    used_floating = sum(
        1 for a in view.activations
        if a.floating and a.floating_expires and a.floating_expires > now
    ) if floating_interval > 0 else 0
    product = key.product
    trial = bool(product.trial_feature and key.features[product.trial_feature - 1])
    time_limited = bool(product.time_limited_feature
                        and key.features[product.time_limited_feature - 1])
    # Period 0 is no time limit (LicenseKey.has_expiry): its expiry date, the creation date,
    # never makes it invalid, as the portals show it ("No expiry").
    reason = 2 if key.block else 1 if (key.expiry_applies and key.expires < now) else 0
    time_left = max(0, (key.expires - now).days) if time_limited or trial else 0
    data: dict[str, Any] = {
        "ActivatedMachines": node_locked,
        "LicenseStatus": {"IsValid": reason == 0, "ReasonForInvalidity": reason,
                          "Trial": trial, "TimeLimited": time_limited, "TimeLeft": time_left},
        "UsedFloatingMachines": used_floating,
    }
    data_bytes = json.dumps(data, separators=(",", ":")).encode()
    envelope = {
        "Data": base64.b64encode(data_bytes).decode(),
        "Signature": base64.b64encode(
            signing.sign(signing_key.private_key_encrypted, data_bytes, algorithm="sha512")
        ).decode(),
        "Date": unix(now),
        "Version": 1,
    }
    status = data["LicenseStatus"]
    return {
        "activatedMachines": node_locked,
        "licenseStatus": {"isValid": status["IsValid"], "reasonForInvalidity": reason,
                          "trial": trial, "timeLimited": time_limited, "timeLeft": time_left},
        "usedFloatingMachines": used_floating,
        "signature": base64.b64encode(json.dumps(envelope).encode()).decode(),
    }


def basic_key(key: LicenseKey, *, detailed: bool = True) -> dict[str, Any]:
    """Unsigned camelCase key for listings (GetKeys, GetCustomerLicenses)."""
    item: dict[str, Any] = {
        "productId": key.product_id, "id": key.serial, "key": key.key,
        "created": iso(key.created), "expires": iso(key.expires), "period": key.period,
        **{f"f{n}": on for n, on in enumerate(key.features, start=1)},
        "notes": key.notes, "block": key.block, "globalId": key.pk,
    }
    if detailed:
        customer = key.customer
        item.update({
            "customer": None if customer is None else {
                "id": customer.pk, "name": customer.name, "email": customer.email,
                "companyName": customer.company_name, "created": iso(customer.created),
            },
            "activatedMachines": [
                {"mid": machine_mid(a), "ip": a.ip or NO_IP, "time": iso(a.time),
                 "friendlyName": a.friendly_name,
                 "floatingExpires": iso(a.floating_expires) if a.floating else None}
                for a in key.activations.all()
            ],
            "trialActivation": key.trial_activation,
            "maxNoOfMachines": key.max_no_of_machines,
            "allowedMachines": key.allowed_machines,
            "dataObjects": [
                {"id": d.pk, "name": d.name, "stringValue": d.string_value,
                 "intValue": d.int_value} for d in key.data_objects.all()
            ],
            "signDate": None, "signature": None, "reseller": None,
        })
    return item
