"""A worker killed (SIGKILL) mid-delivery, after the receiver got the request and before the
answer: the delivery stays pending and claimed; once the claim runs out, the sweep sends it
again and it is delivered. The receiver sees the event at least once and at most twice:
at least once, never lost.

The delivery runs in a separate Python process against the test database (as a Celery
worker would), so the test is transactional and PostgreSQL only, like tests/api_concurrency.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.licensing.services import key_set_blocked
from apps.webhooks import services
from apps.webhooks.models import WebhookAttempt, WebhookDelivery
from apps.webhooks.tasks import webhook_sweep_task
from tests import servers

from .conftest import ACTOR, make_shop

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL: set DATABASE_URL=postgres://... to run"),
    pytest.mark.usefixtures("allow_private"),
]

DELIVER = ("import sys, django; django.setup(); "
           "from apps.webhooks.services import deliver; print(deliver(int(sys.argv[1])))")


def _worker(delivery_id: int) -> subprocess.Popen:
    """`deliver` in another process, as a Celery worker runs it."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="licensing_portal.settings_test", DEBUG="1",
               DATABASE_URL=servers.database_url(), SECRET_KEY=settings.SECRET_KEY,
               SIGNING_KEY_ENCRYPTION_SECRET=settings.SIGNING_KEY_ENCRYPTION_SECRET,
               WEBHOOKS_ALLOW_PRIVATE_ADDRESSES="1", WEBHOOK_TIMEOUT_SECONDS="10")
    return subprocess.Popen([sys.executable, "-c", DELIVER, str(delivery_id)], env=env,
                            cwd=servers.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_killed_mid_delivery_is_delivered_later(transactional_db, receiver, monkeypatch):
    shop = make_shop()
    _, secret = shop.endpoint(receiver.url)
    receiver.configure(secrets=[secret], mode="hang")
    queued: list[int] = []
    # The message goes to "the worker" (the process below), not to an eager task here.
    monkeypatch.setattr(services, "_queue", queued.extend)
    key_set_blocked(key=shop.key, actor=ACTOR, blocked=True)  # commits
    [delivery_id] = queued
    event_id = WebhookDelivery.objects.get(pk=delivery_id).event.event_id

    worker = _worker(delivery_id)
    try:
        receiver.wait_for(lambda found: len(found) == 1, timeout=30)
    finally:
        worker.kill()  # SIGKILL: no cleanup, no answer recorded
        output = worker.communicate()[0].decode()
    assert worker.returncode == -9, output

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.PENDING, 0)
    assert delivery.claimed_until > timezone.now() + dt.timedelta(seconds=30)  # 10 * 2 + 30
    assert not WebhookAttempt.objects.exists()
    assert webhook_sweep_task() == 0  # still held by the dead worker's claim

    receiver.configure(mode="ok")
    WebhookDelivery.objects.filter(pk=delivery_id).update(  # the claim runs out
        claimed_until=timezone.now() - dt.timedelta(seconds=1))
    assert webhook_sweep_task() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.DELIVERED, 1)
    assert delivery.claimed_until is None
    seen = [r for r in receiver.records() if r["event_id"] == event_id]
    assert 1 <= len(seen) <= 2 and all(r["verified"] for r in seen)
    assert [r["mode"] for r in seen] == ["hang", "ok"]
    assert webhook_sweep_task() == 0
