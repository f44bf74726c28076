"""Expiry notices: the e-mails a key's customer got before (or when) the key expired.

One row per key, notice and expiry date. The unique constraint is what makes a notice go out
once: two beat runs at the same time both try to insert it and only one succeeds. A key given a
new expiry date is in a new period, so its notices are due again."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .catalogue import LicenseKey


class ExpiryNotice(models.Model):
    key = models.ForeignKey(LicenseKey, on_delete=models.CASCADE, related_name="expiry_notices")
    # Days before the expiry date the notice is for; 0: the notice that the key has expired.
    days_before = models.PositiveSmallIntegerField()
    # The key's expiry date when the notice was sent: the period the notice belongs to.
    expires = models.DateTimeField()
    email = models.EmailField(max_length=100)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["key", "days_before", "expires"],
                                    name="expiry_notice_once_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.key_id}: {self.label}"

    @property
    def label(self) -> str:
        if self.days_before == 0:
            return "at expiry"
        return f"{self.days_before} day{'s' if self.days_before != 1 else ''} before"
