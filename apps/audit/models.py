"""The object log: who changed what, when, in every vendor's data. Append-only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from apps.accounts.models import Vendor


class ObjectLogQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> ObjectLogQuerySet:
        return self.filter(vendor=vendor)

    def for_object(self, obj: models.Model) -> ObjectLogQuerySet:
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))


class AppendOnlyError(Exception):
    pass


class ObjectLogEntry(models.Model):
    """Who changed what, when. Append-only: rows are never updated or deleted (PostgreSQL
    enforces this with a trigger, see licensing's migration 0002).

    Actors are kept as plain ids and labels, not foreign keys, so that deleting a user or a
    token never rewrites history."""

    vendor = models.ForeignKey("accounts.Vendor", on_delete=models.DO_NOTHING, db_constraint=False,
                               related_name="+")
    time = models.DateTimeField(default=timezone.now, db_index=True)
    actor_type = models.CharField(max_length=10)  # user / token / system
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=255)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=255)
    action = models.CharField(max_length=50)
    changes = models.JSONField(default=dict, blank=True)

    objects = ObjectLogQuerySet.as_manager()

    class Meta:
        # The table (and its append-only trigger) kept the name it had in apps.licensing.
        db_table = "licensing_objectlogentry"
        ordering = ["-time", "-id"]
        indexes = [
            models.Index(fields=["vendor", "object_type", "object_id"],
                         name="licensing_o_vendor__7415d4_idx"),
            models.Index(fields=["vendor", "-time"], name="licensing_o_vendor__b32306_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Object log entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Object log entries cannot be deleted.")
