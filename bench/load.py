"""Mixed production-like load: peak throughput, then p99 latency at half of it.

    DATABASE_URL=postgres://portal:portal@127.0.0.1:5432/portal_ops \
    REDIS_URL=redis://127.0.0.1:6379/8 .venv/bin/python bench/load.py [--seconds 90]

All on loopback, with production settings (DEBUG=0, a throwaway SECRET_KEY, ALLOWED_HOSTS=
127.0.0.1, SECURE_SSL_REDIRECT=0):
1. creates a database next to DATABASE_URL's (`<name>_load_<pid>`, dropped at the end),
   migrates and seeds it (a vendor, keys, devices, a logged-in vendor session), collects the
   static files into a temporary folder (the dashboard needs them with DEBUG=0);
2. starts gunicorn (deploy/portal/gunicorn.conf.py) and, with REDIS_URL, a Celery worker on
   the default and anomalies queues (Redis is then also the cache, as in production);
3. ramp (closed loop): 2, 4, 8, 16 client threads, each sending its next request as soon as
   the last one is answered, `--ramp-seconds` each; the best throughput is the peak;
4. steady (open loop): requests at a fixed rate of `--load` x peak (0.5) for `--seconds`,
   Poisson arrivals, each request's latency counted from its scheduled time (so a stalled
   server cannot hide its queue: no coordinated omission);
   meanwhile the Web API log retention task is queued every 10 s for the Celery worker;
5. prints requests/s, p50/p99 per endpoint and the errors (an error: anything but HTTP 200
   with result 0, or a dashboard page that is not 200), and whether Activate's p99 is under
   the 50 ms goal. Stops by itself: every phase has a deadline.
6. prints what the load generator itself takes, since it shares the machine's cores with the
   portal: its CPU time over the steady phase (share of one core and of all of them), its
   own send lag (from a request's scheduled moment to its sending, for requests whose thread
   was free and waiting: the part of a latency that is the generator's doing; a request that
   found all threads busy waited for the portal instead), and the CPU time per request of
   each side (generator, gunicorn, the load database's PostgreSQL backends, Redis when
   local, the Celery worker).
   `--pin` runs the generator on the last core and gunicorn and Celery on the others
   (PostgreSQL and Redis, shared servers, are left where they are), so that the generator
   takes no CPU time from the portal's processes.

The mix (weights): Activate of a known device 30, Activate of a new device 15 (on one of
NEW_KEYS customers' keys, at random), floating
heartbeat 25 (Activate with FloatingTimeInterval), GetKey 15, Deactivate of a device this
client activated 10, dashboard pages 5 (/, the key list, a key's page). Activate, GetKey and
heartbeats ask for signed answers (Sign=True, SignMethod=1) as the official clients do.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import multiprocessing
import os
import queue
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from api import Backends, children, server_meter  # noqa: E402  (bench/api.py)
from faults import common  # noqa: E402

MIX = {"activate": 30, "activate_new": 15, "heartbeat": 25, "getkey": 15, "deactivate": 10,
       "dashboard": 5}
HOT_MACHINES = 8
# New devices activate on one of these keys, as a vendor's new installs come in over its
# customers' keys: each key's answer lists its devices, so one key taking every new device
# of the run would make each call dearer than the last (by the steady phase, answers of
# 1,500 devices), and the peak, measured early, would overstate what the server sustains.
NEW_KEYS = 100
FLOATING_MACHINES = 200


@dataclass
class Plan:
    """Everything a client process needs: where to send what."""

    port: int
    token: str
    product_id: int
    hot_key: str
    new_keys: list[str]  # the keys new devices activate on (customers' keys)
    floating_key: str
    key_id: int
    session_cookie: str
    seed: int = 0


@dataclass
class Outcome:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    first_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    late: int = 0  # open loop: requests sent > 1 s after their scheduled time
    # Open loop: sent - scheduled (ms) of the requests whose thread was waiting for them.
    lags: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0  # the generator's own CPU time (all its threads)


# --- Client side (runs in a separate process) ----------------------------------------------


class Client:
    """One client thread's connection and the devices it activated (to deactivate later)."""

    def __init__(self, plan: Plan, tag: str, rng: random.Random) -> None:
        self.plan, self.tag, self.rng = plan, tag, rng
        self.conn = http.client.HTTPConnection(common.HOST, plan.port, timeout=15)
        self.mine: list[tuple[str, str]] = []  # (key, machine code) this client activated
        self.n = 0

    def call(self, op: str) -> tuple[str, bool, str]:
        """Send one request of kind `op`; returns (endpoint, ok, error text)."""
        p, signed = self.plan, {"Sign": "True", "SignMethod": "1"}
        base = {"token": p.token, "ProductId": str(p.product_id)}
        if op == "deactivate" and not self.mine:
            op = "activate_new"
        if op == "dashboard":
            path = self.rng.choice(["/", f"/products/{p.product_id}/keys/", f"/keys/{p.key_id}/"])
            return "dashboard", *self._page(path)
        if op == "activate":
            data = {**base, **signed, "Key": p.hot_key,
                    "MachineCode": f"hot-{self.rng.randrange(HOT_MACHINES)}"}
            return "Activate (known device)", *self._api("key/Activate", data)
        if op == "activate_new":
            self.n += 1
            code, key = f"new-{self.tag}-{self.n}", self.rng.choice(p.new_keys)
            endpoint, (ok, error) = "Activate (new device)", self._api(
                "key/Activate", {**base, **signed, "Key": key, "MachineCode": code})
            if ok:
                self.mine.append((key, code))
            return endpoint, ok, error
        if op == "heartbeat":
            data = {**base, **signed, "Key": p.floating_key, "FloatingTimeInterval": "120",
                    "MachineCode": f"float-{self.rng.randrange(FLOATING_MACHINES)}"}
            return "Activate (floating heartbeat)", *self._api("key/Activate", data)
        if op == "getkey":
            return "GetKey", *self._api("key/GetKey", {**base, **signed, "Key": p.hot_key})
        key, code = self.mine.pop(self.rng.randrange(len(self.mine)))
        return "Deactivate", *self._api("key/Deactivate",
                                        {**base, "Key": key, "MachineCode": code})

    def _api(self, path: str, data: dict[str, str]) -> tuple[bool, str]:
        status, body = self._send("POST", f"/api/{path}", data, {})
        ok = status == 200 and body.endswith(b'"result": 0, "message": ""}')
        return ok, "" if ok else f"{path}: HTTP {status} {body[-160:]!r}"

    def _page(self, path: str) -> tuple[bool, str]:
        status, _ = self._send("GET", path, None,
                                  {"Cookie": f"sessionid={self.plan.session_cookie}"})
        return status == 200, "" if status == 200 else f"GET {path}: HTTP {status}"

    def _send(self, method: str, path: str, data: dict[str, str] | None,
              headers: dict[str, str]) -> tuple[int, bytes]:
        try:
            return common.request(self.plan.port, method, path, data, headers=headers,
                                  conn=self.conn)
        except (OSError, http.client.HTTPException) as error:
            return 0, f"{type(error).__name__}: {error}".encode()


