"""PostgreSQL restarted under API load (on a throwaway cluster of its own, never the shared one).

Expected: every answer during the outage is the Cryptolens envelope (HTTP 200, result 1),
never a 500 page; calls succeed again once PostgreSQL is back, without restarting gunicorn
(CONN_HEALTH_CHECKS replaces the dead persistent connections); the key's seat limit holds;
every call answered with success has its success row in the Web API log.
"""

from __future__ import annotations

import shutil
import subprocess
import time

from . import apiload, common

VERSION, CLUSTER, PORT = "15", "ops_faults", 5499
SEATS = 25


def _cluster(*args: str) -> None:
    subprocess.run(["pg_ctlcluster", VERSION, CLUSTER, *args], check=True,
                   capture_output=True, text=True)


def _create_cluster() -> None:
    subprocess.run(["pg_dropcluster", "--stop", VERSION, CLUSTER], capture_output=True,
                   check=False)
    subprocess.run(["pg_createcluster", VERSION, CLUSTER, "-p", str(PORT), "--",
                    "--auth-host=scram-sha-256", "--auth-local=peer"], check=True,
                   capture_output=True)
    subprocess.run(["install", "-d", "-o", "postgres", "-g", "postgres", "-m", "2775",
                    "/var/run/postgresql"], check=True)
    _cluster("start")
    sql = ("CREATE ROLE portal LOGIN CREATEDB PASSWORD 'portal'; "
           "CREATE DATABASE faults OWNER portal;")
    for statement in sql.split("; "):
        subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-p", str(PORT), "-q",
                        "-c", statement.rstrip(";")], check=True, cwd="/")


def _wait_ready(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["pg_isready", "-q", "-h", common.HOST, "-p", str(PORT)],
                          check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("the throwaway PostgreSQL cluster did not come up")


def run(seconds: float) -> bool:
    try:
        _create_cluster()
        _wait_ready()
        return _scenario(seconds)
    finally:
        common.close_connections()
        subprocess.run(["pg_dropcluster", "--stop", VERSION, CLUSTER], capture_output=True,
                       check=False)


def _scenario(seconds: float) -> bool:
    url = f"postgres://portal:portal@{common.HOST}:{PORT}/faults"
    env = common.production_env(url, DB_CONN_MAX_AGE="600")
    common.django_setup(env)
    common.migrate()
    tenant = common.seed_tenant("Faults vendor")
    _, limited = common.make_key(tenant.product_id, seats=SEATS)
    known_id, known = common.make_key(tenant.product_id, seats=5)
    from apps.licensing.models import Activation, LicenseKey
    from apps.licensing.services.seats import Device, key_activate

    key_activate(key=LicenseKey.objects.get(pk=known_id), device=Device("known-device"))
    common.close_connections()
    log = common.log_path("pg")
    port = common.free_port()
    with common.processes() as started:
        started.append(common.start_gunicorn(env, port, log, workers=2, threads=4))
        target = apiload.Target(port, tenant.token, tenant.product_id, limited, known,
                                "known-device")
        print(f"gunicorn -w 2 --threads 4 (DEBUG=0, persistent connections) against a "
              f"throwaway PostgreSQL cluster on port {PORT}; 6 client threads; a key with "
              f"{SEATS} seats raced for by new devices, re-activations, GetKey.")
        with apiload.Load(target) as load:
            time.sleep(seconds / 3)
            down_at = load.now()
            _cluster("restart", "-m", "fast")  # terminates every connection
            back_at = load.now()
            _wait_ready()
            ready_at = load.now()
            time.sleep(seconds * 2 / 3)
        answers = load.answers
    print(f"  PostgreSQL restarted (fast) at t={down_at:.1f} s, pg_ctlcluster returned at "
          f"t={back_at:.1f} s, accepting connections at t={ready_at:.1f} s; load until "
          f"t={load.now():.1f} s.")
    for phase, lo, hi in (("before", 0, down_at), ("restart", down_at, ready_at + 1),
                          ("after", ready_at + 1, 1e9)):
        part = [a for a in answers if lo <= a.at < hi]
        print(f"  {phase} (t {lo:.1f}-{min(hi, load.now()):.1f} s): {len(part)} answers")
        for line in apiload.describe(part):
            print(f"    {line}")
    last = [a for a in answers if a.at >= answers[-1].at - 5]
    recovered = bool(last) and all(a.success or a.message.startswith("Cannot activate")
                                   for a in last)
    not_envelope = [a for a in answers if not a.json_ok or a.status not in (200,)]
    seats = Activation.objects.filter(key__key=limited).count()
    won = sum(1 for a in answers if a.kind == apiload.NEW and a.success)
    successes, missing = apiload.check_log_rows(answers, target)
    problems = [line for line in log.read_text().splitlines() if "Traceback" in line]
    print(f"  answers that were not the envelope (500 page, no answer): {len(not_envelope)}")
    print(f"  last 5 s all succeeded (or were refused for a full key): {recovered}")
    print(f"  seats on the {SEATS}-seat key: {seats}; new devices answered with success: {won}")
    print(f"  success answers: {successes}; without their Web API log row: {missing}")
    print(f"  tracebacks in the gunicorn log: {len(problems)} (logged, not sent: the API "
          "dispatcher's logger.exception for calls that failed inside a method)")
    shutil.rmtree(log.parent, ignore_errors=True)
    return not not_envelope and recovered and seats <= SEATS and won <= seats and missing == 0
