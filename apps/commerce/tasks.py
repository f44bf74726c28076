"""Celery tasks of payments. Each calls one service; retries belong here.

A usage record Stripe could not take is retried with a growing delay; the sweep (beat, every
minute) sends whatever is still pending, so a record survives a worker killed mid-retry.
Stripe de-duplicates by the record's identifier, so a send that overlaps a retry counts once.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from .gateway import StripeUnavailable
from .services import subscriptions_enforce, usage_pending_ids, usage_send

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=8)
def usage_send_task(self: Any, record_id: int) -> str:
    try:
        return usage_send(record_id)
    except StripeUnavailable as exc:
        if self.request.is_eager:  # no worker to retry later: the sweep will
            return "pending"
        raise self.retry(exc=exc, countdown=min(30 * 2 ** self.request.retries, 1800)
                         ) from None


@shared_task
def usage_sweep_task() -> int:
    """Send every record still pending; returns how many Stripe confirmed."""
    confirmed = 0
    unreachable: set[int] = set()  # vendors whose Stripe failed this sweep: skipped
    for record_id, vendor_id in usage_pending_ids():
        if vendor_id in unreachable:
            continue
        try:
            confirmed += usage_send(record_id) == "confirmed"
        except StripeUnavailable:
            unreachable.add(vendor_id)  # the next sweep tries again
        except Exception:
            # One vendor's broken setup (a key sealed under an old secret) stops nobody else.
            logger.exception("Sending usage record %s to Stripe failed", record_id)
            unreachable.add(vendor_id)
    return confirmed


@shared_task
def subscriptions_enforce_task() -> int:
    return subscriptions_enforce()