def _pick(rng: random.Random) -> str:
    return rng.choices(list(MIX), weights=list(MIX.values()))[0]


def _record(outcome: Outcome, lock: threading.Lock, endpoint: str, ok: bool, error: str,
            ms: float) -> None:
    with lock:
        outcome.latencies[endpoint].append(ms)
        if not ok:
            outcome.errors[endpoint] += 1
            if len(outcome.first_errors) < 5:
                outcome.first_errors.append(error[:300])


def closed_loop(plan: Plan, threads: int, seconds: float) -> Outcome:
    """`threads` clients, each sending its next request when the last one is answered."""
    outcome, lock = Outcome(), threading.Lock()
    until = time.perf_counter() + seconds

    def run(i: int) -> None:
        rng = random.Random(plan.seed * 1000 + i)
        client = Client(plan, f"c{threads}-{i}-{secrets.token_hex(2)}", rng)
        while time.perf_counter() < until:
            start = time.perf_counter()
            endpoint, ok, error = client.call(_pick(rng))
            _record(outcome, lock, endpoint, ok, error, (time.perf_counter() - start) * 1000)

    start, cpu = time.perf_counter(), time.process_time()
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    outcome.seconds = time.perf_counter() - start
    outcome.cpu_seconds = time.process_time() - cpu
    return outcome


