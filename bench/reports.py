"""Reports at scale: load millions of Web API log rows into PostgreSQL through the CSV import
(`import_webapi_log`'s code path), then time every report over a 30-day range.

    DATABASE_URL=postgres://... .venv/bin/python bench/reports.py [--rows 5000000] [--repeat 3]

Runs in a fresh test database (dropped at the end). The log spans 90 days: floating build
agents (heartbeats, releases, refusals) on 200 floating keys, node-locked check-ins and key
reads on 1,800 keys, failures, guessed keys, 25 countries. Floating traffic comes in sessions
(a heartbeat every 5 minutes for 1-8 hours, then a release or expiry), as real clients send
it. Prints the import rate (goal: 1 million rows in under 60 s) and, per report, the best of
--repeat runs (goal: under 1 s).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAYS = 90
FLOATING_KEYS, NODE_LOCKED_KEYS = 200, 1800
COUNTRIES = ["SE", "DE", "US", "GB", "FR", "NL", "PL", "IN", "BR", "CA", "AU", "JP", "ES",
             "IT", "NO", "FI", "DK", "AT", "CH", "BE", "IE", "PT", "CZ", "MX", "ZA"]
# Shares of the rows that are not floating heartbeats: (share of all rows, state).
MIX = [(0.30, 1010), (0.15, 2010), (0.03, 2011), (0.02, 1020), (0.02, 2020), (0.01, 2021),
       (0.01, 2024)]
FLOATING_SHARE = 1 - sum(share for share, _ in MIX)  # heartbeats and releases
HEARTBEAT_S, FLOATING_INTERVAL_S = 300, 600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--import-sample", type=int, default=1_000_000,
                        help="rows of the first file, whose import time is reported alone")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keepdb", action="store_true",
                        help="keep the loaded database for the next run, and reuse a kept one")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("bench/reports.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "licensing_portal.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import get_runner

    runner = get_runner(settings)(verbosity=0, interactive=False, keepdb=args.keepdb)
    old_config = runner.setup_databases()
    try:
        run(args)
    finally:
        runner.teardown_databases(old_config)


def catalogue():
    from apps.accounts.models import User
    from apps.audit.log import Actor
    from apps.licensing import services
    from apps.licensing.models import Customer, LicenseKey
    from apps.licensing.services.vendors import vendor_create

    actor = Actor.for_system("bench")
    owner = User.objects.create_user(username="bench", email="bench@example.com")
    vendor = vendor_create(owner=owner, name="Bench vendor")
    products = [services.product_create(vendor=vendor, actor=actor, name=f"Product {n}")
                for n in (1, 2)]
    customers = Customer.objects.bulk_create(
        [Customer(vendor=vendor, name=f"Customer {n}") for n in range(100)])
    keys = []
    for n in range(FLOATING_KEYS + NODE_LOCKED_KEYS):
        product = products[n % 2]
        keys.append(LicenseKey(product=product, serial=n + 1, key=_key_string(n),
                               expires=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
                               customer=customers[n % 100],
                               max_no_of_machines=8 if n < FLOATING_KEYS else 3))
    LicenseKey.objects.bulk_create(keys, batch_size=1000)
    return vendor, products, customers, keys


def _key_string(n: int) -> str:
    letters = "".join(chr(65 + (n // 26 ** i) % 26) for i in range(20))
    return "-".join(letters[i:i + 5] for i in range(0, 20, 5))


def floating_sessions(rows: int, end: float, rng: np.random.Generator) -> tuple:
    """About `rows` rows of build agents: sessions of 1 to 8 hours, a heartbeat (2014) every
    5 minutes with jitter, each seat valid 10 minutes; 80 % end with a release (6011), the
    rest expire. Returns (times, states, key index, machine) arrays."""
    sessions = max(1, rows // 55)
    starts = rng.uniform(end - DAYS * 86400, end, sessions)
    beats = rng.integers(12, 97, sessions)  # 1 to 8 hours of 5-minute heartbeats
    released = rng.random(sessions) < 0.8
    keys = rng.integers(0, FLOATING_KEYS, sessions)
    machines = rng.integers(0, 12, sessions)
    which = np.repeat(np.arange(sessions), beats)
    offsets = np.arange(len(which)) - np.repeat(np.cumsum(beats) - beats, beats)
    times = starts[which] + offsets * HEARTBEAT_S + rng.uniform(-30, 30, len(which))
    states = np.full(len(which), 2014)
    last = np.cumsum(beats) - 1
    release_times = times[last[released]] + HEARTBEAT_S
    times = np.concatenate([times, release_times])
    states = np.concatenate([states, np.full(released.sum(), 6011)])
    which = np.concatenate([which, np.flatnonzero(released)])
    keep = times < end
    return times[keep], states[keep], keys[which][keep], machines[which][keep]


def other_calls(rows: int, end: float, keys_total: int, rng: np.random.Generator) -> tuple:
    shares = np.array([share for share, _ in MIX])
    states = np.array([state for _, state in MIX])[
        rng.choice(len(MIX), size=rows, p=shares / shares.sum())]
    times = rng.uniform(end - DAYS * 86400, end, rows)
    refused = states == 2024  # a floating key with every seat taken
    key_index = np.where(refused, rng.integers(0, FLOATING_KEYS, rows),
                         rng.integers(FLOATING_KEYS, keys_total, rows))
    return times, states, key_index, rng.integers(0, 12, rows)


def write_log(path: Path, rows: int, first_id: int, keys, end: dt.datetime,
              rng: np.random.Generator) -> int:
    """About `rows` log lines in the export format over the DAYS days before `end`."""
    parts = [floating_sessions(int(rows * FLOATING_SHARE), end.timestamp(), rng),
             other_calls(rows - int(rows * FLOATING_SHARE), end.timestamp(), len(keys), rng)]
    times, states, key_index, machines = (np.concatenate(arrays) for arrays in zip(*parts,
                                                                                  strict=True))
    order = np.argsort(times, kind="stable")
    countries = rng.integers(0, len(COUNTRIES), len(order))
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["Id", "ProductId", "Key", "IP", "Time", "State", "MachineCode",
                      "FriendlyName", "FloatingExpires", "Method", "Country"])
        for n, i in enumerate(order):
            key, t, state = keys[key_index[i]], int(times[i]), int(states[i])
            out.writerow([
                first_id + n, key.product_id,
                f"GUESS-{first_id + n:014d}" if state == 2020 else key.key,
                f"198.51.{key_index[i] % 256}.{machines[i]}", t, state,
                f"m-{key_index[i]}-{machines[i]}", f"host-{machines[i]}",
                t + FLOATING_INTERVAL_S if state == 2014 else "",
                "key.Deactivate" if state == 6011 else
                ("key.GetKey" if state in (1010, 1020) else "key.Activate"),
                COUNTRIES[countries[i]]])
    return len(order)


def load(vendor, keys, args) -> None:
    from django.db import connection

    from apps.usage.weblog_io import webapi_log_import

    rng = np.random.default_rng(7)
    end = dt.datetime.now(dt.UTC)
    sizes = [min(args.import_sample, args.rows)]
    while sum(sizes) < args.rows:
        sizes.append(min(2_000_000, args.rows - sum(sizes)))
    with tempfile.TemporaryDirectory() as folder:
        first_id = 1
        for n, size in enumerate(sizes):
            path = Path(folder) / f"log-{n}.csv"
            started = time.perf_counter()
            size = write_log(path, size, first_id, keys, end, rng)
            written = time.perf_counter() - started
            started = time.perf_counter()
            with path.open(newline="") as lines:
                result = webapi_log_import(vendor=vendor, lines=lines)
            took = time.perf_counter() - started
            print(f"import file {n + 1}: {result.inserted:>9,} rows in {took:6.1f} s "
                  f"({result.inserted / took:,.0f} rows/s; CSV written in {written:.1f} s)")
            first_id += size
            path.unlink()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE licensing_webapilog")
    from apps.usage.sessions import floating_sessions_refresh

    started = time.perf_counter()
    seats = floating_sessions_refresh(vendor=vendor)
    print(f"floating sessions condensed from the log: {seats:,} seats in "
          f"{time.perf_counter() - started:.1f} s (once after an import; live traffic is "
          "condensed incrementally)")


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def reports(vendor, products, customers, keys, repeat: int) -> list[tuple[str, float]]:
    from apps.reports import usage
    from apps.reports.floating import floating_usage
    from apps.reports.scope import report_keys
    from apps.usage.weblog_io import webapi_log_search

    end = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(days=30)
    everything = usage.Scope(vendor=vendor, start=start, end=end)
    product = usage.Scope(vendor=vendor, start=start, end=end, product_id=products[0].pk)
    customer_keys = report_keys(vendor=vendor, customer_id=customers[0].pk)
    one_key = [(keys[0].product_id, keys[0].key)]
    cases = {
        "floating usage, all keys, per hour": lambda: floating_usage(
            vendor=vendor, start=start, end=end),
        "floating usage, one product, per day": lambda: floating_usage(
            vendor=vendor, start=start, end=end, product_id=products[0].pk, resolution="day"),
        "floating usage, one customer's keys": lambda: floating_usage(
            vendor=vendor, start=start, end=end, keys=customer_keys),
        "floating usage, one key, per hour": lambda: floating_usage(
            vendor=vendor, start=start, end=end, keys=one_key),
        "active devices per day, all": lambda: usage.active_devices(everything),
        "active devices per day, one product": lambda: usage.active_devices(product),
        "end users per month": lambda: usage.end_users(everything),
        "new keys per month": lambda: usage.new_keys(everything),
        "verification ratio per key": lambda: usage.verification_by_key(everything),
        "top failing keys": lambda: usage.top_failing_keys(everything),
        "activations by country": lambda: usage.activations_by_country(everything),
        "log browser, first page, one key": lambda: list(webapi_log_search(
            vendor=vendor, product_id=keys[0].product_id, key=keys[0].key)[:101]),
        "log browser, first page, failures": lambda: list(webapi_log_search(
            vendor=vendor, state_group="failure")[:101]),
    }
    return [(name, timed(fn, repeat)) for name, fn in cases.items()]


def kept() -> tuple | None:
    """The catalogue of a database kept by an earlier --keepdb run, if it has one."""
    from apps.accounts.models import Vendor
    from apps.licensing.models import Customer, LicenseKey, Product

    vendor = Vendor.objects.filter(name="Bench vendor").first()
    if vendor is None:
        return None
    return (vendor, list(Product.objects.filter(vendor=vendor).order_by("pk")),
            list(Customer.objects.filter(vendor=vendor).order_by("pk")),
            list(LicenseKey.objects.filter(product__vendor=vendor).order_by("serial")))


def run(args: argparse.Namespace) -> None:
    from apps.usage.models import WebApiLog

    reused = kept() if args.keepdb else None
    if reused:
        vendor, products, customers, keys = reused
        print("Reusing the database kept by an earlier --keepdb run.")
    else:
        vendor, products, customers, keys = catalogue()
        load(vendor, keys, args)
    total = WebApiLog.objects.count()
    print(f"\n{total:,} log rows; reports over the last 30 days, best of {args.repeat}:\n")
    print(f"{'report':42} {'seconds':>8}  goal < 1 s")
    for name, seconds in reports(vendor, products, customers, keys, args.repeat):
        print(f"{name:42} {seconds:8.3f}  {'ok' if seconds < 1 else 'SLOW'}")


if __name__ == "__main__":
    main()
