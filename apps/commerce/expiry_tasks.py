"""The hourly expiry task: notices to customers before and at their keys' expiry, then
blocking of expired keys where the product asks for it. The rules live in
apps.licensing.services.expiry; this module sits in commerce only because the notices' renewal
link is a payment form. Registered through CELERY_IMPORTS (not a `tasks` module)."""

from __future__ import annotations

from celery import shared_task

from apps.licensing.services.expiry import expired_keys_block, expiry_notices_send

from .renewal import renewal_url_for


@shared_task
def expiry_hourly_task() -> dict[str, int]:
    """Send the due expiry notices, then block expired keys. Notices go first so that a key
    blocked in this run still gets its at-expiry notice. Safe to run twice at once: each
    notice is inserted once (unique constraint), each key blocked under its row lock."""
    sent = expiry_notices_send(renewal_url=renewal_url_for)
    blocked = expired_keys_block()
    return {"sent": sent, "blocked": blocked}
