"""The Web API methods: each registers its handler, permission and reference text here, so the
dispatcher and the API reference page read one list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apps.licensing.api_methods import API_METHOD_SET


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
    params: tuple[Param, ...] = ()
    returns: str = ""
    errors: tuple[str, ...] = ()
    extra_permissions: tuple[str, ...] = field(default=())

    @property
    def controller(self) -> str:
        return self.name.split(".")[0]

    @property
    def path(self) -> str:
        controller, method = self.name.split(".")
        return f"/api/{controller}/{method}"


METHODS: dict[str, Method] = {}


def api_method(name: str, *, summary: str, params: tuple[Param, ...] = (), returns: str = "",
               errors: tuple[str, ...] = ()) -> Callable:
    assert name in API_METHOD_SET, f"{name} has no access-token permission"

    def register(handler: Callable) -> Callable:
        METHODS[name.lower()] = Method(name, handler, summary, params, returns, errors)
        return handler

    return register


def lookup(controller: str, method: str) -> Method | None:
    return METHODS.get(f"{controller}.{method}".lower())
