"""The one Web API call of the signing utility: sdk/SignApplication (form-encoded POST, the
Cryptolens v3 envelope: result 0 = success, else `message`)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from .fingerprint import Fingerprint

TIMEOUT_SECONDS = 30
MAX_ANSWER_BYTES = 2 << 20  # a certificate is a few kilobytes


class SigningError(Exception):
    """The portal refused to sign, or could not be reached."""


@dataclass(frozen=True)
class Signed:
    payload: bytes
    signature: bytes
    certificate_id: int


def shown(url: str) -> str:
    """The address without a user name or password, for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return urllib.parse.urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def _post(url: str, fields: dict[str, str]) -> dict[str, Any]:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise SigningError(f"The licensing server's address must start with https:// "
                           f"({shown(url)}).")
    body = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={  # noqa: S310
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            text = response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        text = exc.read(MAX_ANSWER_BYTES + 1)  # the portal answers its envelope with 4xx too
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SigningError(f"Could not contact the licensing server ({shown(url)}): "
                           f"{getattr(exc, 'reason', exc)}") from None
    if len(text) > MAX_ANSWER_BYTES:
        raise SigningError(f"The licensing server's answer is too large ({shown(url)}).")
    try:
        answer = json.loads(text)
    except (ValueError, RecursionError):
        answer = None
    if not isinstance(answer, dict):
        raise SigningError(f"The licensing server gave no API answer ({shown(url)}).")
    return answer


def sign_application(*, server: str, token: str, product_id: int, key: str,
                     machine_code: str, fingerprint: Fingerprint, application_name: str,
                     friendly_name: str = "") -> Signed:
    """Ask the portal for a certificate: it activates `machine_code` on `key` (the key's seats
    are the developer machines) and signs the license with the fingerprint."""
    answer = _post(server.rstrip("/") + "/api/sdk/SignApplication", {
        "token": token, "ProductId": str(product_id), "Key": key,
        "MachineCode": machine_code, "FriendlyName": friendly_name,
        "Fingerprint": fingerprint.value, "Algorithm": fingerprint.algorithm,
        "ApplicationName": application_name,
    })
    if answer.get("result") != 0:
        raise SigningError(str(answer.get("message") or "The licensing server refused."))
    try:
        return Signed(payload=base64.b64decode(answer["certificate"], validate=True),
                      signature=base64.b64decode(answer["signature"], validate=True),
                      certificate_id=int(answer["certificateId"]))
    except (KeyError, TypeError, ValueError):
        raise SigningError("The licensing server's answer holds no certificate.") from None
