"""Outgoing webhooks: which events exist, how they are recorded, signed and delivered.

Every domain change that a vendor may want to hear of calls `emit` inside its own
transaction: the event and one delivery per subscribed endpoint are rows written with the
change (nothing to lose if a worker or Redis restarts), sent after the commit by a Celery
task on the "webhooks" queue and, as a backstop, by the sweep (beat, every minute).

Delivery is at least once: a delivery is claimed for a while (`claimed_until`), sent, then
marked; a worker killed between sending and marking leaves the claim to run out, and the
sweep sends it again (the receiver sees the same event id twice, never none). Failed
attempts back off exponentially (1 minute doubling to 6 hours) for up to
WEBHOOK_RETRY_DAYS; an endpoint failing for WEBHOOK_DISABLE_AFTER_DAYS is disabled and the
vendor's owners are e-mailed.

Signature, as the receiver checks it (docs/webhooks.md has the ten lines):
    Portal-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
with a second v1 while a rotated secret's overlap lasts."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Membership, Role, Vendor
from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.core.sealed import seal, unseal

from . import sender
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

SECRET_PURPOSE = "webhook-endpoint-secret"
SIGNATURE_HEADER = "Portal-Signature"
EVENT_HEADER = "Portal-Event-Id"
MAX_ENDPOINTS = 20

# Event type -> what it reports. The names are the wire names (payload "type").
EVENT_TYPES: dict[str, str] = {
    "key.created": "A license key was created (by you, the API, a reseller or a payment).",
    "key.changed": "A key's features, notes, seats or other fields changed.",
    "key.blocked": "A key was blocked.",
    "key.unblocked": "A key was unblocked.",
    "key.extended": "A key's expiry moved (extended, shortened or set by a subscription).",
    "key.expiring": "A key expires soon (when its product sends expiry notices).",
    "key.expired": "A key expired (when its product sends expiry notices).",
    "device.activated": "A device took a seat of a key.",
    "device.deactivated": "A device gave its seat back.",
    "floating.limit_reached": "A floating activation was refused: every seat was in use.",
    "floating.overdraft_used": "A floating activation went beyond the seats, into overdraft.",
    "customer.created": "A customer was created.",
    "reseller.key_issued": "A reseller issued a key.",
    "order.completed": "A payment-form order was paid and its key issued.",
    "subscription.changed": "A Stripe subscription's state changed (key issued, renewed, "
                            "failing, cancelled).",
    "anomaly.created": "The anomaly detection raised a finding.",
    "license_server.upload_received": "An on-premises license server uploaded its log.",
    "webhook.test": "Sent by the \"Send test event\" button.",
}


def _now() -> dt.datetime:
    return timezone.now()


# --- Emitting ----------------------------------------------------------------------------------


def emit(*, vendor_id: int, type: str, data: Callable[[], dict[str, Any]]
         ) -> WebhookEvent | None:
    """Record that `type` happened, with `data()` (the object as the Web API shows it), and
    queue it for every enabled endpoint of the vendor that wants it. Call it inside the
    transaction of the change. One indexed query; `data` is called, and anything written,
    only when an endpoint wants the event."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown webhook event type {type!r}")
    if not _wanted(vendor_id, type):
        return None
    endpoints = [e for e in WebhookEndpoint.objects.filter(vendor_id=vendor_id, enabled=True)
                 if type in e.events]
    if not endpoints:
        return None
    return _record(vendor_id, type, data(), endpoints)


# Whether any enabled endpoint of a vendor wants an event type: asked by every change that
# emits (each new device, each deactivation), where most vendors have no endpoint. Written
# out: the ORM took longer to build the query than the database takes to answer it.
_WANTED_SQL = (f"SELECT events FROM {WebhookEndpoint._meta.db_table} "  # noqa: S608
               "WHERE vendor_id = %s AND enabled")


def _wanted(vendor_id: int, type: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_WANTED_SQL, [vendor_id])
        rows = cursor.fetchall()
    return any(type in (json.loads(events) if isinstance(events, str) else events)
               for (events,) in rows)


def _record(vendor_id: int, type: str, data: dict[str, Any],
            endpoints: Iterable[WebhookEndpoint]) -> WebhookEvent:
    now = _now()
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = {"id": event_id, "type": type, "created": int(now.timestamp()),
               "vendor": vendor_id, "data": {"object": data}}
    # Stored as sent: plain JSON (dates already turned into text).
    payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    event = WebhookEvent.objects.create(vendor_id=vendor_id, event_id=event_id, type=type,
                                        created=now, payload=payload)
    deliveries = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now, queued_at=now)
        for endpoint in endpoints])
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: _queue(ids), robust=True)
    return event


def _queue(delivery_ids: list[int]) -> None:
    from .tasks import webhook_deliver_task  # the task module imports this one

    for delivery_id in delivery_ids:
        webhook_deliver_task.delay(delivery_id)


# --- Endpoints ---------------------------------------------------------------------------------


