"""Web API throughput and latency on PostgreSQL, with production settings.

    DATABASE_URL=postgres://portal:portal@127.0.0.1:5432/portal .venv/bin/python bench/api.py

What it does, all on loopback:
1. creates a fresh database next to DATABASE_URL's (`<name>_bench_<pid>`, dropped at the end;
   `--in-place` uses DATABASE_URL's own database instead), migrates it and seeds a vendor,
   a product, two keys, an activated device and an access token, in this process;
2. starts `gunicorn benchsite.wsgi -w 2` (`--workers`) on 127.0.0.1 with DEBUG=0, a random
   SECRET_KEY and the bench settings (bench/benchsite: the real settings, URLs and WSGI
   application, the Web API on its own middleware stack, plus /bench/sign, a plain Django
   view that only builds and signs the re-activation payload, served with no project
   middleware: the floor);
3. drives each scenario from a separate process with N client threads for a fixed time after a
   short warm-up, the scenarios taking turns (`--rounds`, so that a change in the machine's
   load weighs on all of them alike; "new", which adds a device per call, takes its turns
   last), and prints requests/s and p50/p99 latency:
     hot      key/Activate of an already activated device (what every client does at start-up)
     hot-ips  the same, each call from a new client IP (X-Forwarded-For), as start-up calls
              come: each IP's rate-limit budget is counted once (no lease, apps.core.ratelimit)
     new      key/Activate of a new device each time (key with 1,000,000 seats)
     getkey   key/GetKey
     bare     /bench/sign
   and the ratios hot/bare, hot-ips/bare and getkey/bare (goal: at least 0.5 each), with each
   round's own ratio and how steady the host's CPU speed was meanwhile (host_speed: a fixed
   piece of work timed before each turn; on a shared host it varies up to twofold); then the
   CPU time each request cost the load generator, gunicorn, the bench database's PostgreSQL
   backends and (when local) Redis, read from /proc: what other work on a shared machine
   moves least;
4. stops gunicorn and drops the bench database.

`--profile [SCENARIOS]` adds a cProfile of the named scenarios (default: the hot path and the
bare view), run in this process through Django's test client (no gunicorn, no network), to
show where a request's time goes.
REDIS_URL, when set, is passed on: production runs the cache (rate-limit counters) on Redis.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import multiprocessing
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import warnings
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
HOST = "127.0.0.1"
HOT_MACHINE = "bench-hot-machine"


@dataclass
class Scenario:
    name: str
    title: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    new_machine_each_time: bool = False
    # A new client address each call (X-Forwarded-For; the bench trusts it): start-up calls
    # come from many IPs, each counted once against its own rate-limit budget.
    new_ip_each_time: bool = False


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    first_error: str = ""


# --- Load generation (runs in a child process; stdlib only) -------------------------------


def _client_thread(port: int, scenario: Scenario, until: float, budget: list[int], tag: str,
                   out: list[float], errors: list[str]) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    n = 0
    while time.perf_counter() < until:
        with _budget_lock:
            if budget[0] <= 0:
                break
            budget[0] -= 1
        params = scenario.params
        if scenario.new_machine_each_time:
            params = {**params, "MachineCode": f"new-{tag}-{n}"}
        sent = headers
        if scenario.new_ip_each_time:
            sent = {**headers, "X-Forwarded-For": _address(tag, n)}
        n += 1
        body = urllib.parse.urlencode(params)
        start = time.perf_counter()
        try:
            conn.request("POST", scenario.path, body, sent)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        out.append((time.perf_counter() - start) * 1000)
        # A success envelope ends with "result": 0, "message": ""} (added last, as the API does).
        if response.status != 200 or not payload.endswith(b'"result": 0, "message": ""}'):
            errors.append(f"HTTP {response.status}: {payload[-200:]!r}")
    conn.close()


_budget_lock = threading.Lock()


def _address(tag: str, n: int) -> str:
    """A documentation-range IPv6 address (2001:db8::/32) of its own for each call: the
    thread's tag in the third and fourth groups, the call's number in the last two."""
    thread = zlib.crc32(tag.encode())
    return f"2001:db8:{thread >> 16:x}:{thread & 0xffff:x}::{n >> 16:x}:{n & 0xffff:x}"


def drive(port: int, scenario: Scenario, threads: int, seconds: float,
          max_requests: int, tag: str) -> Result:
    """Run `threads` clients against one scenario for `seconds` (or `max_requests`). Each
    thread keeps one http.client connection; gunicorn's sync workers close it after every
    response and http.client reopens it, as real clients would."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    budget = [max_requests]
    start = time.perf_counter()
    until = start + seconds
    workers = [
        threading.Thread(target=_client_thread,
                         args=(port, scenario, until, budget, f"{tag}-{i}", latencies[i], errors))
        for i in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    merged = [x for per_thread in latencies for x in per_thread]
    return Result(len(merged), len(errors), elapsed, merged, errors[0] if errors else "")


# --- Set-up: database, seed data, gunicorn -------------------------------------------------


def _fail(message: str) -> None:
    print(f"bench/api.py: {message}", file=sys.stderr)
    sys.exit(2)


def _database_settings() -> dict:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        _fail("DATABASE_URL is not set. The bench needs PostgreSQL, e.g.\n"
              "  DATABASE_URL=postgres://portal:portal@127.0.0.1:5432/portal make bench")
    import dj_database_url

    db = dj_database_url.parse(url)
    if "postgresql" not in db["ENGINE"]:
        _fail(f"DATABASE_URL must point at PostgreSQL, not {db['ENGINE']}.")
    return db


def _admin_connection(db: dict):
    import psycopg

    return psycopg.connect(dbname=db["NAME"], user=db["USER"] or None,
                           password=db["PASSWORD"] or None, host=db["HOST"] or None,
                           port=db["PORT"] or None, autocommit=True)


def _create_database(db: dict, name: str) -> None:
    import psycopg
    from psycopg import sql

    try:
        with _admin_connection(db) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.InsufficientPrivilege:
        _fail(f"the role {db['USER']!r} may not create databases: grant CREATEDB, or run "
              "with --in-place to bench in DATABASE_URL's own database.")


def _drop_database(db: dict, name: str) -> None:
    from psycopg import sql

    with _admin_connection(db) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def _database_url(db: dict, name: str) -> str:
    quote = urllib.parse.quote
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or ""
    if host.startswith("/"):  # Unix socket directory
        return f"postgres://{auth}@/{quote(name, safe='')}?host={quote(host, safe='')}"
    return f"postgres://{auth}@{host or HOST}:{db['PORT'] or 5432}/{quote(name, safe='')}"


@dataclass
class Seed:
    token: str
    product_id: int
    hot_key: str
    hot_key_id: int
    many_key: str


def _seed() -> Seed:
    from apps.accounts.models import User
    from apps.audit.log import Actor
    from apps.licensing.services import KeySpec, key_create, product_create, token_create
    from apps.licensing.services.seats import Device, key_activate
    from apps.licensing.services.vendors import vendor_create

    actor = Actor.for_system("bench")
    tag = f"bench-{os.getpid()}"  # unique, for --in-place runs against a kept database
    owner = User.objects.create_user(username=tag, email=f"{tag}@example.invalid")
    vendor = vendor_create(owner=owner, name="Bench vendor")
    product = product_create(vendor=vendor, actor=actor, name="Bench product")
    hot = key_create(product=product, actor=actor,
                     spec=KeySpec(period=365, max_no_of_machines=10, notes="bench hot key"))[0]
    key_activate(key=hot, device=Device(HOT_MACHINE, "BENCH-PC", HOST))
    many = key_create(product=product, actor=actor,
                      spec=KeySpec(period=365, max_no_of_machines=1_000_000))[0]
    _, token = token_create(vendor=vendor, actor=actor, name="bench",
                            permissions=["key.Activate", "key.GetKey"])
    return Seed(token, product.pk, hot.key, hot.pk, many.key)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _start_gunicorn(env: dict[str, str], port: int, log: Path, workers: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "benchsite.wsgi", "-w", str(workers),
               "-b", f"{HOST}:{port}", "--pythonpath", str(BENCH_DIR), "--chdir", str(ROOT),
               "--log-level", "warning"]
    with log.open("wb") as log_file:  # gunicorn's and Django's messages
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log_file,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/bench/sign")
            if conn.getresponse().status == 200:
                conn.close()
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    _fail(f"gunicorn did not answer within 60 s:\n{log.read_text()[-3000:]}")
    raise AssertionError  # unreachable


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- CPU accounting (Linux /proc) -----------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


class CpuMeter:
    """CPU time spent by each side of the bench while it runs: the load generator, gunicorn
    (master and workers), the bench database's PostgreSQL backends, Redis. On a machine
    shared with other work, this is the figure that other work moves least.

    Processes come and go meanwhile (a database connection reaching CONN_MAX_AGE, a worker
    recycled): they are sampled every half second, so one that ends is counted up to its last
    sample, and one that starts is counted from its start."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self._baseline: dict[str, dict[int, float]] = {}
        self._last: dict[str, dict[int, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> dict[str, dict[int, float]]:
        return {name: {pid: cpu_seconds(pid) for pid in pids()}
                for name, pids in self.groups.items()}

    def start(self) -> None:
        self._baseline = self._sample()
        self._last = {name: dict(pids) for name, pids in self._baseline.items()}
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._merge(self._sample())

    def _merge(self, sample: dict[str, dict[int, float]]) -> None:
        for name, pids in sample.items():
            for pid, cpu in pids.items():
                if cpu:  # 0: the process ended between listing and reading it
                    self._last[name][pid] = cpu

    def stop(self) -> dict[str, float]:
        """The CPU seconds each group spent since start()."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._merge(self._sample())
        return {name: sum(cpu - self._baseline[name].get(pid, 0.0) for pid, cpu in pids.items())
                for name, pids in self._last.items()}


def local_redis_pid(redis_url: str) -> int:
    """The Redis server's process id when it runs on this machine, else 0."""
    if not redis_url:
        return 0
    import redis

    try:
        pid = int(redis.Redis.from_url(redis_url).info("server")["process_id"])
    except (redis.RedisError, KeyError, ValueError):
        return 0
    return pid if Path(f"/proc/{pid}").exists() else 0


class Backends:
    """The process ids of a database's PostgreSQL backends, through one connection kept for
    the purpose (a connection per sample would fork a backend every half second)."""

    def __init__(self, connect: Callable[[], Any], database: str) -> None:
        self.connect = connect
        self.database = database
        self.conn: Any = None

    def __call__(self) -> list[int]:
        if self.conn is None:
            self.conn = self.connect()
        return [row[0] for row in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [self.database])]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def server_meter(client: tuple[str, int], gunicorn: subprocess.Popen, backends: Backends,
                 redis_url: str, celery: subprocess.Popen | None = None) -> CpuMeter | None:
    """A CpuMeter of the client process (`client`: its name and pid), gunicorn and its
    workers, the bench database's PostgreSQL backends, a local Redis and, when given, a
    Celery worker and its children; None where /proc is not there to read. bench/load.py
    uses it too."""
    if not Path("/proc/self/stat").exists():
        return None
    name, client_pid = client
    groups: dict[str, Callable[[], list[int]]] = {
        name: lambda: [client_pid],
        "gunicorn": lambda: [gunicorn.pid, *children(gunicorn.pid)],
        "PostgreSQL": backends,
    }
    redis_pid = local_redis_pid(redis_url)
    if redis_pid:
        groups["Redis"] = lambda: [redis_pid]
    if celery is not None:
        groups["Celery"] = lambda: [celery.pid, *children(celery.pid)]
    return CpuMeter(groups)


