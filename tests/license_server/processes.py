"""The portal (gunicorn) and the license server as real processes for the end-to-end tests.

The portal serves the PostgreSQL test database (data written with `transactional_db` is
committed, so it sees it), like tests/api_concurrency/test_seat_limits.py. The license server
is its own distribution: started as the `license-server` command installed beside this Python
(`make setup` installs license-server/ into the project's environment), or another
environment's, from a folder outside the checkout, with no Django settings or database in its
environment."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings

from tests import servers

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60
# The console script `pip install ./license-server` put beside this interpreter.
LICENSE_SERVER_COMMAND = Path(sys.executable).with_name("license-server")
# cryptography and what it loads, which a standalone install takes from this environment.
CRYPTOGRAPHY_MODULES = ("cryptography", "cffi", "_cffi_backend", "pycparser")
PURELIB = "import sysconfig; print(sysconfig.get_path('purelib'))"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in {"REDIS_URL", "DATABASE_URL"} and not k.startswith("LICENSE_SERVER_")}


def server_env() -> dict[str, str]:
    """Nothing of the portal: no settings module, database, import path or virtualenv."""
    return {k: v for k, v in _base_env().items()
            if not k.startswith(("DJANGO_", "PYTHON", "VIRTUAL_ENV")) and k != "SECRET_KEY"}


class Process:
    def __init__(self, name: str, log_folder: Path) -> None:
        self.name = name
        self.log = log_folder / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def _spawn(self, command: list[str], env: dict[str, str], probe: str,
               cwd: Path = ROOT) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + probe, timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self, *, crash: bool = False) -> None:
        """SIGTERM (a clean stop), or SIGKILL to simulate a crash or power cut."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


class Portal(Process):
    def start(self) -> None:
        env = _base_env() | {
            "DJANGO_SETTINGS_MODULE": "licensing_portal.settings_test",
            "DATABASE_URL": servers.database_url(), "DEBUG": "1", "ALLOWED_HOSTS": "127.0.0.1",
            "SECRET_KEY": settings.SECRET_KEY, "LOG_LEVEL": "WARNING",
            "SIGNING_KEY_ENCRYPTION_SECRET": settings.SIGNING_KEY_ENCRYPTION_SECRET,
        }
        self._spawn([sys.executable, "-m", "gunicorn", "licensing_portal.wsgi",
                     "--workers", "1", "--threads", "4", "--bind", f"127.0.0.1:{self.port}",
                     "--chdir", str(ROOT), "--graceful-timeout", "2"], env, "/api/key/GetKey")


class LicenseServer(Process):
    def __init__(self, name: str, log_folder: Path, config: dict,
                 command: Path = LICENSE_SERVER_COMMAND) -> None:
        super().__init__(name, log_folder)
        self.command = command
        self.config_path = log_folder / f"{name}.json"
        self.config_path.write_text(json.dumps({**config, "port": self.port,
                                                "host": "127.0.0.1"}))

    def start(self, *flags: str) -> None:
        if not self.command.exists():
            raise RuntimeError(f"{self.command} is missing: run `make setup` (it installs "
                               "license-server/ into the project's environment)")
        self._spawn([str(self.command), "--config", str(self.config_path), *flags],
                    server_env(), "/stats", cwd=self.config_path.parent)

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url + "/stats", timeout=5) as response:
            return json.loads(response.read())


def _run(command: list[str], **options) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                          env=server_env(), **options)
    if done.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def standalone_install(folder: Path, wheel: Path) -> Path:
    """A fresh virtual environment in `folder` with the license server's wheel installed
    offline (pip --no-index --no-deps), and cryptography with what it loads linked in from this
    environment through a .pth file: nothing else of this environment (Django, Celery,
    PyTorch, the portal) can be imported there. Returns its Python."""
    venv = folder / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
          "--no-index", "--no-deps", "--disable-pip-version-check", str(wheel)])
    linked = folder / "cryptography-only"
    linked.mkdir()
    for name in CRYPTOGRAPHY_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed here")
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (linked / source.name).symlink_to(source)
    site_packages = _run([str(python), "-c", PURELIB], cwd=folder).strip()
    (Path(site_packages) / "cryptography-only.pth").write_text(f"{linked}\n")
    return python


# Run by a standalone install's Python: where each named module comes from, or null.
WHERE_FROM = """import importlib, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = importlib.import_module(name).__file__
    except ModuleNotFoundError:
        found[name] = None
print(json.dumps(found))"""


def importable(python: Path, names: list[str], cwd: Path) -> dict[str, str | None]:
    """Each module's file as `python` imports it from `cwd`, or None when it cannot."""
    return json.loads(_run([str(python), "-c", WHERE_FROM, *names], cwd=cwd))
