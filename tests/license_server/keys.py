"""RSA keys and signed files for the license-server tests, made without the portal's database:
configuration files come from the portal's writer (plain functions), license files from here."""

from __future__ import annotations

import base64
import json
import time
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from license_server import crypto

from apps.license_server import configuration_file as portal_configuration_file


@lru_cache(maxsize=4)
def private_key(name: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def xml(name: str) -> str:
    return crypto.public_key_xml(private_key(name).public_key())


def pem(name: str) -> str:
    return private_key(name).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()


def license_obj(*, product_id: int = 7, key: str = "AAAAA-BBBBB-CCCCC-DDDDD",
                max_machines: int = 3, machines: list[str] = ()) -> dict[str, Any]:
    now = int(time.time())
    return {"ProductId": product_id, "ID": 1, "Key": key, "Created": now, "Expires": now,
            "Period": 0, **{f"F{n}": False for n in range(1, 9)}, "Notes": "", "Block": False,
            "GlobalId": 1, "Customer": None,
            "ActivatedMachines": [{"Mid": m, "IP": "192.0.2.1", "Time": now,
                                   "FriendlyName": "", "FloatingExpires": 0} for m in machines],
            "TrialActivation": False, "MaxNoOfMachines": max_machines, "AllowedMachines": "",
            "DataObjects": [], "SignDate": now, "Reseller": None}


def skm(obj: dict[str, Any], signer: str = "vendor") -> bytes:
    """A StringSign license file of `obj`, signed by `signer`'s key."""
    data = json.dumps(obj).encode()
    return json.dumps({"licenseKey": base64.b64encode(data).decode(),
                       "signature": base64.b64encode(
                           crypto.sign(private_key(signer), data)).decode(),
                       "result": 0, "message": ""}).encode()


def tamper_skm(text: bytes, **changes: Any) -> bytes:
    """The file with its license changed and the old signature kept."""
    outer = json.loads(text)
    obj = json.loads(base64.b64decode(outer["licenseKey"]))
    obj.update(changes)
    outer["licenseKey"] = base64.b64encode(json.dumps(obj).encode()).decode()
    return json.dumps(outer).encode()


def configuration_file(*, floating: dict[tuple[int, str], int], valid_for: float = 86400,
                       upload_token: str = "", portal: str = "") -> str:
    payload = {"Id": 1, "Name": "Site", "VendorId": 1, "Customer": None,
               "IssuedAt": int(time.time()), "ValidUntil": int(time.time() + valid_for),
               "Portal": portal,
               "FloatingKeys": [{"ProductId": p, "Key": k, "MaxNoOfMachines": n}
                                for (p, k), n in floating.items()],
               "ServerPrivateKey": pem("server"), "ServerPublicKey": xml("server"),
               "VendorPublicKey": xml("vendor"), "UploadToken": upload_token}
    return portal_configuration_file.build_file(
        payload, lambda d: crypto.sign(private_key("vendor"), d))


def forge_configuration(text: str, signer: str = "attacker", **changes: Any) -> str:
    """The configuration with `changes`, `signer`'s public key put in it as VendorPublicKey and
    signed again with that key: what a customer who can read and edit the file can make."""
    outer = json.loads(text)
    payload = json.loads(base64.b64decode(outer["configuration"]))
    payload.update(changes, VendorPublicKey=xml(signer))
    return portal_configuration_file.build_file(
        payload, lambda d: crypto.sign(private_key(signer), d))


def tamper_configuration(text: str, **changes: Any) -> str:
    outer = json.loads(text)
    payload = json.loads(base64.b64decode(outer["configuration"]))
    payload.update(changes)
    outer["configuration"] = base64.b64encode(json.dumps(payload).encode()).decode()
    return json.dumps(outer)