def open_loop(plan: Plan, rate: float, seconds: float, threads: int = 48) -> Outcome:
    """Poisson arrivals at `rate` per second for `seconds`; latency from the scheduled time."""
    outcome, lock = Outcome(), threading.Lock()
    rng = random.Random(plan.seed)
    start = time.perf_counter() + 0.2
    schedule: queue.Queue[tuple[float, str] | None] = queue.Queue()
    t = start
    while t < start + seconds:
        schedule.put((t, _pick(rng)))
        t += rng.expovariate(rate)
    for _ in range(threads):
        schedule.put(None)
    hard_stop = start + seconds + 30  # whatever happens, the phase ends

    def run(i: int) -> None:
        client = Client(plan, f"o-{i}-{secrets.token_hex(2)}", random.Random(i))
        while (item := schedule.get()) is not None:
            at, op = item
            now = time.perf_counter()
            if now > hard_stop:
                continue
            idle = at > now  # this thread was free before the request's moment
            if idle:
                time.sleep(at - now)
            elif now - at > 1:
                with lock:
                    outcome.late += 1
            lag = (time.perf_counter() - at) * 1000
            endpoint, ok, error = client.call(op)
            _record(outcome, lock, endpoint, ok, error, (time.perf_counter() - at) * 1000)
            if idle:  # late only by the generator's own doing (its threads, the GIL, the OS)
                with lock:
                    outcome.lags.append(lag)

    cpu = time.process_time()
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    outcome.seconds = max(time.perf_counter() - start, seconds)
    outcome.cpu_seconds = time.process_time() - cpu
    return outcome


# --- Set-up ---------------------------------------------------------------------------------


