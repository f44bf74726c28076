"""Messages a vendor broadcasts to every copy of its application (`message/*`): "Version 2.0
is out". Applications fetch those of a channel newer than a time."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from apps.accounts.models import Vendor


class MessageQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> MessageQuerySet:
        return self.filter(vendor=vendor)


class Message(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=100, blank=True)
    content = models.TextField(max_length=10000)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["vendor", "channel", "created"],
                                name="message_channel_time")]

    def __str__(self) -> str:
        return self.content[:50]
