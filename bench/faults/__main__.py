"""Fault scenarios, each run for real on loopback and printing what happened.

    .venv/bin/python bench/faults all            # or: postgres redis worker disk
    .venv/bin/python bench/faults postgres --seconds 30

Needs root (it creates a throwaway PostgreSQL cluster, mounts a tmpfs) and PostgreSQL 15 +
redis-server installed. Shared services are never touched: the PostgreSQL restart happens on
a cluster of its own (`15/ops_faults`, port 5499, dropped afterwards), Redis is killed on a
server of its own (port 6399); the other scenarios use a database of their own on
DATABASE_URL's server (dropped afterwards).

  postgres  PostgreSQL restarted under API load: every answer is the Cryptolens envelope (never
            a 500 page), calls succeed again without restarting the portal, no seat over its
            limit, every success answer has its Web API log row.
  redis     Redis (cache) killed under API load: every call still succeeds and is logged.
  worker    a Celery worker SIGKILLed during anomaly training: the previous model stays active,
            the training is delivered again and completes on a new worker.
  disk      the license server's cache folder on a full tmpfs: devices still get the portal's
            answer, the log says why nothing was cached, every cache file is valid JSON.

Not in `make bench` (which runs bench/*.py): it needs root and changes the machine briefly.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[1]
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

SCENARIOS = ("postgres", "redis", "worker", "disk")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", choices=(*SCENARIOS, "all"))
    parser.add_argument("--seconds", type=float, default=24, help="load per scenario (24)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/faults: run as root (throwaway PostgreSQL cluster, tmpfs mount)",
              file=sys.stderr)
        return 2
    if args.scenario == "all":
        # One process per scenario: each configures Django for its own database.
        failed = 0
        for name in SCENARIOS:
            print(f"\n===== {name}", flush=True)
            result = subprocess.run([sys.executable, str(Path(__file__).parent), name,
                                     "--seconds", str(args.seconds)], check=False)
            failed += result.returncode != 0
        return 1 if failed else 0
    import importlib

    module = importlib.import_module(f"faults.{args.scenario}_fault")
    ok = module.run(seconds=args.seconds)
    print(f"RESULT {args.scenario}: {'as expected' if ok else 'NOT as expected'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
