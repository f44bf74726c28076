"""Talking to the portal: relaying a device's call unchanged, and posting the journal."""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from . import wire

logger = logging.getLogger(__name__)
USER_AGENT = "LicenseServer/1"


@dataclass(frozen=True)
class Reply:
    """The portal's answer (None: none usable), and, when there is none, whether the portal
    may still have acted on the call (it was sent, and no answer came back)."""

    body: bytes | None
    uncertain: bool = False


class Upstream:
    def __init__(self, base_url: str, timeout: float) -> None:
        base = base_url.rstrip("/")
        if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
            raise ValueError(f"the portal's address must start with https:// or http://: {base}")
        if base.lower().endswith("/api"):
            base = base[:-4]
        self.base = base
        self.timeout = timeout

    def _open(self, request: urllib.request.Request) -> bytes | None:
        """The answer's bytes, or None when the portal cannot be reached or is failing
        (connection refused, timeout, HTTP 5xx from it or a proxy, a body that is not JSON)."""
        return self._exchange(request).body

    def _exchange(self, request: urllib.request.Request) -> Reply:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                # A proxy's 504 gave up waiting for a portal that may have done the work;
                # any other 5xx is a refusal (the portal's transaction was rolled back).
                return Reply(None, uncertain=exc.code == 504)
            body = exc.read()
        except urllib.error.URLError as exc:
            # urllib wraps what fails while connecting and sending the request: the portal
            # never had the whole request.
            logger.info("Portal unreachable: %s", exc)
            return Reply(None, uncertain=False)
        except (OSError, http.client.HTTPException) as exc:
            # Sent, then no (complete) answer: a read timeout, a reset connection.
            logger.info("Portal did not answer: %r", exc)
            return Reply(None, uncertain=True)
        return Reply(body if wire.decode_answer(body) is not None else None, uncertain=False)

    def forward(self, call: wire.Request) -> bytes | None:
        """Relay the device's call, body and all, and return the portal's bytes unchanged."""
        return self.relay(call).body

    def relay(self, call: wire.Request) -> Reply:
        """forward(), saying also whether a failed call may have reached the portal."""
        url = f"{self.base}/api/{call.path}"
        if call.query:
            url += "?" + call.query
        headers = {"User-Agent": f"{call.user_agent} ({USER_AGENT})".strip()}
        data = None
        if call.http_method == "POST":
            data = call.body
            headers["Content-Type"] = call.content_type or "application/x-www-form-urlencoded"
        return self._exchange(urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            url, data=data, headers=headers,
            method=call.http_method))

    def post(self, path: str, form: dict[str, str]) -> dict[str, Any] | None:
        """POST a form to one of the portal's own endpoints; the decoded answer or None."""
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            f"{self.base}/{path.lstrip('/')}", data=urllib.parse.urlencode(form).encode(),
            headers={"User-Agent": USER_AGENT,
                     "Content-Type": "application/x-www-form-urlencoded"}, method="POST")
        body = self._open(request)
        return None if body is None else json.loads(body)