def _report_cpu(name: str, spent: dict[str, float], requests: int, seconds: float) -> None:
    if not requests:
        return
    parts = ", ".join(f"{group} {cpu / requests * 1000:.2f}" for group, cpu in spent.items())
    total = sum(spent.values())
    print(f"  {name:<7} CPU per request (ms): {parts}; total {total / requests * 1000:.2f} "
          f"({total / seconds:.2f} cores busy)")


# --- Reporting ------------------------------------------------------------------------------


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def host_speed() -> float:
    """Milliseconds that a fixed piece of pure-Python work takes now (the median of five), run
    between turns while the bench's processes are idle. On a shared host the same work takes
    up to twice as long when other tenants load the CPUs, and a call that crosses processes
    (the API's, to PostgreSQL) loses more to that than one that does not (the floor's)."""
    times = []
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for i in range(20_000):
            total += i * i
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _per_round(results: list[Result], floor: list[Result]) -> str:
    """The ratio of each round's turns (each scenario's n-th turn against the floor's)."""
    ratios = [r.requests / r.seconds / (f.requests / f.seconds)
              for r, f in zip(results, floor, strict=True) if f.requests and r.seconds]
    return "; per round " + " ".join(f"{x:.2f}" for x in ratios) if len(ratios) > 1 else ""


