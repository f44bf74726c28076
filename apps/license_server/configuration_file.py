"""Writing the configuration file a license server reads, and the strings both sides share.

The license server is its own distribution (license-server/): the portal does not import it,
nor it the portal. So the portal keeps its own copy of the file's format name and version and
of its answer to a revoked configuration's upload; tests/license_server/test_distribution.py
checks that they equal the server's and that the server reads the files written here.

File format (JSON):
    {"format": FORMAT, "version": VERSION,
     "configuration": "<base64 of the UTF-8 JSON payload>",
     "signature": "<base64 RSASSA-PKCS1-v1_5 / SHA-256 over those payload bytes>"}
The payload is described in license-server/license_server/configuration.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

FORMAT = "licensing-portal/license-server-configuration"
VERSION = 1

# What the portal answers an upload from a revoked configuration; the server compares it
# exactly to stop offline floating.
PORTAL_REVOKED = "This license-server configuration has been revoked."


def build_file(payload: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """The configuration file's text for `payload`, signed by `sign` (the vendor's key)."""
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return json.dumps({
        "format": FORMAT, "version": VERSION,
        "configuration": base64.b64encode(data).decode(),
        "signature": base64.b64encode(sign(data)).decode(),
    }, indent=2)
