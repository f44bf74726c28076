"""Answers for offline floating seats, signed with the license server's own key.

The license comes from the vendor-signed license file; the server replaces its device list
with the floating seats (Mid = "floating:<machine code>", as Cryptolens does) and signs the
result with the key pair from the vendor's configuration. The vendor's application checks it
with the license server's public key, shown on the configuration's page in the dashboard."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from . import crypto, wire
from .store import Seat

FLOATING_PREFIX = "floating:"
NO_IP = "0.0.0.0"  # noqa: S104 (an address placeholder, not a bind)


def _machine(seat: Seat, model_version: int) -> dict[str, Any]:
    item: dict[str, Any] = {"Mid": FLOATING_PREFIX + seat.machine_code,
                            "IP": seat.ip or NO_IP, "Time": int(seat.time)}
    if model_version >= 2:
        item["FriendlyName"] = seat.friendly_name
    if model_version >= 3:
        item["FloatingExpires"] = int(seat.expires)
    return item


def signed_answer(*, license_obj: dict[str, Any], seats: list[Seat], model_version: int,
                  server_key: rsa.RSAPrivateKey, now: float) -> bytes:
    """The StringSign envelope listing `seats`, signed now with the server key."""
    body = dict(license_obj)
    body["ActivatedMachines"] = [_machine(s, model_version) for s in seats]
    body["SignDate"] = int(now)
    if model_version < 3:
        body.pop("Reseller", None)
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return wire.envelope({
        "licenseKey": base64.b64encode(payload).decode(),
        "signature": base64.b64encode(crypto.sign(server_key, payload)).decode(),
    })