def _merged(results: list[Result]) -> Result:
    """A scenario's rounds as one run."""
    return Result(sum(r.requests for r in results), sum(r.errors for r in results),
                  sum(r.seconds for r in results),
                  [x for r in results for x in r.latencies_ms],
                  next((r.first_error for r in results if r.first_error), ""))


def _report(scenario: Scenario, result: Result) -> float:
    values = sorted(result.latencies_ms)
    rate = len(values) / result.seconds if result.seconds else 0.0
    print(f"  {scenario.name:<7} {rate:9.1f} req/s   p50 {_percentile(values, 50):7.2f} ms   "
          f"p99 {_percentile(values, 99):7.2f} ms   ({len(values)} requests, "
          f"{result.errors} errors)   {scenario.title}", flush=True)
    if result.first_error:
        print(f"          first error: {result.first_error[:300]}")
    return rate


def _queries_per_request(scenarios: list[Scenario]) -> None:
    """Run each scenario in-process and count the SQL statements of its second call: the
    first one in a process also reads what the process then keeps (the access token), as
    each gunicorn worker did once before its measured turns."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=HOST)
    counts = []
    for scenario in scenarios:
        for call in ("warm", "counted"):
            params = dict(scenario.params)
            if scenario.new_machine_each_time:
                params["MachineCode"] = f"new-query-count-{call}"
            with CaptureQueriesContext(connection) as queries:
                client.post(scenario.path, params)
        counts.append(f"{scenario.name} {len(queries)}")
    print("  SQL statements per request: " + ", ".join(counts))


class _SqlTimer:
    """A database execute wrapper that adds up the time spent in SQL statements."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements = 0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.statements += 1