def _seed() -> dict:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from apps.accounts.models import Vendor
    from apps.licensing.models import LicenseKey
    from apps.licensing.services.seats import Device, key_activate

    tenant = common.seed_tenant("Load vendor")
    hot_id, hot = common.make_key(tenant.product_id, seats=HOT_MACHINES + 2)
    for n in range(HOT_MACHINES):
        key_activate(key=LicenseKey.objects.get(pk=hot_id), device=Device(f"hot-{n}"))
    new_keys = [common.make_key(tenant.product_id, seats=100_000)[1] for _ in range(NEW_KEYS)]
    _, floating = common.make_key(tenant.product_id, seats=FLOATING_MACHINES + 50)
    for _ in range(40):  # a key list of a realistic page's length
        common.make_key(tenant.product_id, seats=5)
    owner = Vendor.objects.get(pk=tenant.vendor_id).memberships.get().user
    session = SessionStore()
    session[SESSION_KEY] = str(owner.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = owner.get_session_auth_hash()
    session.create()
    return {"token": tenant.token, "product_id": tenant.product_id, "hot_key": hot,
            "new_keys": new_keys, "floating_key": floating, "key_id": hot_id,
            "session_cookie": session.session_key}


def _settings_module(folder: Path) -> None:
    """Production settings with STATIC_ROOT in a temporary folder (collectstatic goes there,
    not into the checkout). The storage is WhiteNoise's without the manifest: the manifest's
    post-processing stops on static/vendor/chartjs/chart.umd.min.js, whose sourceMappingURL
    names a .map file that is not vendored (reported; the production fix is in that file)."""
    (folder / "loadsite_settings.py").write_text(
        "from licensing_portal.settings import *  # noqa: F403\n"
        f"STATIC_ROOT = {str(folder / 'static')!r}\n"
        'STORAGES = {**STORAGES, "staticfiles": {"BACKEND": '
        '"whitenoise.storage.CompressedStaticFilesStorage"}}  # noqa: F405\n')


# --- What the generator takes ----------------------------------------------------------------


def _pin(generator: int, servers: list[subprocess.Popen]) -> None:
    """The generator on the last core, the portal's gunicorn and Celery (each process group:
    workers forked later inherit it from their master) on the others."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        print("  --pin: one CPU only, nothing pinned")
        return
    os.sched_setaffinity(generator, {cpus[-1]})
    for server in servers:
        for pid in (server.pid, *children(server.pid)):
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(pid, set(cpus[:-1]))
    print(f"  pinned: generator on CPU {cpus[-1]}, gunicorn and Celery on CPU "
          f"{','.join(map(str, cpus[:-1]))}; PostgreSQL and Redis unpinned", flush=True)


def _connect(db: dict, database: str) -> Any:  # a psycopg connection
    import psycopg

    return psycopg.connect(dbname=database, user=db["USER"] or None,
                           password=db["PASSWORD"] or None, host=db["HOST"] or None,
                           port=db["PORT"] or None, autocommit=True)


def _print_generator(outcome: Outcome, spent: dict[str, float], requests: int, *,
                     pinned: bool) -> None:
    cores = len(os.sched_getaffinity(0))
    lags = sorted(outcome.lags)
    share = outcome.cpu_seconds / outcome.seconds
    print(f"  Load generator: {outcome.cpu_seconds:.1f} s CPU over the {outcome.seconds:.0f} s "
          f"steady phase = {share:.0%} of one core, {share / cores:.0%} of the machine's "
          f"{cores}{' (pinned to its own core)' if pinned else ', shared with the portal'}; "
          f"its own send lag (a request's scheduled moment to its sending, when a thread was "
          f"waiting for it; counted in the latencies above) p50 "
          f"{common.percentile(lags, 50):.1f} ms, p99 {common.percentile(lags, 99):.1f} ms "
          f"({len(lags)} of {requests} requests had a thread waiting)")
    if spent and requests:
        parts = ", ".join(f"{group} {cpu / requests * 1000:.2f}" for group, cpu in spent.items())
        total = sum(spent.values())
        print(f"  CPU per request (ms): {parts}; total {total / requests * 1000:.2f} "
              f"({total / outcome.seconds:.2f} of {cores} cores busy with this bench)")


# --- Reporting ------------------------------------------------------------------------------


def _summary(outcome: Outcome) -> tuple[int, int]:
    total = sum(len(v) for v in outcome.latencies.values())
    return total, sum(outcome.errors.values())


def _print_table(outcome: Outcome) -> None:
    for endpoint in sorted(outcome.latencies):
        values = sorted(outcome.latencies[endpoint])
        print(f"    {endpoint:<31} {len(values) / outcome.seconds:7.1f} req/s   "
              f"p50 {common.percentile(values, 50):7.1f} ms   "
              f"p99 {common.percentile(values, 99):7.1f} ms   "
              f"{len(values):6d} requests   {outcome.errors.get(endpoint, 0)} errors")
    for error in outcome.first_errors:
        print(f"    error: {error}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=90,
                        help="steady phase at a fixed rate, seconds (90)")
    parser.add_argument("--ramp", default="2,4,8,16", help="client threads per ramp step")
    parser.add_argument("--ramp-seconds", type=float, default=12, help="per ramp step (12)")
    parser.add_argument("--load", type=float, default=0.5,
                        help="steady rate as a fraction of the peak (0.5)")
    parser.add_argument("--rate", type=float, help="steady rate in req/s (skips the ramp)")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
                        help="gunicorn workers (deploy/portal/gunicorn.conf.py's default: two "
                             "per CPU plus one)")
    parser.add_argument("--pin", action="store_true",
                        help="the generator on the last core, gunicorn and Celery on the others")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    db = common.database_settings()
    name = f"{db['NAME']}_load_{os.getpid()}"
    redis_url = os.environ.get("REDIS_URL", "")
    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = common.production_env(common.database_url(db, name), redis_url,
                                DJANGO_SETTINGS_MODULE="loadsite_settings",
                                PYTHONPATH=os.pathsep.join([str(folder), str(common.ROOT)]))
    try:
        _settings_module(folder)
        common.create_database(db, name)
        sys.path.insert(0, str(folder))
        common.django_setup(env)
        common.migrate()
        seed = _seed()
        common.close_connections()
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                       cwd=common.ROOT, env=env, check=True)
        with common.processes() as started:
            _run(args, env, seed, redis_url, db, name, started)
    finally:
        common.close_connections()
        _drop_database(db, name)
        shutil.rmtree(folder, ignore_errors=True)


def _drop_database(db: dict, name: str) -> None:
    """DROP DATABASE ... WITH (FORCE) is refused while a process of another role (an
    autovacuum worker) is connected to it: try again a few times."""
    import psycopg

    for attempt in range(5):
        try:
            common.drop_database(db, name)
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == 4:
                print(f"bench/load.py: could not drop the database {name!r}; drop it by hand")
                return
            time.sleep(3)


def _background_tasks(future: Future, redis_url: str) -> tuple[int, int] | None:
    """While the steady phase runs, queue the real Web API log retention task every 10 s
    (nothing is old enough to delete: it scans and finds nothing), so that the worker, Redis
    and the database serve Celery work beside the API, as in production. None without Redis."""
    if not redis_url:
        return None
    from apps.usage.tasks import weblog_prune_task

    results = []
    while not future.done():
        results.append(weblog_prune_task.delay())
        for _ in range(100):
            if future.done():
                break
            time.sleep(0.1)
    time.sleep(2)
    done = sum(1 for r in results if r.ready() and r.successful())
    common.close_connections()
    return len(results), done


def _run(args: argparse.Namespace, env: dict[str, str], seed: dict, redis_url: str,
         db: dict, name: str, started: list) -> None:
    log = common.log_path("load")
    port = common.free_port()
    gunicorn = common.start_gunicorn(env, port, log, workers=args.workers)
    started.append(gunicorn)
    worker = "none (no REDIS_URL: tasks would run eagerly)"
    celery = None
    if redis_url:
        celery = common.start_celery_worker(env, log, queues="celery,anomalies")
        started.append(celery)
        worker = "1 (queues celery, anomalies)"
    plan = Plan(port=port, seed=1, **seed)
    print(f"gunicorn -w {args.workers} (sync) on {common.HOST}:{port}, DEBUG=0, database "
          f"{name!r}, cache {'Redis' if redis_url else 'local memory'}, Celery workers: "
          f"{worker}; {os.cpu_count()} CPUs shared by clients, server, database (and, on this "
          f"machine, other users: load average {os.getloadavg()[0]:.1f}).", flush=True)
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    tasks = None
    backends = Backends(lambda: _connect(db, "postgres"), name)
    try:
        generator = pool.submit(os.getpid).result()
        servers = [p for p in (gunicorn, celery) if p is not None]
        if args.pin:
            _pin(generator, servers)
        meter = server_meter(("generator", generator), gunicorn, backends, redis_url, celery)
        pool.submit(closed_loop, plan, 4, 3).result()  # warm-up: URLconf, signing keys
        peak = args.rate / args.load if args.rate else 0.0
        if not args.rate:
            print(f"Ramp (closed loop, {args.ramp_seconds:g} s per step):")
            for threads in (int(t) for t in args.ramp.split(",")):
                outcome = pool.submit(closed_loop, plan, threads, args.ramp_seconds).result()
                total, errors = _summary(outcome)
                rate = total / outcome.seconds
                peak = max(peak, rate)
                print(f"  {threads:3d} threads: {rate:7.1f} req/s, {errors} errors", flush=True)
        rate = args.rate or peak * args.load
        print(f"Peak {peak:.1f} req/s. Steady phase (open loop, Poisson arrivals): "
              f"{rate:.1f} req/s for {args.seconds:g} s", flush=True)
        if meter:
            meter.start()
        future = pool.submit(open_loop, plan, rate, args.seconds)
        tasks = _background_tasks(future, redis_url)
        outcome = future.result()
        spent = meter.stop() if meter else {}
    finally:
        pool.shutdown(cancel_futures=True)
        backends.close()
    if tasks is not None:
        print(f"  Celery meanwhile: {tasks[0]} retention tasks queued (one per 10 s), "
              f"{tasks[1]} done by the worker")
    total, errors = _summary(outcome)
    print(f"  {total / outcome.seconds:.1f} req/s achieved, {total} requests, {errors} errors, "
          f"{outcome.late} sent over 1 s late")
    _print_table(outcome)
    activate = sorted(v for k, values in outcome.latencies.items()
                      if k.startswith("Activate (known") or k.startswith("Activate (new")
                      for v in values)
    p99 = common.percentile(activate, 99)
    worst = max(((common.percentile(sorted(v), 99), k) for k, v in outcome.latencies.items()),
                default=(float("nan"), "-"))
    print(f"  Activate (known + new devices) p99 {p99:.1f} ms at {args.load:.0%} of peak: "
          f"{'meets' if p99 < 50 else 'MISSES'} the 50 ms goal; the slowest endpoint's p99 "
          f"{worst[0]:.1f} ms ({worst[1]}): {'meets' if worst[0] < 100 else 'MISSES'} the "
          f"100 ms goal; errors: {errors} ({'meets' if errors == 0 else 'MISSES'} the "
          f"zero-error goal)")
    _print_generator(outcome, spent, total, pinned=args.pin)
    problems = [line for line in log.read_text().splitlines()
                if "Traceback" in line or " ERROR" in line or "CRITICAL" in line]
    if problems:
        print("  server log problems:\n    " + "\n    ".join(problems[-10:]))
    shutil.rmtree(log.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
