"""Deliveries to a real receiver process (tests/webhooks/receiver.py), checked there with the
snippet of docs/webhooks.md: signed, one per subscribed event, the key as key/GetKey shows
it; secret rotation; what counts as a failure (a redirect, a timeout) and what is kept of
an answer."""

from __future__ import annotations

import pytest

from apps.licensing.services import key_extend, key_set_blocked
from apps.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from apps.webhooks.services import endpoint_rotate_secret
from tests.factories import make_key

from .conftest import ACTOR

pytestmark = pytest.mark.usefixtures("allow_private")


def test_key_blocked_arrives_signed_and_verifies(shop, receiver,
                                                 django_capture_on_commit_callbacks):
    endpoint, secret = shop.endpoint(receiver.url, ["key.blocked", "key.created"])
    receiver.configure(secrets=[secret])
    with django_capture_on_commit_callbacks(execute=True):
        key_set_blocked(key=shop.key, actor=ACTOR, blocked=True)
        key_extend(key=shop.key, actor=ACTOR, days=10)  # key.extended: not subscribed
    [record] = receiver.records()
    assert record["type"] == "key.blocked"
    assert record["verified"] is True and record["signatures"] == 1
    assert record["path"] == "/hooks"
    assert record["object"]["Key"] == shop.key.key
    assert record["object"]["Block"] is True
    assert record["object"]["ProductId"] == shop.product.pk
    event = WebhookEvent.objects.get()
    assert record["event_id"] == record["body_id"] == event.event_id
    assert event.event_id.startswith("evt_")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.DELIVERED, 1)
    assert delivery.endpoint == endpoint and delivery.claimed_until is None
    attempt = delivery.attempt_log.get()
    assert (attempt.status_code, attempt.response_excerpt, attempt.error) == (200, "ok", "")

    with django_capture_on_commit_callbacks(execute=True):
        new_key = make_key(shop.product)
    records = receiver.records()
    assert [r["type"] for r in records] == ["key.blocked", "key.created"]
    assert records[1]["verified"] and records[1]["object"]["Key"] == new_key.key
    assert records[0]["event_id"] != records[1]["event_id"]


def test_rotation_overlap_signs_with_both_secrets(shop, receiver,
                                                  django_capture_on_commit_callbacks):
    endpoint, first = shop.endpoint(receiver.url)
    second = endpoint_rotate_secret(endpoint=endpoint, actor=ACTOR, overlap_hours=24)
    receiver.configure(secrets=[first, second])
    with django_capture_on_commit_callbacks(execute=True):
        key_set_blocked(key=shop.key, actor=ACTOR, blocked=True)
    [record] = receiver.records()
    assert record["signatures"] == 2
    assert record["verified_with"] == [True, True]  # either secret verifies

    third = endpoint_rotate_secret(endpoint=endpoint, actor=ACTOR, overlap_hours=0)
    receiver.configure(secrets=[first, second, third])
    with django_capture_on_commit_callbacks(execute=True):
        key_set_blocked(key=shop.key, actor=ACTOR, blocked=False)
        key_set_blocked(key=shop.key, actor=ACTOR, blocked=True)
    *_, record = receiver.records()
    assert record["type"] == "key.blocked"
    assert record["signatures"] == 1
    assert record["verified_with"] == [False, False, True]  # only the newest


def _one_attempt(shop, receiver, mode: str, capture) -> WebhookAttempt:
    _, secret = shop.endpoint(receiver.url)
    receiver.configure(secrets=[secret], mode=mode)
    with capture(execute=True):
        key_set_blocked(key=shop.key, actor=ACTOR, blocked=True)
    return WebhookAttempt.objects.get()


def test_redirect_is_a_failure_and_not_followed(shop, receiver,
                                                django_capture_on_commit_callbacks):
    attempt = _one_attempt(shop, receiver, "redirect", django_capture_on_commit_callbacks)
    assert (attempt.status_code, attempt.response_excerpt) == (302, "moved")
    assert attempt.delivery.status == WebhookDelivery.PENDING  # to be retried
    assert [r["path"] for r in receiver.records()] == ["/hooks"]  # not /elsewhere


def test_a_large_answer_is_cut(shop, receiver, django_capture_on_commit_callbacks):
    attempt = _one_attempt(shop, receiver, "big", django_capture_on_commit_callbacks)
    assert attempt.status_code == 200 and attempt.delivery.status == WebhookDelivery.DELIVERED
    assert attempt.response_excerpt == "x" * 500


def test_an_answer_later_than_the_timeout_is_a_failure(shop, receiver, settings,
                                                        django_capture_on_commit_callbacks):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    attempt = _one_attempt(shop, receiver, "sleep:3", django_capture_on_commit_callbacks)
    assert attempt.status_code is None
    assert "timed out" in attempt.error.lower() or "timeout" in attempt.error.lower()
    assert attempt.delivery.attempts == 1 and attempt.delivery.status == WebhookDelivery.PENDING
    assert len(receiver.records()) == 1  # it did arrive, but the answer came too late


def test_a_server_error_is_a_failure(shop, receiver, django_capture_on_commit_callbacks):
    attempt = _one_attempt(shop, receiver, "fail", django_capture_on_commit_callbacks)
    assert (attempt.status_code, attempt.response_excerpt) == (500, "receiver says no")
    assert attempt.delivery.status == WebhookDelivery.PENDING
