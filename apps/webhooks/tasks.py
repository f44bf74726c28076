"""Celery tasks of outgoing webhooks, on their own queue ("webhooks"). Each calls one
service; the backoff between attempts is the delivery's own (next_attempt_at), so the task
schedules the next try itself and the sweep backs it up."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .models import WebhookDelivery
from .services import deliver, due_delivery_ids


@shared_task(ignore_result=True)
def webhook_deliver_task(delivery_id: int) -> str:
    outcome = deliver(delivery_id)
    if outcome == "failed":
        delivery = WebhookDelivery.objects.filter(pk=delivery_id,
                                                  status=WebhookDelivery.PENDING).first()
        if delivery is not None and not webhook_deliver_task.request.is_eager:
            delay = max((delivery.next_attempt_at - timezone.now()).total_seconds(), 1)
            webhook_deliver_task.apply_async((delivery_id,), countdown=delay)
    return outcome


@shared_task(ignore_result=True)
def webhook_sweep_task() -> int:
    """Send every delivery that is due and unclaimed: after a restart, a lost message or a
    killed worker, nothing waits longer than a sweep."""
    sent = 0
    for delivery_id in due_delivery_ids():
        sent += deliver(delivery_id) == "delivered"
    return sent