def _check_events(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise DomainError(f"Unknown events: {', '.join(unknown)}.", field="events")
    if not chosen:
        raise DomainError("Choose at least one event.", field="events")
    return chosen


def _check_url(url: str) -> str:
    url = url.strip()
    if len(url) > 500:
        raise DomainError("The address is too long (500 characters at most).", field="url")
    try:
        sender.check_url(url)
    except sender.UnsafeAddress as exc:
        raise DomainError(str(exc), field="url") from None
    return url


@transaction.atomic
def endpoint_create(*, vendor: Vendor, actor: Actor, url: str, events: Iterable[str],
                    description: str = "") -> tuple[WebhookEndpoint, str]:
    """A new endpoint; returns it and its signing secret (shown once, stored encrypted)."""
    url, chosen = _check_url(url), _check_events(events)
    Vendor.objects.select_for_update().filter(pk=vendor.pk).first()
    if WebhookEndpoint.objects.filter(vendor=vendor).count() >= MAX_ENDPOINTS:
        raise DomainError(f"At most {MAX_ENDPOINTS} endpoints.")
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint.objects.create(
        vendor=vendor, url=url, events=chosen, description=description.strip()[:200],
        secret_encrypted=seal(secret, purpose=SECRET_PURPOSE))
    log_change(vendor=vendor, actor=actor, obj=endpoint, action="created",
               changes={"url": [None, url], "events": [None, chosen]})
    return endpoint, secret


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, actor: Actor, url: str,
                    events: Iterable[str], description: str = "", enabled: bool = True
                    ) -> WebhookEndpoint:
    chosen = _check_events(events)
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    # The address is checked when it changes (each delivery checks it again), so an endpoint
    # whose host stopped resolving can still be switched off.
    url = url.strip() if url.strip() == locked.url else _check_url(url)
    before = {"url": locked.url, "events": locked.events, "enabled": locked.enabled}
    locked.url, locked.events, locked.description = url, chosen, description.strip()[:200]
    if enabled and not locked.enabled:
        locked.disabled_reason, locked.failing_since = "", None
    locked.enabled = enabled
    locked.save()
    after = {"url": locked.url, "events": locked.events, "enabled": locked.enabled}
    log_change(vendor=locked.vendor, actor=actor, obj=locked, action="updated",
               changes={k: [before[k], after[k]] for k in after if before[k] != after[k]})
    return locked


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: Actor, overlap_hours: int = 24
                           ) -> str:
    """A new signing secret (returned, shown once); the old one keeps signing beside it for
    `overlap_hours` (0: at once), so receivers can switch without losing an event."""
    if not 0 <= overlap_hours <= 7 * 24:
        raise DomainError("The overlap is 0 to 168 hours.", field="overlap_hours")
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = "whsec_" + secrets.token_urlsafe(32)
    if overlap_hours:
        locked.previous_secret_encrypted = locked.secret_encrypted
        locked.previous_secret_expires = _now() + dt.timedelta(hours=overlap_hours)
    else:
        locked.previous_secret_encrypted, locked.previous_secret_expires = "", None
    locked.secret_encrypted = seal(secret, purpose=SECRET_PURPOSE)
    locked.save()
    log_change(vendor=locked.vendor, actor=actor, obj=locked, action="secret rotated",
               changes={"overlap_hours": [None, overlap_hours]})
    return secret


@transaction.atomic
def endpoint_remove(*, endpoint: WebhookEndpoint, actor: Actor) -> None:
    log_change(vendor=endpoint.vendor, actor=actor, obj=endpoint, action="removed",
               changes={"url": [endpoint.url, None]})
    endpoint.delete()


# --- Signing and sending -----------------------------------------------------------------------


def signature_header(secrets_: Iterable[str], body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"] + [
        "v1=" + hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets_]
    return ",".join(parts)


def _secrets(endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    found = [unseal(endpoint.secret_encrypted, purpose=SECRET_PURPOSE)]
    if endpoint.previous_secret_encrypted and endpoint.previous_secret_expires \
            and endpoint.previous_secret_expires > now:
        found.append(unseal(endpoint.previous_secret_encrypted, purpose=SECRET_PURPOSE))
    return found


def backoff(attempts: int) -> dt.timedelta:
    """Wait before attempt `attempts` + 1: 1 minute doubling to 6 hours, +-10 % jitter."""
    seconds = min(60 * 2 ** max(attempts - 1, 0), 6 * 3600)
    return dt.timedelta(seconds=seconds * random.uniform(0.9, 1.1))  # noqa: S311 (jitter)


def _claim(delivery_id: int, now: dt.datetime) -> WebhookDelivery | None:
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("event", "endpoint")
                    .filter(pk=delivery_id, status=WebhookDelivery.PENDING,
                            next_attempt_at__lte=now)
                    .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                    .first())
        if delivery is None:
            return None
        delivery.claimed_until = now + dt.timedelta(seconds=timeout * 2 + 30)
        delivery.save(update_fields=["claimed_until"])
        return delivery


