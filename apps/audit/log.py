"""Writing the object log. Every service that changes data calls `log_change`."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models

from .models import ObjectLogEntry

if TYPE_CHECKING:  # the log names people, vendors and tokens without depending on their apps
    from apps.accounts.models import User, Vendor
    from apps.licensing.models import AccessToken


@dataclass(frozen=True)
class Actor:
    """Who is making a change: a portal user, an API access token, or the system itself."""

    user: User | None = None
    token: AccessToken | None = None
    system: str | None = None

    @classmethod
    def for_user(cls, user: User) -> Actor:
        return cls(user=user)

    @classmethod
    def for_token(cls, token: AccessToken) -> Actor:
        return cls(token=token)

    @classmethod
    def for_system(cls, name: str = "system") -> Actor:
        return cls(system=name)

    @property
    def kind(self) -> str:
        return "user" if self.user else "token" if self.token else "system"

    @property
    def id(self) -> int | None:
        return self.user.pk if self.user else self.token.pk if self.token else None

    @property
    def label(self) -> str:
        if self.user:
            return self.user.email
        if self.token:
            return f"token: {self.token.name}"
        return self.system or "system"


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return str(value)
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in fields}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields whose value changed."""
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if before.get(name) != value
    }


def log_change(
    *,
    vendor: Vendor,
    actor: Actor,
    obj: models.Model,
    action: str,
    changes: dict[str, Any] | None = None,
) -> ObjectLogEntry:
    return ObjectLogEntry.objects.create(
        vendor=vendor,
        actor_type=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label[:255],
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:255],
        action=action,
        changes={k: _plain(v) for k, v in (changes or {}).items()},
    )
