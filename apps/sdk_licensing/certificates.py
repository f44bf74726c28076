"""The certificate the portal signs for a developer machine: format and signature.

The format is sdk-signer's (sdk-signer/sdk_signer/certificate.py, docs/sdk-licensing.md),
which verifies it offline: the payload is UTF-8 JSON, signed with the vendor's active signing
key (RSASSA-PKCS1-v1_5, SHA-256) over CONTEXT + the payload bytes. CONTEXT keeps the
signature from ever passing for a license key's (whose signed bytes start with `{`)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from apps.licensing import signing
from apps.licensing.license_payload import (
    HIDE_ACTIVATED_MACHINES,
    HIDE_KEY,
    LicenseView,
    license_dict,
    unix,
)
from apps.licensing.models import Activation, LicenseKey, SigningKey

FORMAT = "licensing-portal/sdk-certificate/1"
CONTEXT = b"licensing-portal sdk-certificate v1\n"
ALGORITHM = "sha256-files-v1"  # sdk_signer.fingerprint.ALGORITHM


@dataclass(frozen=True)
class Application:
    name: str
    fingerprint: str  # 64 lower-case hex characters
    algorithm: str = ALGORITHM


@dataclass(frozen=True)
class SignedCertificate:
    certificate_id: int
    payload: bytes
    signature: bytes
    activation_state: int  # key/Activate's state for the developer machine (Web API log)


# The certificate ships inside the developer's application, to every user of it. Never in
# it, whatever the token's feature lock says: the key string (with it and the signing token,
# which all the vendor's developers share, anyone could sign as that developer and take the
# key's seats) and the key's other machines.
ALWAYS_HIDDEN = HIDE_KEY | HIDE_ACTIVATED_MACHINES


def certificate_payload(*, certificate_id: int, key: LicenseKey, machine: Activation,
                        application: Application, signing_key: SigningKey,
                        fields_hidden: int, now: dt.datetime) -> dict[str, Any]:
    """The signed part. The license lists the signing machine only, by its code: not the
    developer's address nor host name."""
    listed = Activation(key=key, machine_code=machine.machine_code, time=machine.time or now)
    view = LicenseView(key=key, activations=[], current=listed, model_version=3,
                       fields_to_return=fields_hidden | ALWAYS_HIDDEN, sign_date=now)
    return {
        "Format": FORMAT,
        "Id": certificate_id,
        "Vendor": signing.fingerprint(signing_key.public_key_pem),
        "ProductId": key.product_id,
        "Application": {"Name": application.name, "Fingerprint": application.fingerprint,
                        "Algorithm": application.algorithm},
        "MachineCode": machine.machine_code,
        "SignedAt": unix(now),
        "TimeLimited": key.expiry_applies,
        "License": license_dict(view),
    }


def sign_payload(payload: dict[str, Any], signing_key: SigningKey) -> tuple[bytes, bytes]:
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return data, signing.sign(signing_key.private_key_encrypted, CONTEXT + data)
