"""Outgoing webhooks: the fan-out rate (deliveries per second to a local receiver) and the
delay from an event to its delivery, on the configured database (DATABASE_URL, else a
throwaway SQLite file).

    .venv/bin/python bench/webhooks.py [--endpoints 4] [--events 500] [--workers 8]

A vendor with --endpoints endpoints subscribed to key.changed, all on one receiver process
(tests/webhooks/receiver.py: it checks each request with the snippet of docs/webhooks.md
and logs when it arrived). Events are emitted through the real domain path (key_update of
one of 50 keys: one transaction each, the event and its deliveries written with it); each
commit hands its delivery ids to a pool of --workers threads calling
apps.webhooks.services.deliver, as the Celery workers of the "webhooks" queue do.

1. Burst: --events events as fast as one caller can change keys, delivered meanwhile:
   deliveries/s end to end, and the delay from the event's time (WebhookEvent.created) to
   its arrival at the receiver.
2. Paced: half as many events at 70 % of the rate found in 1: the delay at that rate.

The database is a fresh test database, dropped at the end. SQLite serialises writers: on
SQLite the pool has one worker and it takes turns with the callers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# On SQLite, one database caller at a time (a write lock taken in the middle of a
# transaction fails at once instead of waiting): the emitters and the worker take turns.
SERIAL: list = [contextlib.nullcontext()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=4)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    os.environ.setdefault("DEBUG", "1")
    os.environ["WEBHOOKS_ALLOW_PRIVATE_ADDRESSES"] = "1"  # the receiver is on 127.0.0.1
    tmp = tempfile.TemporaryDirectory()
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp.name}/bench.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "licensing_portal.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import get_runner

    if connection.vendor == "sqlite":
        # A file, not shared-cache memory: threads wait for the write lock instead of failing.
        settings.DATABASES["default"]["TEST"]["NAME"] = f"{tmp.name}/bench-test.sqlite3"
        args.workers, SERIAL[0] = 1, threading.Lock()
    runner = get_runner(settings)(verbosity=0, interactive=False)
    old_config = runner.setup_databases()  # a fresh test database, dropped at the end
    try:
        run(args, Path(tmp.name))
    finally:
        runner.teardown_databases(old_config)
        tmp.cleanup()


class Pool:
    """Worker threads delivering what the commits queue (the Celery queue, in-process)."""

    def __init__(self, workers: int) -> None:
        from apps.webhooks import services

        self.ids: queue.Queue[int | None] = queue.Queue()
        self.outcomes: dict[str, int] = {}
        self.lock = threading.Lock()
        self.gate = threading.Event()  # cleared: the workers wait (the queue fills up)
        self.gate.set()
        services._queue = lambda delivery_ids: [self.ids.put(i) for i in delivery_ids]
        self.threads = [threading.Thread(target=self._work, daemon=True)
                        for _ in range(workers)]
        for thread in self.threads:
            thread.start()

    def _work(self) -> None:
        from django.db import connection

        from apps.webhooks.services import deliver

        try:
            while (delivery_id := self.ids.get()) is not None:
                self.gate.wait()
                try:
                    with SERIAL[0]:
                        outcome = deliver(delivery_id)
                except Exception as exc:  # counted, not fatal: the figures say so
                    outcome = f"error {type(exc).__name__}: {exc}"[:120]
                with self.lock:
                    self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
                self.ids.task_done()
        finally:
            connection.close()

    def close(self) -> None:
        for _ in self.threads:
            self.ids.put(None)
        for thread in self.threads:
            thread.join()


def run(args: argparse.Namespace, tmp: Path) -> None:
    from django.db import connection
    from django.db.models import Count

    from apps.audit.log import Actor
    from apps.licensing import services
    from apps.licensing.services.vendors import vendor_create
    from apps.webhooks.models import WebhookDelivery, WebhookEvent
    from apps.webhooks.services import endpoint_create
    from tests.factories import UserFactory
    from tests.webhooks.support import Receiver

    receiver = Receiver(tmp / "receiver").start()
    try:
        actor = Actor.for_system("bench")
        vendor = vendor_create(owner=UserFactory(), name="Bench vendor")
        product = services.product_create(vendor=vendor, actor=actor, name="Bench product")
        keys = [services.key_create(product=product, actor=actor,
                                    spec=services.KeySpec(period=30))[0] for _ in range(50)]
        secrets = [endpoint_create(vendor=vendor, actor=actor, url=f"{receiver.url}/{n}",
                                   events=["key.changed"])[1]
                   for n in range(args.endpoints)]
        receiver.configure(secrets=secrets)
        pool = Pool(args.workers)
        counter, counter_lock = iter(range(10**9)), threading.Lock()

        def emit() -> None:
            with counter_lock:
                n = next(counter)
            with SERIAL[0]:
                services.key_update(key=keys[n % len(keys)], actor=actor, notes=f"change {n}")

        def emit_all(events: int, rate: float | None, emitters: int = 1) -> float:
            """Emit `events` from `emitters` threads, paced at `rate` events/s in all (None:
            as fast as they go); returns the seconds it took."""
            started = time.perf_counter()

            def one(share: int, offset: int) -> None:
                try:
                    for n in range(share):
                        if rate:  # paced: this thread's n-th event at its time
                            due = started + (n * emitters + offset) / rate
                            if (pause := due - time.perf_counter()) > 0:
                                time.sleep(pause)
                        emit()
                finally:
                    connection.close()

            threads = [threading.Thread(target=one, args=(
                events // emitters + (i < events % emitters), i)) for i in range(emitters)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return time.perf_counter() - started

        def delays(records: list[dict]) -> str:
            created = {e: c.timestamp() for e, c in WebhookEvent.objects.filter(
                event_id__in={r["event_id"] for r in records}).values_list("event_id",
                                                                          "created")}
            ms = sorted((r["ts"] - created[r["event_id"]]) * 1000 for r in records)
            q = statistics.quantiles(ms, n=100)
            return f"p50 {q[49]:.0f} ms, p95 {q[94]:.0f} ms, max {ms[-1]:.0f} ms"

        def received(since: int) -> list[dict]:
            records = receiver.records()[since:]
            pairs = {(r["event_id"], r["path"]) for r in records}
            verified = sum(r["verified"] for r in records)
            print(f"  {len(records)} deliveries received, {len(pairs)} distinct, "
                  f"{verified} verified by the documented snippet")
            return records

        print(f"database: {connection.vendor}; {args.endpoints} endpoints on one local "
              f"receiver process; {args.workers} delivery threads")

        # 1. Fan-out rate: the events are recorded first, then the pool sends them all.
        pool.gate.clear()
        took = emit_all(args.events, None, emitters=4)
        deliveries = WebhookDelivery.objects.count()
        print(f"emitted {args.events} events ({deliveries} deliveries queued) in {took:.2f} s "
              f"({args.events / took:.0f} events/s through key_update, 4 callers)")
        started = time.perf_counter()
        pool.gate.set()
        pool.ids.join()
        elapsed = time.perf_counter() - started
        rate = deliveries / elapsed
        print(f"fan-out: {deliveries} deliveries sent in {elapsed:.2f} s: {rate:.0f} "
              f"deliveries/s = {rate / args.endpoints:.0f} events/s to {args.endpoints} "
              "endpoints each")
        received(0)

        # 2. The delay from the event to its arrival, events coming at 70 % of that rate.
        paced = 0.7 * rate / args.endpoints
        events = max(min(int(paced * 10), args.events), 20)  # about 10 s
        since = len(receiver.records())
        took = emit_all(events, paced, emitters=4)
        pool.ids.join()
        print(f"paced: {events} events at {paced:.0f} events/s ({events * args.endpoints} "
              f"deliveries) in {took:.2f} s ({events / took:.0f} events/s reached)")
        print(f"  delay event -> received: {delays(received(since))}")
        pool.close()
        statuses = dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("id")))
        print(f"deliveries by status: {statuses}; worker outcomes: {pool.outcomes}")
    finally:
        receiver.stop()


if __name__ == "__main__":
    main()
