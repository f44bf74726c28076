"""The README's commands work as typed on a fresh clone: `make setup` writes a development
`.env` (DEBUG=1) that the settings read for what the environment does not set, so
`.venv/bin/python manage.py seed_demo --json` needs no exported variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLEAN = {k: v for k, v in os.environ.items()
         if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "PORTAL_ENV_FILE",
                      "DATABASE_URL", "REDIS_URL"}}


def _manage(*args: str, env_file: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, text=True,
                          env={**CLEAN, "PORTAL_ENV_FILE": str(env_file), **env},
                          capture_output=True, timeout=300)


def test_the_documented_seed_demo_json_command_works_with_the_development_env(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# as make setup writes it\nDEBUG=1\n"
                        f"DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n")
    assert _manage("migrate", "-v0", env_file=env_file).returncode == 0

    result = _manage("seed_demo", "--json", env_file=env_file)

    assert result.returncode == 0, result.stderr
    demo = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"base_url", "token", "product_id", "key"} <= demo.keys()


def test_the_environment_wins_over_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=1\n")

    result = _manage("check", env_file=env_file, DEBUG="0", SECRET_KEY="")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_make_setup_writes_a_development_env_file_only_once():
    makefile = (ROOT / "Makefile").read_text()
    assert "\nsetup: " in makefile and " .env\n" in makefile.split("\nsetup: ", 1)[1][:200]
    assert "'DEBUG=1' > .env" in makefile
