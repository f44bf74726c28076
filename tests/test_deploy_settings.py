"""Production settings, checked the way an operator starts the app: a fresh process whose
environment has DEBUG=0. Settings are read at import, so each case runs manage.py anew."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECRET = "x9Jq2v7Lr4Tz8Nw1Kp6Hs3Df5Gb0Mc2Qa7We4Ry9Ui1Op3As6Zx"  # test-only, 50+ chars


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "SECURE_SSL_REDIRECT",
                         "SECURE_PROXY_SSL_HEADER"}}
    base.update({"DJANGO_SETTINGS_MODULE": "licensing_portal.settings", **env})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=base,
                          capture_output=True, text=True, timeout=120, check=False)


def test_production_settings_pass_the_deploy_check_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="0",
                    SECRET_KEY=SECRET, ALLOWED_HOSTS="licensing.example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_turning_off_the_https_redirect_is_reported_by_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="0",
                    SECRET_KEY=SECRET, ALLOWED_HOSTS="licensing.example.com",
                    SECURE_SSL_REDIRECT="0")
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


@pytest.mark.parametrize("path", ["licensing_portal/settings.py", "deploy/portal/gunicorn.conf.py"])
def test_every_environment_variable_is_documented_in_env_example(path):
    source = (ROOT / path).read_text()
    used = set(re.findall(r'os\.environ\.get\(\s*"([A-Z_]+)"', source))
    used |= set(re.findall(r'env_(?:bool|list|rate)\(\s*"([A-Z_]+)"', source))
    used |= set(re.findall(r'env="([A-Z_]+)"', source))
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert used, "the pattern found no variables: the test would pass vacuously"
    assert used - documented == set()
