"""The Web API methods: each registers its handler, permission and reference text here, so the
dispatcher and the API reference page read one list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apps.licensing.api_methods import API_METHOD_SET

from .access import Reach


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    doc: str
    default: str = ""


@dataclass(frozen=True)
class Method:
    name: str  # "key.Activate"
    handler: Callable[..., dict[str, Any]]
    summary: str
    reach: Reach
    params: tuple[Param, ...] = ()
    returns: str = ""
    errors: tuple[str, ...] = ()
    # The token permissions that allow the call, any one of them: the method's own name,
    # except for userauth (UserAuthNormal / UserAuthAdmin, apps.licensing.api_methods).
    permissions: tuple[str, ...] = field(default=())
    # A read-only success served in one statement that also writes its log row
    # (apps.licensing.fastpath), tried before the handler and outside its transaction;
    # None when the handler must decide.
    fast: Callable[..., dict[str, Any] | None] | None = None

    @property
    def state_family(self) -> int:
        """First two digits of this method's Web API log states (Cryptolens' scheme)."""
        name = self.name.lower()
        if name in ("key.activate", "sdk.signapplication"):  # signing activates the machine
            return 20
        if name == "key.getkey":
            return 10
        if name == "key.deactivate":
            return 60
        if name in ("key.createkey", "key.createtrialkey", "key.createkeyfromtemplate"):
            return 30
        if name.startswith("key."):
            return 70
        if name.startswith("data.") and not name.startswith("data.list"):
            return 80
        return 50

    @property
    def controller(self) -> str:
        return self.name.split(".")[0]

    @property
    def path(self) -> str:
        controller, method = self.name.split(".")
        return f"/api/{controller}/{method}"


METHODS: dict[str, Method] = {}


def api_method(name: str, *, summary: str, reach: Reach, params: tuple[Param, ...] = (),
               returns: str = "", errors: tuple[str, ...] = (),
               permissions: tuple[str, ...] | None = None,
               fast: Callable[..., dict[str, Any] | None] | None = None) -> Callable:
    """Register a handler. `reach` says what the method touches, so that apps.api.access can
    hold a locked token to its key or product (see Reach). `permissions`: the token
    permissions that allow the call (any one), by default the method's own name."""
    allowed = permissions or (name,)
    for permission in allowed:
        assert permission in API_METHOD_SET, f"{permission} is no access-token permission"

    def register(handler: Callable) -> Callable:
        METHODS[name.lower()] = Method(name, handler, summary, reach, params, returns, errors,
                                       allowed, fast)
        return handler

    return register


def lookup(controller: str, method: str) -> Method | None:
    return METHODS.get(f"{controller}.{method}".lower())