def deliver(delivery_id: int) -> str:
    """One attempt of one delivery (if it is due and nobody else holds it)."""
    now = _now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return "not due"
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.enabled:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.FAILED, claimed_until=None)
        return "endpoint disabled"
    body = json.dumps(event.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {SIGNATURE_HEADER: signature_header(_secrets(endpoint, now), body, timestamp),
               EVENT_HEADER: event.event_id}
    status_code: int | None = None
    excerpt = error = ""
    latency = 0
    try:
        response = sender.post(endpoint.url, body, headers,
                               timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
        status_code, latency = response.status, response.latency_ms
        excerpt = response.body.decode("utf-8", "replace")[:500]
    except sender.UnsafeAddress as exc:
        error = str(exc)
    except (OSError, ValueError) as exc:  # connect, timeout, TLS, HTTP protocol errors
        error = f"{type(exc).__name__}: {exc}"[:300]
    except Exception as exc:  # http.client.HTTPException and the like
        error = f"{type(exc).__name__}: {exc}"[:300]
    ok = status_code is not None and 200 <= status_code < 300
    _record_attempt(delivery, ok, status_code, latency, excerpt, error)
    return "delivered" if ok else "failed"


@transaction.atomic
def _record_attempt(delivery: WebhookDelivery, ok: bool, status_code: int | None,
                    latency: int, excerpt: str, error: str) -> None:
    now = _now()
    WebhookAttempt.objects.create(delivery=delivery, status_code=status_code,
                                  latency_ms=latency, response_excerpt=excerpt[:500],
                                  error=error[:300])
    locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    locked.attempts += 1
    locked.claimed_until = None
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    if ok:
        locked.status, locked.delivered_at = WebhookDelivery.DELIVERED, now
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            endpoint.save(update_fields=["failing_since"])
    else:
        if now - delivery.queued_at > dt.timedelta(days=settings.WEBHOOK_RETRY_DAYS):
            locked.status = WebhookDelivery.FAILED
        else:
            locked.next_attempt_at = now + backoff(locked.attempts)
        if endpoint.failing_since is None:
            endpoint.failing_since = now
            endpoint.save(update_fields=["failing_since"])
        elif endpoint.enabled and now - endpoint.failing_since > dt.timedelta(
                days=settings.WEBHOOK_DISABLE_AFTER_DAYS):
            _disable(endpoint, now)
    locked.save()


def _disable(endpoint: WebhookEndpoint, now: dt.datetime) -> None:
    days = settings.WEBHOOK_DISABLE_AFTER_DAYS
    endpoint.enabled = False
    endpoint.disabled_reason = f"Every delivery failed for {days} days."
    endpoint.save(update_fields=["enabled", "disabled_reason"])
    log_change(vendor=endpoint.vendor, actor=Actor.for_system("Webhooks"), obj=endpoint,
               action="disabled", changes={"reason": [None, endpoint.disabled_reason]})
    owners = list(Membership.objects.filter(vendor_id=endpoint.vendor_id, role=Role.OWNER)
                  .values_list("user__email", flat=True))
    if owners:
        body = (f"Your webhook endpoint {endpoint.url} has failed every delivery for {days} "
                "days, so the portal stopped sending to it. Events since then are kept: fix "
                "the endpoint, enable it again and resend them from its delivery page.")
        transaction.on_commit(lambda: send_mail("A webhook endpoint was disabled", body, None,
                                                owners), robust=True)


def due_delivery_ids(limit: int = 1000) -> list[int]:
    """Deliveries whose attempt is due and that nobody holds (the sweep sends them)."""
    now = _now()
    return list(WebhookDelivery.objects.filter(
        status=WebhookDelivery.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


# --- From the delivery page --------------------------------------------------------------------


@transaction.atomic
def resend(*, endpoint: WebhookEndpoint, actor: Actor, event: WebhookEvent | None = None,
           since: dt.datetime | None = None) -> int:
    """Send one event again, or every event of the endpoint's types since a time (new
    attempts of the same deliveries, same event ids). Returns how many are queued."""
    if event is None and since is None:
        raise DomainError("Choose an event or a time.")
    if not endpoint.enabled:
        raise DomainError("Enable the endpoint first.")
    events = WebhookEvent.objects.filter(vendor_id=endpoint.vendor_id)
    if event is not None:
        events = events.filter(pk=event.pk)
    else:
        events = events.filter(created__gte=since, type__in=endpoint.events)
    now = _now()
    ids = []
    for found in events.order_by("created")[:10_000]:
        delivery, _ = WebhookDelivery.objects.get_or_create(
            event=found, endpoint=endpoint, defaults={"next_attempt_at": now, "queued_at": now})
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.PENDING, next_attempt_at=now, queued_at=now,
            claimed_until=None)
        ids.append(delivery.pk)
    log_change(vendor=endpoint.vendor, actor=actor, obj=endpoint, action="resent",
               changes={"events": [None, len(ids)]})
    transaction.on_commit(lambda: _queue(ids), robust=True)
    return len(ids)


@transaction.atomic
def send_test_event(*, endpoint: WebhookEndpoint, actor: Actor) -> WebhookEvent:
    event = _record(endpoint.vendor_id, "webhook.test",
                    {"message": "A test event from the licensing portal.",
                     "endpoint": endpoint.url}, [endpoint])
    log_change(vendor=endpoint.vendor, actor=actor, obj=endpoint, action="test event sent",
               changes={"event": [None, event.event_id]})
    return event
