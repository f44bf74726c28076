"""Web processes stay light: loading the whole URLconf (every view of every portal and the Web
API) imports neither PyTorch nor the license server. Only the anomaly detector's training and
scoring load torch, in Celery workers and commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
import django
django.setup()
from django.urls import get_resolver
resolver = get_resolver()
resolver.url_patterns
resolver.reverse_dict  # every URL pattern, so every view module, is imported
heavy = ("torch", "sklearn", "license_server")
print(json.dumps({name: name in sys.modules for name in heavy}
                 | {"views": sum(1 for m in sys.modules if m.endswith(".views")
                                 or ".views." in m)}))
"""


def _loaded_after_urlconf() -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "licensing_portal.settings_test"}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, text=True,
                            capture_output=True, timeout=120, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_urlconf_loads_no_torch_and_no_license_server():
    loaded = _loaded_after_urlconf()

    assert loaded["views"] > 10  # the probe really imported the views
    assert loaded["torch"] is False
    assert loaded["sklearn"] is False
    assert loaded["license_server"] is False
