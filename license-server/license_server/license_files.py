"""License files (.skm) placed in the server's folders: the vendor-signed answers it can give
when the portal cannot be reached, and the basis of offline floating seats.

Only StringSign files (the "All clients" format) are read: their signature covers the exact
bytes of the license, so the server can check them with the vendor's public key. A file that
fails the check, is damaged or is in another format is skipped and reported, never served.
When several files hold the same key, the most recently signed one wins."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from . import crypto, wire

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LicenseFile:
    path: Path
    text: bytes  # served as it is: devices check the vendor's signature themselves
    license: dict[str, Any]  # the decoded PascalCase LicenseKey object

    @property
    def product_id(self) -> int:
        return int(self.license["ProductId"])

    @property
    def key(self) -> str:
        return str(self.license["Key"])

    @property
    def max_machines(self) -> int:
        return int(self.license.get("MaxNoOfMachines") or 0)

    @property
    def blocked(self) -> bool:
        return bool(self.license.get("Block"))

    def lists(self, machine_code: str) -> bool:
        return wire.lists_device(self.license, machine_code)


def read_file(path: Path, vendor_key: rsa.RSAPublicKey) -> LicenseFile:
    """Raises ValueError saying why the file cannot be used."""
    text = path.read_bytes()
    answer = wire.decode_answer(text)
    if answer is None or not isinstance(answer.get("licensekey"), str):
        raise ValueError("not a StringSign license file")
    data = crypto.b64decode(answer["licensekey"])
    signature = crypto.b64decode(str(answer.get("signature", "")))
    if data is None or signature is None or not crypto.verify(vendor_key, data, signature):
        raise ValueError("The signature check failed.")
    license_obj = json.loads(data)
    if not isinstance(license_obj, dict) or not {"ProductId", "Key"} <= license_obj.keys():
        raise ValueError("the license has no ProductId or Key")
    return LicenseFile(path, text, license_obj)


def _candidates(locations: list[str]) -> list[Path]:
    paths: list[Path] = []
    for location in locations:
        path = Path(location)
        paths += sorted(path.glob("*.skm")) if path.is_dir() else [path]
    return paths


def load(locations: list[str], vendor_key: rsa.RSAPublicKey | None
         ) -> tuple[dict[tuple[int, str], LicenseFile], list[str]]:
    """{(product id, key): file} from files and folders, plus a line per skipped file."""
    files: dict[tuple[int, str], LicenseFile] = {}
    problems: list[str] = []
    for path in _candidates(locations):
        if vendor_key is None:
            problems.append(f"{path}: skipped, no vendor public key to check it with")
            continue
        try:
            found = read_file(path, vendor_key)
        except (OSError, ValueError, TypeError) as exc:
            problems.append(f"{path}: skipped, {exc}")
            continue
        slot = (found.product_id, found.key)
        current = files.get(slot)
        if current is None or found.license.get("SignDate", 0) >= current.license.get(
                "SignDate", 0):
            files[slot] = found
    for problem in problems:
        logger.warning("License file %s", problem)
    return files, problems
