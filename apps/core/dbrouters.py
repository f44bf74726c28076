"""Read replica routing: append-only log tables are read from the replica, all else from the
primary.

Enabled by DATABASE_REPLICA_URL (settings add a `replica` database alias and this router).
What goes to the replica by default are reads of the models in DATABASE_REPLICA_READ_MODELS
(the Web API log and events): big, append-only tables read by reports, exports and anomaly
training, where a replica's lag of a second or two changes nothing. Everything else, and
every read inside a transaction on the primary, stays on the primary, so a service that writes
and then reads (seats, keys, sessions) always sees its own writes. Code can also opt in
explicitly with `.using(REPLICA)` (e.g. a report's heavy aggregate) and opt out with
`.using("default")`.

The replica is a PostgreSQL streaming (hot standby) replica: read-only, so nothing is ever
written or migrated there, and relations between objects from either alias are allowed (they
are the same database, a moment apart).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

REPLICA = "replica"


def read_alias() -> str:
    """The alias for heavy reads that tolerate a second of lag: the replica when one is
    configured, else the primary. For report code opting in explicitly:
    `qs.using(read_alias())`, or `connections[read_alias()].cursor()` for raw SQL (raw SQL
    through `django.db.connection` always runs on the primary)."""
    return REPLICA if REPLICA in settings.DATABASES else DEFAULT_DB_ALIAS


class PrimaryReplicaRouter:
    """Sends reads of the configured models to the replica when one is configured."""

    def _replica_models(self) -> frozenset[str]:
        return frozenset(label.lower() for label in
                         getattr(settings, "DATABASE_REPLICA_READ_MODELS", ()))

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if REPLICA not in settings.DATABASES:
            return None
        if model._meta.label_lower not in self._replica_models():
            return None
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None  # read-your-writes inside a transaction
        return REPLICA

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        aliases = {DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in aliases and obj2._state.db in aliases:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None,
                      **hints: Any) -> bool | None:
        return db == DEFAULT_DB_ALIAS
