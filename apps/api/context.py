"""What a handler gets: the parameters, the authenticated token, and the lookups of the
objects its parameters name, through apps.api.access (the token's locks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, overload

from django.db import connection
from django.http import HttpRequest

from apps.audit.log import Actor
from apps.licensing import fastpath
from apps.licensing.models import AccessToken, LicenseKey, Product
from apps.usage import states
from apps.usage.weblog import CallRecord

from . import access
from .params import Params


class ApiContext:
    def __init__(self, request: HttpRequest, params: Params, token: AccessToken,
                 record: CallRecord) -> None:
        self.request = request
        self.params = params
        self.token = token
        self.vendor = token.vendor
        self.record = record
        self.actor = Actor.for_token(token)

    @property
    def ip(self) -> str | None:
        return self.record.ip

    @overload
    def product(self, *, required: Literal[True] = ...) -> Product: ...

    @overload
    def product(self, *, required: bool) -> Product | None: ...

    def product(self, *, required: bool = True) -> Product | None:
        """The product named by ProductId, within the token's locks (apps.api.access)."""
        product_id = self.params.int("ProductId", 0)
        if not product_id and not required:
            return None
        self.record.product_id = product_id or None
        return access.product(self.token, product_id)

    def key(self, *, devices: bool = True) -> LicenseKey:
        """The key named by ProductId + Key, within the token's locks, with its devices and
        data objects loaded (what a signed response reads). `devices=False` leaves the
        devices to be read after a change (a floating seat), saving a read of them all."""
        product_id = self.params.int("ProductId", 0)
        self.record.product_id = product_id or None
        key_string = self.params.str("Key", max_length=64).strip()
        self.record.key = key_string
        key = access.key(self.token, product_id, key_string, devices=devices)
        key.product.vendor = self.vendor
        return key

    def fast_path(self, *, machine_code: str | None, friendly_name: str = "", state: int):
        """Serve a read-only success in one statement on PostgreSQL (see
        apps.licensing.fastpath); None when the ordinary path must decide."""
        return self._fast(fastpath.serve, {"state": state}, machine_code=machine_code,
                          friendly_name=friendly_name)

    def fast_heartbeat(self, *, machine_code: str, friendly_name: str, interval: int):
        """Renew a live floating seat and log it in one statement on PostgreSQL (see
        apps.licensing.fastpath.serve_heartbeat); None when the ordinary path must decide."""
        return self._fast(fastpath.serve_heartbeat,
                          {"state": states.ACTIVATION_FLOATING,
                           "overdraft_state": states.ACTIVATION_OVERDRAFT},
                          machine_code=machine_code, friendly_name=friendly_name,
                          interval=interval)

    def _fast(self, serve: Callable[..., fastpath.Served | None], log_states: dict[str, int],
              **call: Any) -> fastpath.Served | None:
        """Run a one-statement path for the key the call names, within the token's locks.
        When it served (and logged) the call, the answer must be made through fast_answer,
        which marks the call's log record written once the statement has committed."""
        if not fastpath.available():
            return None
        product_id = self.params.int("ProductId", 0)
        if not access.fast_path_allowed(self.token, product_id):
            return None
        key_string = self.params.str("Key", max_length=64).strip()
        record = self.record
        served = serve(
            vendor_id=self.vendor.pk, product_id=product_id, key=key_string,
            locked_key_id=self.token.locked_key_id,
            log={"ip": record.ip, "method": record.method, "user_agent": record.user_agent,
                 "token_id": record.token_id, **log_states}, **call)
        if served is None:
            return None
        record.product_id, record.key, record.state = product_id, key_string, served.state
        if served.current is not None:
            record.floating_expires = served.current.floating_expires
        served.key.product.vendor = self.vendor
        return served

    def fast_answer(self, served: fastpath.Served,
                    answer: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The answer to a call a one-statement path served, built (and signed) while the
        statement's transaction commits: it is returned only once the commit, and with it the
        call's log row, is confirmed. A query made meanwhile waits for the commit first."""

        def after_commit(execute, sql, params, many, context):
            served.committed()
            return execute(sql, params, many, context)

        try:
            with connection.execute_wrapper(after_commit):
                return answer()
        finally:
            served.committed()  # raises when the commit failed: no success is answered
            self.record.written = True

    def has_permission(self, method_name: str) -> bool:
        return method_name in self.token.permissions
