"""The license server's wheel, which the vendor dashboard offers for download: built from the
`license-server/` source with setuptools' PEP 517 backend, offline, into
settings.LICENSE_SERVER_WHEEL_DIR (`manage.py build_license_server_wheel`, run by `make setup`
and on every deploy). The same file for every vendor: it holds no vendor's data.

The portal never imports the server's package; it only builds and serves its wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

DISTRIBUTION = "licensing-portal-license-server"
# PEP 427 file names spell the distribution with underscores; pure Python, any platform.
WHEEL_PATTERN = DISTRIBUTION.replace("-", "_") + "-*-py3-none-any.whl"
SOURCE = Path(settings.BASE_DIR) / "license-server"
BUILD_COMMAND = "python manage.py build_license_server_wheel"
# Copied to the build folder: the build then never sees (or packs) a stale build/ or
# *.egg-info/ left in the source folder.
SOURCE_FILES = ("pyproject.toml", "README.md")
PACKAGE = "license_server"
BUILD_TIMEOUT_S = 300

# Run in the copied source folder by this interpreter (setuptools comes with the portal's
# environment): prints the wheel's file name.
_BUILD_SCRIPT = ("import sys\nfrom setuptools import build_meta\n"
                 "print(build_meta.build_wheel(sys.argv[1]))")


class WheelBuildError(Exception):
    """The wheel could not be built; the message says why."""


def wheel_folder() -> Path:
    return Path(settings.LICENSE_SERVER_WHEEL_DIR)


def built_wheel() -> Path | None:
    """The newest license-server wheel in the wheel folder, or None when none is built."""
    try:
        wheels = {path: path.stat().st_mtime for path in wheel_folder().glob(WHEEL_PATTERN)}
    except OSError:  # no folder, or a wheel replaced by a new build while looking
        return None
    return max(wheels, key=wheels.__getitem__, default=None)


def open_built_wheel() -> tuple[str, BinaryIO] | None:
    """The built wheel's file name and an open file of it, or None when none is built."""
    wheel = built_wheel()
    if wheel is None:
        return None
    try:
        return wheel.name, wheel.open("rb")
    except OSError:  # replaced by a new build between the look-up and the open
        return None


def _copy_source(source: Path, target: Path) -> None:
    missing = [name for name in (*SOURCE_FILES, PACKAGE) if not (source / name).exists()]
    if missing:
        raise WheelBuildError(f"{source} is not the license server's source "
                              f"(missing {', '.join(missing)}).")
    for name in SOURCE_FILES:
        shutil.copy2(source / name, target / name)
    shutil.copytree(source / PACKAGE, target / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def build_wheel(*, source: Path = SOURCE, folder: Path | None = None) -> Path:
    """Build the wheel from `source` into `folder` (the setting by default), replacing the
    wheels built there before; returns its path. No network: setuptools is taken from this
    environment, and the server's dependency (cryptography) is only named, not fetched."""
    folder = folder or wheel_folder()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="license-server-build-") as temporary:
        work, out = Path(temporary) / "source", Path(temporary) / "dist"
        work.mkdir()
        out.mkdir()
        _copy_source(source, work)
        try:
            done = subprocess.run(  # noqa: S603 - this interpreter and a fixed script
                [sys.executable, "-c", _BUILD_SCRIPT, str(out)], cwd=work,
                capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise WheelBuildError(f"building the wheel took over {BUILD_TIMEOUT_S} s") from None
        name = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        if done.returncode != 0 or not (out / name).is_file():
            raise WheelBuildError(f"building the wheel failed:\n{done.stderr[-3000:]}")
        target = folder / name
        # Copied beside the target, then renamed: a download never sees half a file.
        partial = folder / f".{name}.partial"
        shutil.copyfile(out / name, partial)
        os.replace(partial, target)
    for old in folder.glob(WHEEL_PATTERN):
        if old != target:
            old.unlink()
    return target
