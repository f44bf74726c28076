"""Run by test_backup_restore.py in a fresh process pointed at the RESTORED database (argv:
key string, path of a license file issued before the backup). Prints one JSON object: whether
the old file verifies with the restored public key, the restored activations, and whether the
restored (encrypted) private key still signs (that needs the same SIGNING_KEY_ENCRYPTION_SECRET)."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import django


def main(key_string: str, file_path: str) -> dict:
    django.setup()
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from apps.licensing import signing
    from apps.licensing.license_files import license_file
    from apps.licensing.models import LicenseKey

    key = LicenseKey.objects.select_related("product__vendor__signing_key").get(key=key_string)
    public = signing.load_public_key(key.product.vendor.signing_key.public_key_pem)

    def verifies(body: dict) -> bool:
        try:
            public.verify(base64.b64decode(body["signature"]),
                          base64.b64decode(body["licenseKey"]), padding.PKCS1v15(),
                          hashes.SHA256())
            return True
        except InvalidSignature:
            return False

    issued = json.loads(Path(file_path).read_text())
    out = {"old_file_verifies": verifies(issued),
           "activations": sorted(key.activations.values_list("machine_code", flat=True)),
           "max_no_of_machines": key.max_no_of_machines}
    try:
        out["new_file_verifies"] = verifies(json.loads(license_file(key=key).content))
    except Exception as error:  # a wrong secret: the private key cannot be decrypted
        out["new_file_verifies"] = False
        out["signing_error"] = type(error).__name__
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
