"""A receiver that is down: the attempt fails, the delivery waits (1 minute, doubling), the
sweep sends it once the receiver is back and its time has come, and the receiver sees the
event once. Time is advanced by replacing apps.webhooks.services._now. A receiver down for
longer than WEBHOOK_RETRY_DAYS: the delivery is given up and the endpoint disabled, its
owners told."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from apps.licensing.services import key_set_blocked
from apps.webhooks import services
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.tasks import webhook_sweep_task

from .conftest import ACTOR
from .support import Receiver, free_port

pytestmark = pytest.mark.usefixtures("allow_private")


@pytest.fixture
def down(tmp_path):
    """A receiver not started yet, on a port where nothing listens."""
    stopped = Receiver(tmp_path / "receiver", port=free_port())
    yield stopped
    stopped.stop()


def _at(monkeypatch, when: dt.datetime) -> None:
    monkeypatch.setattr(services, "_now", lambda: when)


def test_retried_and_delivered_once_the_receiver_is_back(
        shop, down, monkeypatch, django_capture_on_commit_callbacks):
    endpoint, secret = shop.endpoint(down.url)
    down.configure(secrets=[secret])
    with django_capture_on_commit_callbacks(execute=True):
        key_set_blocked(key=shop.key, actor=ACTOR, blocked=True)
    delivery = WebhookDelivery.objects.select_related("event").get()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.PENDING, 1)
    wait = delivery.next_attempt_at - timezone.now()
    assert dt.timedelta(seconds=50) < wait < dt.timedelta(seconds=70)  # 1 min +- 10 %
    [attempt] = delivery.attempt_log.all()
    assert attempt.status_code is None and "Connection" in attempt.error, attempt.error
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None

    down.start()
    assert webhook_sweep_task() == 0  # not due yet: nothing sent
    assert down.records() == []
    _at(monkeypatch, timezone.now() + dt.timedelta(minutes=2))
    assert webhook_sweep_task() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.DELIVERED, 2)
    assert webhook_sweep_task() == 0
    records = down.records()
    assert [r["event_id"] for r in records] == [delivery.event.event_id]
    assert records[0]["verified"]
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_backoff_doubles_then_gives_up_and_disables(
        shop, receiver, monkeypatch, django_capture_on_commit_callbacks):
    endpoint, secret = shop.endpoint(receiver.url)
    receiver.configure(secrets=[secret], mode="fail")
    with django_capture_on_commit_callbacks(execute=True):
        key_set_blocked(key=shop.key, actor=ACTOR, blocked=True)
    delivery = WebhookDelivery.objects.select_related("event").get()
    assert delivery.attempts == 1  # on commit
    minutes = []
    for _ in range(3):
        now = delivery.next_attempt_at
        _at(monkeypatch, now)
        with django_capture_on_commit_callbacks(execute=True):
            assert webhook_sweep_task() == 0
        delivery.refresh_from_db()
        minutes.append((delivery.next_attempt_at - now).total_seconds() / 60)
    for got, want in zip(minutes, [2, 4, 8], strict=True):
        assert want * 0.9 <= got <= want * 1.1, minutes
    assert delivery.status == WebhookDelivery.PENDING
    assert not mail.outbox

    # More than WEBHOOK_RETRY_DAYS (3) after the event: given up, endpoint disabled.
    _at(monkeypatch, delivery.event.created + dt.timedelta(days=3, minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_sweep_task() == 0
    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert delivery.status == WebhookDelivery.FAILED
    assert not endpoint.enabled and "3 days" in endpoint.disabled_reason
    [message] = mail.outbox
    assert message.to == [shop.vendor.memberships.get().user.email]
    assert endpoint.url in message.body
    attempts = delivery.attempt_log.count()
    assert len(receiver.records()) == attempts == 5


def test_backoff_is_one_minute_doubling_to_six_hours():
    for attempts, minutes in [(1, 1), (2, 2), (3, 4), (6, 32), (9, 256), (10, 360), (40, 360)]:
        wait = services.backoff(attempts).total_seconds() / 60
        assert minutes * 0.9 <= wait <= minutes * 1.1, (attempts, wait)