def _form_body(scenario: Scenario, calls: Iterator[int]) -> str:
    """The scenario's request body, form-encoded, with a new machine code each call for the
    scenarios that ask for one."""
    params = dict(scenario.params)
    if scenario.new_machine_each_time:
        params["MachineCode"] = f"profile-{os.getpid()}-{next(calls)}"
    return urllib.parse.urlencode(params)


def _profile(scenarios: list[Scenario], repeat: int) -> None:
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST=HOST)
    form = "application/x-www-form-urlencoded"  # what the load client sends
    for scenario in scenarios:
        body = functools.partial(_form_body, scenario, iter(range(10**9)))
        for _ in range(20):  # warm caches (signing key, URLconf)
            client.post(scenario.path, body(), content_type=form)
        timer = _SqlTimer()
        start = time.perf_counter()
        with connection.execute_wrapper(timer):
            for _ in range(repeat):
                client.post(scenario.path, body(), content_type=form)
        plain = (time.perf_counter() - start) / repeat * 1000
        sql_ms = timer.seconds / repeat * 1000
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(repeat):
            client.post(scenario.path, body(), content_type=form)
        profiler.disable()
        print(f"\n== cProfile, {scenario.name}: {repeat} requests in-process (test client, "
              f"no network): {plain:.2f} ms each without the profiler, of which "
              f"{sql_ms:.2f} ms in {timer.statements / repeat:.0f} SQL executions "
              "(driver + server)")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(r"apps/|django/db/models/query\.py", 25)
        stats.sort_stats("tottime").print_stats(15)


