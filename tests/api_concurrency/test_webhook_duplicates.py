"""Stripe delivers an event late, twice, out of order or concurrently: the key is issued
once. Real processes (gunicorn, 4 workers x 8 threads) against PostgreSQL, 20 deliveries
released at the same instant, as in test_bounded_increment.py. Checked: without the unique
StripeEvent row and the order's row lock, parallel deliveries issue several keys."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.commerce.models import Order, StripeEvent
from apps.core.hashing import sha256_hex
from apps.licensing.models import LicenseKey
from tests import servers
from tests.commerce.fake_stripe import sign
from tests.commerce.shop import Shop, make_shop

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL: set DATABASE_URL=postgres://... to run"),
]

DELIVERIES = 20


@pytest.fixture(scope="module")
def base_url(django_db_setup, tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    process, base = servers.start(log, workers=4, threads=8, timeout=60)
    try:
        servers.wait_until_up(process, base, log)
        yield base
    finally:
        servers.stop(process)


@pytest.fixture
def shop(transactional_db) -> Shop:
    return make_shop("Parallel Shop")


def _order(shop: Shop) -> Order:
    return Order.objects.create(
        vendor=shop.vendor, form=shop.form, option=shop.one_seat, description="Buy Editor",
        amount=4900, currency="usd", email="buyer@example.org",
        checkout_session_id="cs_test_parallel", return_token_hash=sha256_hex("t"))


def _events(order: Order) -> tuple[dict, dict]:
    metadata = {"portal_order": str(order.pk), "portal_vendor": str(order.vendor_id)}
    completed = {"id": "evt_completed", "object": "event", "type": "checkout.session.completed",
                 "data": {"object": {"id": "cs_test_parallel", "object": "checkout.session",
                                     "mode": "payment", "payment_status": "paid",
                                     "status": "complete", "metadata": metadata,
                                     "payment_intent": "pi_parallel", "customer": "cus_1",
                                     "customer_details": {"email": "buyer@example.org"}}}}
    succeeded = {"id": "evt_succeeded", "object": "event", "type": "payment_intent.succeeded",
                 "data": {"object": {"id": "pi_parallel", "object": "payment_intent",
                                     "metadata": metadata, "status": "succeeded"}}}
    return completed, succeeded


def _deliver_all(url: str, secret: str, events: list[dict]) -> list[int]:
    go = threading.Event()

    def post(event: dict) -> int:
        payload = json.dumps(event).encode()
        request = urllib.request.Request(url, data=payload, headers={
            "Content-Type": "application/json",
            "Stripe-Signature": sign(payload, secret, timestamp=int(time.time()))})
        go.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        futures = [pool.submit(post, event) for event in events]
        go.set()
        return [f.result() for f in futures]


def test_20_concurrent_deliveries_of_one_event_issue_one_key(base_url, shop):
    order = _order(shop)
    completed, _ = _events(order)

    statuses = _deliver_all(base_url + shop.webhook_url, shop.webhook_secret,
                            [completed] * DELIVERIES)

    assert statuses == [200] * DELIVERIES
    order.refresh_from_db()
    assert order.status == Order.PAID and order.key is not None
    assert LicenseKey.objects.filter(product=shop.product).count() == 1
    assert StripeEvent.objects.filter(vendor=shop.vendor).count() == 1


def test_both_payment_events_racing_each_other_issue_one_key(base_url, shop):
    order = _order(shop)
    completed, succeeded = _events(order)

    statuses = _deliver_all(base_url + shop.webhook_url, shop.webhook_secret,
                            [completed, succeeded] * (DELIVERIES // 2))

    assert Counter(statuses) == {200: DELIVERIES}
    order.refresh_from_db()
    assert order.key is not None and order.payment_intent_id == "pi_parallel"
    assert LicenseKey.objects.filter(product=shop.product).count() == 1
    assert sorted(StripeEvent.objects.values_list("type", flat=True)) == [
        "checkout.session.completed", "payment_intent.succeeded"]
