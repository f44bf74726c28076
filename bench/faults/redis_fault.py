"""Redis killed under API load (a Redis server of its own on port 6399, never the shared one).

Expected: the Web API keeps answering with success (the cache fails open: FailOpenRedisCache),
and every call is in the Web API log, which is written straight to PostgreSQL and never
passes through Redis. After Redis is back the cache is used again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from . import apiload, common

REDIS_PORT = 6399
REDIS_LOG = f"/tmp/ops-redis-{REDIS_PORT}.log"


def _redis_up() -> bool:
    return subprocess.run(["redis-cli", "-h", common.HOST, "-p", str(REDIS_PORT), "ping"],
                          capture_output=True, text=True, check=False).stdout.strip() == "PONG"


def _start_redis() -> None:
    subprocess.run(["redis-server", "--port", str(REDIS_PORT), "--bind", common.HOST,
                    "--save", "", "--appendonly", "no", "--daemonize", "yes",
                    "--logfile", REDIS_LOG], check=True)
    deadline = time.monotonic() + 20
    while not _redis_up():
        if time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.1)


def _kill_redis() -> None:
    subprocess.run(["redis-cli", "-h", common.HOST, "-p", str(REDIS_PORT), "shutdown",
                    "nosave"], capture_output=True, check=False)
    while _redis_up():
        time.sleep(0.05)


def run(seconds: float) -> bool:
    db = common.database_settings()
    name = f"{db['NAME']}_faults_redis_{os.getpid()}"
    common.create_database(db, name)
    try:
        _start_redis()
        return _scenario(seconds, common.database_url(db, name))
    finally:
        common.close_connections()
        _kill_redis()
        common.drop_database(db, name)
        Path(REDIS_LOG).unlink(missing_ok=True)


def _scenario(seconds: float, url: str) -> bool:
    env = common.production_env(url, f"redis://{common.HOST}:{REDIS_PORT}/0")
    common.django_setup(env)
    common.migrate()
    tenant = common.seed_tenant("Redis faults vendor")
    _, limited = common.make_key(tenant.product_id, seats=100_000)
    known_id, known = common.make_key(tenant.product_id, seats=5)
    from apps.licensing.models import LicenseKey
    from apps.licensing.services.seats import Device, key_activate

    key_activate(key=LicenseKey.objects.get(pk=known_id), device=Device("known-device"))
    common.close_connections()
    log = common.log_path("redis")
    port = common.free_port()
    with common.processes() as started:
        started.append(common.start_gunicorn(env, port, log, workers=2, threads=4))
        target = apiload.Target(port, tenant.token, tenant.product_id, limited, known,
                                "known-device")
        print(f"gunicorn -w 2 --threads 4 (DEBUG=0) with REDIS_URL on a Redis of its own "
              f"(port {REDIS_PORT}); 6 client threads: new devices, re-activations, GetKey.")
        with apiload.Load(target) as load:
            time.sleep(seconds / 3)
            down_at = load.now()
            _kill_redis()
            time.sleep(seconds / 3)
            up_at = load.now()
            _start_redis()
            time.sleep(seconds / 3)
        answers = load.answers
    print(f"  Redis shut down at t={down_at:.1f} s, started again at t={up_at:.1f} s, "
          f"load until t={load.now():.1f} s.")
    for phase, lo, hi in (("Redis up", 0, down_at), ("Redis DOWN", down_at, up_at),
                          ("Redis up again", up_at, 1e9)):
        part = [a for a in answers if lo <= a.at < hi]
        ms = sorted(a.ms for a in part)
        print(f"  {phase}: {len(part)} answers, p50 {common.percentile(ms, 50):.1f} ms, "
              f"p99 {common.percentile(ms, 99):.1f} ms")
        for line in apiload.describe(part):
            print(f"    {line}")
    successes, missing = apiload.check_log_rows(answers, target)
    from apps.usage.models import WebApiLog

    logged = WebApiLog.objects.filter(product_id=tenant.product_id).count()
    print(f"  calls answered: {len(answers)}; success answers: {successes}; Web API log rows: "
          f"{logged}; success answers without their log row: {missing}")
    warnings = [line for line in log.read_text().splitlines() if "failing open" in line]
    print(f"  gunicorn log: {len(warnings)} 'Redis cache unavailable ... failing open' lines, "
          f"e.g. {warnings[0].strip()[:150] if warnings else '-'}")
    shutil.rmtree(log.parent, ignore_errors=True)
    return successes == len(answers) and missing == 0 and logged == len(answers)
