"""Bulk activation of 10,000 collected machine codes: server-side time of the preview and of
the commit, on the configured database (DATABASE_URL, else a throwaway SQLite file).

    .venv/bin/python bench/bulk_activation.py [--lines 10000] [--repeat 3]

The paste has the noise real collections have: duplicates, blank lines, an invalid line and
one device that is already active. Goal: under 2 s on the server side for 10,000 lines.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    os.environ.setdefault("DEBUG", "1")
    tmp = tempfile.TemporaryDirectory()
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp.name}/bench.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "licensing_portal.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import get_runner

    runner = get_runner(settings)(verbosity=0, interactive=False)
    old_config = runner.setup_databases()  # a fresh test database, dropped at the end
    try:
        run(args)
    finally:
        runner.teardown_databases(old_config)
        tmp.cleanup()


def run(args: argparse.Namespace) -> None:
    from django.db import connection

    from apps.accounts.models import User
    from apps.audit.log import Actor
    from apps.licensing import services
    from apps.licensing.models import Activation
    from apps.licensing.services.offline import bulk_activate, bulk_preview
    from apps.licensing.services.vendors import vendor_create

    actor = Actor.for_system("bench")
    owner = User.objects.create_user(username="bench", email="bench@example.com")
    vendor = vendor_create(owner=owner, name="Bench vendor")
    product = services.product_create(vendor=vendor, actor=actor, name="Bench product")
    lines = [f"{n:064x}\tHOST-{n:05d}" for n in range(args.lines)]
    lines[10:20] = lines[0:10]
    lines[100] = "x" * 300
    lines.insert(1000, "")
    text = "\n".join(lines)

    previews, commits = [], []
    for _ in range(args.repeat):
        key = services.key_create(product=product, actor=actor, spec=services.KeySpec(
            max_no_of_machines=args.lines * 2))[0]
        Activation.objects.create(key=key, machine_code=f"{5:064x}")
        start = time.perf_counter()
        preview = bulk_preview(key=key, text=text)
        previews.append(time.perf_counter() - start)
        start = time.perf_counter()
        done = bulk_activate(key=key, text=text, actor=actor)
        commits.append(time.perf_counter() - start)
        assert key.activations.count() == len(done.to_activate) + 1
        assert preview.counts == done.counts

    print(f"database: {connection.vendor}; {args.lines:,} lines "
          f"({preview.counts}); {args.repeat} runs")
    print(f"preview: median {statistics.median(previews):.3f} s, max {max(previews):.3f} s")
    print(f"commit:  median {statistics.median(commits):.3f} s, max {max(commits):.3f} s "
          "(parse + checks under the key's row lock + batched inserts)")
    total = statistics.median(previews) + statistics.median(commits)
    print(f"preview + commit: {total:.3f} s (goal: under 2 s)")


if __name__ == "__main__":
    main()
