"""A Celery worker killed during anomaly model training (Redis of its own on port 6399).

1. A worker on the "anomalies" queue trains version 1 (the model that is then active).
2. A retraining is queued. Mid-training, the pool process running it is SIGKILLed (what the
   OOM killer does): reject_on_worker_lost puts the message back at once and the same worker
   starts the training again.
3. Mid-training again, the whole worker (main process and pool) is SIGKILLed (a lost host):
   the message stays unacknowledged in Redis (acks_late).
4. A new worker starts; Redis hands it the unacknowledged message once it is older than the
   visibility timeout (shortened to VISIBILITY_S for the new worker here; a worker sweeps for
   such messages when it starts and every ~100 s after) and the training completes. The first
   worker keeps the production default: a visibility timeout shorter than a training would
   hand a running training to a second worker.
Throughout, version 1 stays the active model, and no half-trained version is ever stored.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from . import common
from .redis_fault import REDIS_LOG, REDIS_PORT, _kill_redis, _start_redis

VISIBILITY_S = 20
TRAIN_TIMEOUT_S = 300


def run(seconds: float) -> bool:
    db = common.database_settings()
    name = f"{db['NAME']}_faults_worker_{os.getpid()}"
    common.create_database(db, name)
    try:
        _start_redis()
        return _scenario(common.database_url(db, name))
    finally:
        common.close_connections()
        _kill_redis()
        common.drop_database(db, name)
        Path(REDIS_LOG).unlink(missing_ok=True)


def _versions(vendor_id: int) -> list[tuple[int, str]]:
    from apps.anomalies.models import DetectorVersion

    common.close_connections()  # a fresh snapshot each time
    return list(DetectorVersion.objects.filter(vendor_id=vendor_id).order_by("number")
                .values_list("number", "status"))


def _wait_for(what: str, check, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}")


def _still_training(vendor_id: int, versions: int) -> None:
    if len(_versions(vendor_id)) != versions:
        raise RuntimeError("the training finished before the kill: give it more log rows")


def _received(log: Path) -> int:
    return len(re.findall(r"Task apps\.anomalies\.tasks\.anomaly_model_retrain\[.*\] received",
                          log.read_text(errors="replace")))


def _pool_child(worker: subprocess.Popen) -> int | None:
    out = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True,
                         check=False).stdout.split()
    return int(out[0]) if out else None


def _scenario(url: str) -> bool:
    env = common.production_env(url, f"redis://{common.HOST}:{REDIS_PORT}/0",
                                ANOMALY_TRAIN_DAYS="10")
    common.django_setup(env)
    common.migrate()
    tenant = common.seed_tenant("Worker faults vendor")
    from apps.accounts.models import Vendor
    from apps.anomalies.services.synthetic import (
        free_id_offset,
        synthetic_log_generate,
        synthetic_log_import,
        synthetic_log_shift_ids,
    )
    from apps.anomalies.tasks import anomaly_model_retrain

    # Enough log that a training lasts long enough to be killed in the middle of it.
    log_rows = synthetic_log_generate(days=10, seed=3, customers=300)
    synthetic_log_shift_ids(log_rows, offset=free_id_offset())
    synthetic_log_import(vendor=Vendor.objects.get(pk=tenant.vendor_id), log=log_rows)
    vendor = tenant.vendor_id
    log = common.log_path("worker")
    ok = True
    with common.processes() as started:
        first = common.start_celery_worker(env, log, queues="anomalies", name="first")
        started.append(first)
        anomaly_model_retrain.delay(vendor)
        took = _wait_for("version 1", lambda: _versions(vendor) == [(1, "active")],
                         TRAIN_TIMEOUT_S)
        print(f"  worker 1 trained version 1 in {took:.0f} s (queue wait + import + training); "
              f"versions: {_versions(vendor)}")

        anomaly_model_retrain.delay(vendor)
        _wait_for("the retraining to start", lambda: _received(log) >= 2, 60)
        time.sleep(took / 3)
        _still_training(vendor, 1)
        child = _pool_child(first)
        os.kill(child, signal.SIGKILL)
        print(f"  retraining queued; mid-training, SIGKILL to the pool process {child}: "
              f"versions now {_versions(vendor)}")
        _wait_for("the redelivery", lambda: _received(log) >= 3, 60)
        redelivered_at = time.monotonic()
        lost = "WorkerLostError" in log.read_text(errors="replace")
        print(f"  the same worker received the task again at once (reject_on_worker_lost; "
              f"WorkerLostError logged: {lost})")
        ok &= _versions(vendor) == [(1, "active")]

        time.sleep(took / 3)
        _still_training(vendor, 1)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        killed_at = time.monotonic()
        print(f"  mid-training again, SIGKILL to the whole worker 1 (process group {first.pid}):"
              f" versions now {_versions(vendor)}")
        ok &= _versions(vendor) == [(1, "active")]
        unacked = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "hlen", "unacked"],
                                 capture_output=True, text=True, check=False).stdout.strip()
        print(f"  messages taken but not acknowledged, left in Redis: {unacked}")
        time.sleep(max(0.0, redelivered_at + VISIBILITY_S + 2 - time.monotonic()))
        started.append(common.start_celery_worker(
            {**env, "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_S)}, log, queues="anomalies",
            name="second"))
        done = _wait_for("version 2", lambda: len(_versions(vendor)) >= 2,
                         TRAIN_TIMEOUT_S + VISIBILITY_S)
        print(f"  worker 2 started; the unacknowledged training was handed to it after the "
              f"visibility timeout ({VISIBILITY_S} s here) and finished "
              f"{time.monotonic() - killed_at:.0f} s after the kill "
              f"(waited {done:.0f} s for it)")
        time.sleep(3)  # a duplicate delivery, if any, would show up as a third version
        final = _versions(vendor)
    print(f"  versions at the end: {final}")
    ok &= final == [(1, "superseded"), (2, "active")]
    print(f"  tasks received in all: {_received(log)} (version 1, the first try, its redelivery "
          "after the pool kill, the one after the worker kill)")
    shutil.rmtree(log.parent, ignore_errors=True)
    return ok
