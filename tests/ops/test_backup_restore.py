"""Backup and restore as docs/operations.md describes it: pg_dump of the database, pg_restore
into a fresh one, the portal pointed at the copy with the same SIGNING_KEY_ENCRYPTION_SECRET.
A license file issued before the backup still verifies, activations are intact, and the
restored signing key still signs; with another secret it cannot (the secret is part of the
backup)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg import sql

from apps.licensing.license_files import license_file
from apps.licensing.services.seats import Device, key_activate
from tests.factories import ProductFactory, make_key, make_vendor

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="backs up PostgreSQL: set DATABASE_URL=postgres://... to run"),
    pytest.mark.skipif(shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
                       reason="needs pg_dump and pg_restore (postgresql-client)"),
]
ROOT = Path(__file__).resolve().parents[2]


def _pg_env() -> dict[str, str]:
    db = connection.settings_dict
    return {**os.environ, "PGHOST": db["HOST"] or "127.0.0.1", "PGPORT": str(db["PORT"] or 5432),
            "PGUSER": db["USER"], "PGPASSWORD": db["PASSWORD"] or ""}


def _url(name: str) -> str:
    db = connection.settings_dict
    quote = urllib.parse.quote
    return (f"postgres://{quote(db['USER'], safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
            f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}")


@pytest.fixture
def restored_name():
    name = f"{connection.settings_dict['NAME']}_restored"
    admin = psycopg.connect(_url("postgres"), autocommit=True)
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    admin.execute(drop)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    admin.execute(drop)
    admin.close()


def _check(name: str, key: str, issued: Path, secret: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="licensing_portal.settings_test", DEBUG="1",
               DATABASE_URL=_url(name), SECRET_KEY=settings.SECRET_KEY,
               SIGNING_KEY_ENCRYPTION_SECRET=secret, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(ROOT / "tests/ops/restore_check.py"), key,
                             str(issued)], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_restored_backup_verifies_old_license_files_and_keeps_activations(
        transactional_db, tmp_path, restored_name):
    key = make_key(ProductFactory(vendor=make_vendor("Backup Ltd")), max_no_of_machines=3)
    for code in ("machine-a", "machine-b"):
        key_activate(key=key, device=Device(code))
    issued = tmp_path / "ActivationFile.skm"
    issued.write_bytes(license_file(key=key).content)
    dump = tmp_path / "portal.dump"

    subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(dump),
                    connection.settings_dict["NAME"]], env=_pg_env(), check=True, timeout=120)
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", restored_name,
                    str(dump)], env=_pg_env(), check=True, timeout=120)

    same_secret = _check(restored_name, key.key, issued, settings.SIGNING_KEY_ENCRYPTION_SECRET)
    assert same_secret == {"old_file_verifies": True, "new_file_verifies": True,
                           "activations": ["machine-a", "machine-b"], "max_no_of_machines": 3}
    other_secret = _check(restored_name, key.key, issued, "not-the-secret-of-the-backup" * 3)
    assert other_secret["old_file_verifies"] is True  # public keys are not encrypted
    assert other_secret["new_file_verifies"] is False
    assert other_secret["signing_error"] == "InvalidToken"
