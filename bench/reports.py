"""Reports at scale: a year of Web API log in PostgreSQL, partitioned by month, then every
report timed over a 30-day range, and a month pruned.

    DATABASE_URL=postgres://... .venv/bin/python bench/reports.py [--rows 20000000] [--repeat 3]

Runs in a fresh test database (dropped at the end; --keepdb keeps it for the next run). The
newest month (--rows / --months rows) goes in through the CSV import (`import_webapi_log`'s
code path), timed: floating build agents (heartbeats, releases, refusals) on 200 floating
keys, node-locked check-ins and key reads on 1,800 keys, failures, guessed keys, 25
countries. Floating traffic comes in sessions (a heartbeat every 5 minutes for 1-8 hours,
then a release or expiry), as real clients send it. The older months are filled in SQL with
that month's rows shifted back a month at a time (the same mix, the same indexes to keep up),
so the table holds --rows rows over --months months. Prints the import rate (goal: 25,000
rows/s or more), per report the best of --repeat runs over the last 30 days (goal: under 1 s
each), and the time to prune the oldest month (goal: under 1 s).
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

DAYS = 31  # the imported month; the older months are copies of it, shifted back
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
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--months", type=int, default=12)
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

    from apps.usage.weblog_io import webapi_log_import

    rng = np.random.default_rng(7)
    end = dt.datetime.now(dt.UTC)
    per_month = max(1, args.rows // args.months)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.csv"
        started = time.perf_counter()
        size = write_log(path, per_month, 1, keys, end, rng)
        written = time.perf_counter() - started
        started = time.perf_counter()
        with path.open(newline="") as lines:
            result = webapi_log_import(vendor=vendor, lines=lines)
        took = time.perf_counter() - started
    print(f"import: {result.inserted:,} rows in {took:.1f} s = {result.inserted / took:,.0f} "
          f"rows/s (goal >= 25,000; CSV of {size:,} rows written beforehand in {written:.1f} s)")
    started = time.perf_counter()
    fill(vendor, end, args.months)
    print(f"older months filled in SQL: {args.months - 1} x {result.inserted:,} rows in "
          f"{time.perf_counter() - started:.0f} s")
    from apps.usage.sessions import floating_sessions_refresh

    started = time.perf_counter()
    seats = floating_sessions_refresh(vendor=vendor)
    print(f"floating sessions condensed from the log: {seats:,} seats in "
          f"{time.perf_counter() - started:.1f} s (once after a bulk load; live traffic is "
          "condensed incrementally)")


def fill(vendor, end: dt.datetime, months: int) -> None:
    """The older months: copies of the imported month shifted back DAYS days at a time,
    staged in an unindexed table, then each calendar month's rows go into a fresh table that
    is attached as that month's partition (its indexes built once, by sorting, rather than
    row by row); a month that has a partition already gets its rows by INSERT."""
    from django.db import connection

    from apps.usage.partitions import TABLE, month_partition
    from apps.usage.partitions import months as month_range

    columns = ("vendor_id, time, product_id, key, ip, state, machine_code, friendly_name, "
               "floating_expires, method, user_agent, do_int_value, do_id, token_id, "
               "country, source_id")
    shift = dt.timedelta(days=DAYS)

    def literal(moment: dt.datetime) -> str:
        return f"'{moment:%Y-%m-%d %H:%M:%S}+00'"

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE UNLOGGED TABLE bench_fill AS SELECT {columns} "
                       f"FROM {TABLE} WITH NO DATA")
        for back in range(1, months):
            cursor.execute(
                f"INSERT INTO bench_fill ({columns}) SELECT vendor_id, time - %s, "
                "product_id, key, ip, state, machine_code, friendly_name, "
                "floating_expires - %s, method, user_agent, do_int_value, do_id, token_id, "
                f"country, source_id + %s FROM {TABLE} WHERE vendor_id = %s AND time > %s",
                [shift * back, shift * back, back * 10**9, vendor.pk, end - shift])
        cursor.execute(f"SELECT tableoid::regclass::text FROM {TABLE} GROUP BY 1")
        existing = {name for (name,) in cursor.fetchall()}
        cursor.execute("SELECT to_regclass(name)::text FROM unnest(%s::text[]) AS name",
                       [[month_partition(end - shift * back).name for back in range(months + 1)]])
        existing |= {name for (name,) in cursor.fetchall() if name}
        for month in month_range(end - shift * months, end - shift):
            rows = f"time >= {literal(month.start)} AND time < {literal(month.end)}"
            if month.name in existing:
                cursor.execute(f"INSERT INTO {TABLE} ({columns}) "
                               f"SELECT {columns} FROM bench_fill WHERE {rows}")
                continue
            cursor.execute(f"CREATE TABLE {month.name} (LIKE {TABLE} INCLUDING DEFAULTS)")
            cursor.execute(f"INSERT INTO {month.name} (id, {columns}) "
                           f"SELECT nextval(pg_get_serial_sequence('{TABLE}', 'id')), "
                           f"{columns} FROM bench_fill WHERE {rows}")
            cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {month.name} FOR VALUES "
                           f"FROM ({literal(month.start)}) TO ({literal(month.end)})")
        cursor.execute("DROP TABLE bench_fill")
        cursor.execute(f"ANALYZE {TABLE}")


def prune_month() -> None:
    """Drop the oldest month, as retention does, and time it."""
    from apps.usage.partitions import weblog_partitions, weblog_partitions_drop

    oldest = weblog_partitions()[0]
    started = time.perf_counter()
    dropped = weblog_partitions_drop(before=oldest.end)
    took = time.perf_counter() - started
    rows = sum(count for _, count in dropped)
    print(f"\nprune the oldest month ({oldest.name}): {rows:,} rows in {took:.3f} s "
          f"({'ok' if took < 1 else 'SLOW'}, goal < 1 s)")


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
    from apps.usage.partitions import weblog_partitions

    total = WebApiLog.objects.count()
    months = len([p for p in weblog_partitions() if WebApiLog.objects.filter(
        time__gte=p.start, time__lt=p.end).exists()])
    print(f"\n{total:,} log rows in {months} monthly partitions; reports over the last 30 "
          f"days, best of {args.repeat}:\n")
    print(f"{'report':42} {'seconds':>8}  goal < 1 s")
    for name, seconds in reports(vendor, products, customers, keys, args.repeat):
        print(f"{name:42} {seconds:8.3f}  {'ok' if seconds < 1 else 'SLOW'}")
    if not args.keepdb:
        prune_month()


if __name__ == "__main__":
    main()
