"""Outgoing webhooks: a vendor's endpoints, the events that happened, and each event's
delivery to each endpoint with every attempt.

An event and its deliveries are written in the transaction of the change they report (an
outbox): a worker or Redis restarting loses nothing, the sweep sends what is due."""

from __future__ import annotations

from django.db import models

from apps.accounts.models import Vendor


class WebhookEndpoint(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="Event types sent; empty: none")
    secret_encrypted = models.TextField()
    # After a rotation the old secret signs too, until `previous_secret_expires`.
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # The first failure of the current run of failures (None when the last attempt worked).
    failing_since = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="webhook_events")
    event_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=60, db_index=True)
    created = models.DateTimeField(db_index=True)
    payload = models.JSONField()

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookDelivery(models.Model):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    STATUSES = [(PENDING, "Pending"), (DELIVERED, "Delivered"), (FAILED, "Gave up")]

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries")
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    # When it was queued (by the event, or again by a resend): retries run for
    # WEBHOOK_RETRY_DAYS from then.
    queued_at = models.DateTimeField()
    # A worker sending it holds it until then; a killed worker's claim runs out.
    claimed_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} -> {self.endpoint}"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} ({self.status_code or self.error})"