# --- Main -----------------------------------------------------------------------------------


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per scenario (10)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="the scenarios take turns, each --seconds/--rounds at a time (4)")
    parser.add_argument("--warmup", type=float, default=2.0, help="per scenario (2)")
    parser.add_argument("--threads", type=int, default=4, help="client threads (4)")
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn sync workers, for the floor and the API alike (2)")
    parser.add_argument("--max-requests", type=int, default=200_000,
                        help="cap per scenario (200000)")
    parser.add_argument("--only", help="comma-separated scenarios: hot,new,getkey,bare")
    parser.add_argument("--in-place", action="store_true",
                        help="use DATABASE_URL's database instead of a fresh one")
    parser.add_argument("--profile", nargs="?", const="hot,bare", metavar="SCENARIOS",
                        help="also cProfile these scenarios in-process (default hot,bare)")
    return parser.parse_args()


def _scenarios(seed: Seed) -> list[Scenario]:
    signed = {"token": seed.token, "ProductId": str(seed.product_id), "Sign": "True",
              "SignMethod": "1"}
    return [
        Scenario("bare", "bare Django view: build + sign the re-activation payload",
                 "/bench/sign"),
        Scenario("hot", "key/Activate, device already activated (hot path)",
                 "/api/key/Activate", {**signed, "Key": seed.hot_key, "MachineCode": HOT_MACHINE}),
        Scenario("hot-ips", "the hot path, each call from a new client IP", "/api/key/Activate",
                 {**signed, "Key": seed.hot_key, "MachineCode": HOT_MACHINE},
                 new_ip_each_time=True),
        Scenario("getkey", "key/GetKey", "/api/key/GetKey", {**signed, "Key": seed.hot_key}),
        Scenario("new", "key/Activate, a new device each time", "/api/key/Activate",
                 {**signed, "Key": seed.many_key}, new_machine_each_time=True),
    ]


