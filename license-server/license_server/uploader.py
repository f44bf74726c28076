"""Uploading the journal to the portal's Web API log, in the background.

Each record carries the id it got when it was written; the portal stores a record once per
(configuration, id), so an upload retried after a timeout (the portal saved it, the answer
was lost) adds nothing twice. That includes the changes to data objects recorded offline
(a record's "Usage"): the portal applies each in the transaction that stores its id. A
record is marked uploaded only after the portal confirmed it, and the journal is on disk, so
nothing is lost when either side restarts."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

from .configuration import PORTAL_REVOKED
from .store import StorageError, Store
from .upstream import Upstream

logger = logging.getLogger(__name__)
UPLOAD_PATH = "api/license-server/upload-log"
BATCH_SIZE = 200  # about 60 kB a batch, well under the portal's limit for one field


class Uploader:
    def __init__(self, *, store: Store, upstream: Upstream | None, token: str,
                 interval: float, on_revoked: Callable[[], None]) -> None:
        self.store = store
        self.upstream = upstream
        self.token = token
        self.interval = interval
        self.on_revoked = on_revoked
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="uploader", daemon=True)

    @property
    def enabled(self) -> bool:
        return self.upstream is not None and bool(self.token)

    def start(self) -> None:
        if self.enabled:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def wake(self) -> None:
        """Upload soon (the portal just answered a relayed call, so it is back)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.upload_once()
            except Exception:  # keep the thread alive whatever one attempt met
                logger.exception("Uploading the journal failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def upload_once(self) -> bool:
        """Upload every pending record; True when none is left."""
        assert self.upstream is not None
        while batch := self.store.pending(BATCH_SIZE):
            answer = self.upstream.post(UPLOAD_PATH, {"token": self.token,
                                                      "Records": json.dumps(batch)})
            if answer is None:
                return False  # unreachable: try again at the next interval
            if answer.get("result") != 0:
                logger.error("The portal refused the journal upload: %s", answer.get("message"))
                if answer.get("message") == PORTAL_REVOKED:
                    self.on_revoked()
                return False
            if answer.get("refused"):
                # Outside what the configuration covers (another customer's key, or a time
                # outside its validity; see docs/license-server.md): sending them again
                # would change nothing, so they are marked uploaded like the others.
                logger.warning("The portal refused %s journal record(s) this configuration "
                               "does not cover", answer["refused"])
            try:
                self.store.mark_uploaded([r["Id"] for r in batch])
            except StorageError:
                logger.exception("Could not mark records as uploaded (they will be sent again, "
                                 "and the portal will skip them)")
                return False
        return True
