"""Two weeks of Web API log for the demo vendor's keys, so the reports have something to show
on a fresh `make run`: build agents sharing a 5-seat floating key on workdays (with refusals
when a sixth agent starts), daily node-locked check-ins, key reads and a few guessed keys."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from apps.accounts.models import Vendor
from apps.licensing.models import LicenseKey
from apps.usage import states
from apps.usage.models import WebApiLog

DAYS = 14
HEARTBEAT = dt.timedelta(minutes=5)
FLOATING_INTERVAL = dt.timedelta(minutes=10)
AGENTS = [f"build-agent-{n:02d}" for n in range(1, 8)]


def usage_demo_seed(*, vendor: Vendor, floating: LicenseKey, node_locked: LicenseKey,
                    seed: int = 7) -> int:
    """Write the demo log once (nothing when the floating key already has log rows)."""
    if WebApiLog.objects.filter(vendor=vendor, key=floating.key).exists():
        return 0
    rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
    today = timezone.now().astimezone(dt.UTC).replace(hour=0, minute=0, second=0,
                                                      microsecond=0)
    rows: list[WebApiLog] = []
    for back in range(DAYS, 0, -1):
        day = today - dt.timedelta(days=back)
        if day.weekday() < 5:
            rows += _build_day(vendor, floating, day, rng)
        rows += _office_day(vendor, node_locked, day, rng)
    rows.sort(key=lambda row: row.time)
    WebApiLog.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _row(vendor: Vendor, key: LicenseKey, time: dt.datetime, state: int, **fields) -> WebApiLog:
    return WebApiLog(vendor=vendor, product_id=key.product_id, key=key.key, time=time,
                     state=state, method=fields.pop("method", "key.Activate"), **fields)


def _build_day(vendor: Vendor, key: LicenseKey, day: dt.datetime, rng: random.Random
               ) -> list[WebApiLog]:
    """Agents start between 07:00 and 11:00 and heartbeat until 15:00-19:00; a seat frees
    when an agent stops (release) or crashes (expiry). A sixth agent is refused."""
    rows: list[WebApiLog] = []
    holding: list[dt.datetime] = []
    busy = rng.randint(4, len(AGENTS))
    plans = sorted((day + dt.timedelta(hours=rng.uniform(7, 11)),
                    day + dt.timedelta(hours=rng.uniform(15, 19)), agent)
                   for agent in rng.sample(AGENTS, busy))
    for start, stop, agent in plans:
        holding = [end for end in holding if end > start]
        if len(holding) >= key.max_no_of_machines:
            rows.append(_row(vendor, key, start, states.ACTIVATION_FLOATING_LIMIT,
                             machine_code=agent, friendly_name=agent, ip="198.51.100.4",
                             country="SE"))
            continue
        time = start
        while time < stop:
            rows.append(_row(vendor, key, time, states.ACTIVATION_FLOATING, machine_code=agent,
                             friendly_name=agent, ip="198.51.100.4", country="SE",
                             floating_expires=time + FLOATING_INTERVAL))
            time += HEARTBEAT
        if rng.random() < 0.8:  # a clean stop releases; otherwise the seat expires
            rows.append(_row(vendor, key, time, states.FLOATING_RELEASED, machine_code=agent,
                             ip="198.51.100.4", country="SE", method="key.Deactivate"))
            holding.append(time)
        else:
            holding.append(time - HEARTBEAT + FLOATING_INTERVAL)
    return rows


def _office_day(vendor: Vendor, key: LicenseKey, day: dt.datetime, rng: random.Random
                ) -> list[WebApiLog]:
    rows = []
    for machine, name, country in (("7c4a8d09ca3762af61e59520943dc26494f8941b", "ALICE-LAPTOP",
                                    "GB"),
                                   ("b1d5781111d84f7b3fe45a0852e59758cd7a87e5", "ALICE-DESKTOP",
                                    "GB")):
        if rng.random() < 0.85:
            time = day + dt.timedelta(hours=rng.uniform(7, 10))
            rows.append(_row(vendor, key, time, states.ACTIVATION_EXISTING, machine_code=machine,
                             friendly_name=name, ip="203.0.113.10", country=country))
            rows.append(_row(vendor, key, time + dt.timedelta(hours=4), states.VALIDATION_OK,
                             ip="203.0.113.10", country=country, method="key.GetKey"))
    if rng.random() < 0.3:  # someone guessing keys
        guess = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(20))
        fake = "-".join(guess[i:i + 5] for i in range(0, 20, 5))
        rows.append(WebApiLog(vendor=vendor, product_id=key.product_id, key=fake,
                              time=day + dt.timedelta(hours=rng.uniform(0, 24)),
                              state=states.ACTIVATION_FAILED, ip="192.0.2.66", country="",
                              machine_code="unknown", method="key.Activate"))
    return rows