def main() -> None:
    args = _arguments()
    db = _database_settings()
    bench_db = db["NAME"] if args.in_place else f"{db['NAME']}_bench_{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        PYTHONWARNINGS="ignore:No directory at",  # WhiteNoise: collectstatic has not run
        DATABASE_URL=_database_url(db, bench_db), DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS=HOST, SECURE_SSL_REDIRECT="0",
        API_TRUST_X_FORWARDED_FOR="1",  # the hot-ips scenario's addresses
        DJANGO_SETTINGS_MODULE="benchsite.settings", LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(p for p in [str(BENCH_DIR), str(ROOT),
                                               env.get("PYTHONPATH", "")] if p),
    )
    if not args.in_place:
        _create_database(db, bench_db)
    gunicorn = None
    pool = None
    log = None
    try:
        os.environ.update(env)
        sys.path[:0] = [str(BENCH_DIR), str(ROOT)]
        # WhiteNoise warns that collectstatic has not run; the API serves no static files.
        warnings.filterwarnings("ignore", message="No directory at")
        import django
        from django.core.management import call_command
        from django.db import connections

        django.setup()
        call_command("migrate", verbosity=0)
        seed = _seed()
        env.update(BENCH_KEY_ID=str(seed.hot_key_id), BENCH_MACHINE_CODE=HOT_MACHINE)
        os.environ.update(env)
        scenarios = _scenarios(seed)
        if args.only:
            wanted = set(args.only.split(","))
            scenarios = [s for s in scenarios if s.name in wanted]

        port = _free_port()
        log = Path(tempfile.mkdtemp(prefix="bench-api-")) / "gunicorn.log"
        gunicorn = _start_gunicorn(env, port, log, args.workers)
        cache = "Redis" if env.get("REDIS_URL") else "local memory"
        print(f"gunicorn -w {args.workers} (sync workers) on {HOST}:{port}, DEBUG=0, PostgreSQL "
              f"database {bench_db!r}, cache: {cache}; {args.threads} client threads in a separate "
              f"process, {args.warmup:g} s warm-up + {args.seconds:g} s per scenario in "
              f"{args.rounds} turns, "
              f"{os.cpu_count()} CPUs shared by client, server and database.", flush=True)
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        for scenario in scenarios:
            pool.submit(drive, port, scenario, args.threads, args.warmup, args.max_requests,
                        f"{scenario.name}-warm").result()
        # The scenarios take turns (--rounds), so that a change in the machine's load while the
        # bench runs weighs on all of them alike instead of on whichever ran at that moment.
        results: dict[str, list[Result]] = {s.name: [] for s in scenarios}
        backends = Backends(lambda: _admin_connection(db), bench_db)
        meter = server_meter(("client", pool.submit(os.getpid).result()), gunicorn, backends,
                             env.get("REDIS_URL", ""))
        cpu: dict[str, dict[str, float]] = {s.name: {} for s in scenarios}
        # "new" adds a device per call: it takes its turns after the others, whose reads it
        # would otherwise make longer from turn to turn.
        turns = [(n, s) for n in range(args.rounds) for s in scenarios if s.name != "new"]
        turns += [(n, s) for n in range(args.rounds) for s in scenarios if s.name == "new"]
        speeds = []
        for n, scenario in turns:
            speeds.append(host_speed())
            if meter:
                meter.start()
            results[scenario.name].append(pool.submit(
                drive, port, scenario, args.threads, args.seconds / args.rounds,
                args.max_requests, f"{scenario.name}-{n}").result())
            if meter:
                for group, spent in meter.stop().items():
                    cpu[scenario.name][group] = cpu[scenario.name].get(group, 0.0) + spent
        merged = {s.name: _merged(results[s.name]) for s in scenarios}
        rates = {s.name: _report(s, merged[s.name]) for s in scenarios}
        for s in scenarios:
            _report_cpu(s.name, cpu[s.name], merged[s.name].requests, merged[s.name].seconds)
        for name in ("hot", "hot-ips", "getkey"):
            if name in rates and rates.get("bare"):
                ratio = rates[name] / rates["bare"]
                verdict = "meets" if ratio >= 0.5 else "BELOW"
                print(f"  {name}/bare throughput ratio: {ratio:.2f} ({verdict} the 0.5 goal)"
                      + _per_round(results[name], results["bare"]))
        if speeds:
            print(f"  host speed: a fixed piece of work took {min(speeds):.2f}-{max(speeds):.2f} "
                  f"ms before the turns (median {statistics.median(speeds):.2f}, spread "
                  f"{max(speeds) / min(speeds):.2f}x); compare runs whose spread is small")
        backends.close()
        _queries_per_request([s for s in scenarios if s.name != "bare"])
        if args.profile:
            wanted = set(args.profile.split(","))
            _profile([s for s in scenarios if s.name in wanted], repeat=300)
        connections.close_all()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        _stop(gunicorn)
        if log is not None and log.exists():
            errors = [line for line in log.read_text().splitlines()
                      if "No directory at" not in line and "mw_instance" not in line]
            if errors:
                print("gunicorn said:\n  " + "\n  ".join(errors[-20:]))
            shutil.rmtree(log.parent, ignore_errors=True)
        if not args.in_place:
            _drop_database(db, bench_db)


if __name__ == "__main__":
    main()
