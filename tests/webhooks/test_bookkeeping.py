"""The delivery bookkeeping, without a receiver process: giving up after the retry window
(counted from when the delivery was queued, so a resend gets a full window), disabling an
endpoint that keeps failing (and e-mailing the owners), the claim a killed worker leaves
behind, secret rotation, an answer trickled byte by byte, and the checks on an address."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import pytest
from django.core import mail
from django.utils import timezone

from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.webhooks import sender, services
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import make_vendor

SYSTEM = Actor.for_system("test")
CLOSED = "http://127.0.0.1:9/hook"  # nothing listens on the discard port


@pytest.fixture
def endpoint(db, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    vendor = make_vendor("Retrying vendor")
    return services.endpoint_create(vendor=vendor, actor=SYSTEM, url=CLOSED,
                                    events=["key.blocked"])[0]


def _emit(endpoint: WebhookEndpoint) -> WebhookDelivery:
    services.emit(vendor_id=endpoint.vendor_id, type="key.blocked", data=lambda: {"Key": "K"})
    return WebhookDelivery.objects.get()


def test_a_failed_attempt_is_logged_and_not_retried_before_its_time(endpoint):
    delivery = _emit(endpoint)
    assert services.deliver(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.next_attempt_at > timezone.now() + dt.timedelta(seconds=50)
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None and "Connection" in attempt.error
    assert services.deliver(delivery.pk) == "not due"


def test_a_resent_old_event_gets_a_whole_retry_window(endpoint, settings):
    delivery = _emit(endpoint)
    long_ago = timezone.now() - dt.timedelta(days=settings.WEBHOOK_RETRY_DAYS + 2)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(queued_at=long_ago,
                                                          status="failed")
    delivery.event.created = long_ago
    delivery.event.save()

    assert services.resend(endpoint=endpoint, actor=SYSTEM, event=delivery.event) == 1
    services.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)  # will be tried again
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        queued_at=long_ago, next_attempt_at=timezone.now())
    services.deliver(delivery.pk)
    assert WebhookDelivery.objects.get().status == "failed"  # past its window: given up


def test_an_endpoint_failing_for_days_is_disabled_and_the_owners_told(
        endpoint, settings, django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - dt.timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS,
                                                    hours=1))
    delivery = _emit(endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        services.deliver(delivery.pk)
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "failed" in endpoint.disabled_reason
    owner = endpoint.vendor.memberships.get().user.email
    assert [m.to for m in mail.outbox] == [[owner]]
    assert endpoint.url in mail.outbox[0].body
    # A disabled endpoint hears of no new event.
    assert services.emit(vendor_id=endpoint.vendor_id, type="key.blocked", data=dict) is None


def test_a_claim_left_by_a_killed_worker_runs_out(endpoint):
    delivery = _emit(endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_until=timezone.now() + dt.timedelta(minutes=1))
    assert services.due_delivery_ids() == []
    assert services.deliver(delivery.pk) == "not due"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_until=timezone.now() - dt.timedelta(seconds=1))
    assert services.due_delivery_ids() == [delivery.pk]


def test_a_success_clears_the_failing_state(endpoint, monkeypatch):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now())
    monkeypatch.setattr(sender, "post", lambda *a, **k: sender.Response(204, b"", 5))
    delivery = _emit(endpoint)
    assert services.deliver(delivery.pk) == "delivered"
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    assert WebhookDelivery.objects.get().status == "delivered"


def test_rotation_signs_with_both_secrets_during_the_overlap(endpoint):
    first = services._secrets(endpoint, timezone.now())
    services.endpoint_rotate_secret(endpoint=endpoint, actor=SYSTEM, overlap_hours=24)
    endpoint.refresh_from_db()
    both = services._secrets(endpoint, timezone.now())
    assert len(both) == 2 and both[1] == first[0]
    assert services._secrets(endpoint, timezone.now() + dt.timedelta(hours=25)) == both[:1]
    header = services.signature_header(both, b"{}", 1700000000)
    assert header.startswith("t=1700000000,v1=") and header.count("v1=") == 2


def test_an_answer_trickled_byte_by_byte_is_cut_off_at_the_timeout(settings):
    """The timeout bounds the whole attempt, not each read: a slow-loris endpoint cannot
    hold a worker past it (nor outlive the delivery's claim)."""
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def trickle() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(40):
                conn.sendall(b"x")
                time.sleep(0.2)
        except OSError:
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        sender.post(f"http://127.0.0.1:{port}/", b"{}", {}, timeout=1)
    assert time.monotonic() - started < 3
    server.close()


@pytest.mark.parametrize("url", [
    "http://example.com/hook", "ftp://example.com/x", "https://127.0.0.1/x",
    "https://10.1.2.3/x", "https://169.254.169.254/latest/meta-data", "https://[::1]/x",
    "https://localhost/x", "https://[2002:7f00:1::]/x", "https://[64:ff9b::7f00:1]/x",
    "https://192.0.0.192/x", "https://168.63.129.16/x",
    "https://hooks.example.com:99999/", "https://hooks.example.com:abc/", "https://[::1/",
    "https://[zz]/", "https://user:pass@hooks.example.com/",
    "https://", "https://" + "a" * 600 + ".com/"])
def test_unsafe_addresses_are_refused_in_production(db, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(DomainError):
        services.endpoint_create(vendor=make_vendor("Careful vendor"), actor=SYSTEM, url=url,
                                 events=["key.blocked"])
    assert not WebhookEndpoint.objects.exists()


def test_unknown_or_no_events_are_refused(db, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    vendor = make_vendor("Eventful vendor")
    for events in ([], ["key.exploded"]):
        with pytest.raises(DomainError):
            services.endpoint_create(vendor=vendor, actor=SYSTEM, url=CLOSED, events=events)


def test_an_endpoint_whose_host_stopped_resolving_can_still_be_switched_off(endpoint,
                                                                           monkeypatch):
    import socket as socket_module

    def nothing(*args, **kwargs):
        raise socket_module.gaierror("Name or service not known")

    monkeypatch.setattr(sender.socket, "getaddrinfo", nothing)
    services.endpoint_update(endpoint=endpoint, actor=SYSTEM, url=endpoint.url,
                             events=endpoint.events, enabled=False)
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    with pytest.raises(DomainError):  # a new address is checked
        services.endpoint_update(endpoint=endpoint, actor=SYSTEM, url="http://gone.example/",
                                 events=endpoint.events)
