"""Wheels of the small packages that run on customers' machines (the license server, the SDK
signer), which the vendor dashboard offers for download: built from their source folders with
setuptools' PEP 517 backend, offline, into a folder named by a setting (a management command
each, run by `make setup` and on every deploy). The same file for every vendor: it holds no
vendor's data. The portal never imports those packages; it only builds and serves them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

# Copied to the build folder: the build then never sees (or packs) a stale build/ or
# *.egg-info/ left in the source folder.
SOURCE_FILES = ("pyproject.toml", "README.md")
BUILD_TIMEOUT_S = 300

# Run in the copied source folder by this interpreter (setuptools comes with the portal's
# environment): prints the wheel's file name.
_BUILD_SCRIPT = ("import sys\nfrom setuptools import build_meta\n"
                 "print(build_meta.build_wheel(sys.argv[1]))")


class WheelBuildError(Exception):
    """The wheel could not be built; the message says why."""


@dataclass(frozen=True)
class ClientPackage:
    title: str  # "the license server", in messages
    distribution: str  # "licensing-portal-license-server"
    source_folder: str  # below BASE_DIR: "license-server"
    package: str  # the import package inside it: "license_server"
    folder_setting: str  # the setting naming where its wheel goes
    command: str  # the management command that builds it

    @property
    def source(self) -> Path:
        return Path(settings.BASE_DIR) / self.source_folder

    @property
    def pattern(self) -> str:
        # PEP 427 file names spell the distribution with underscores; pure Python.
        return self.distribution.replace("-", "_") + "-*-py3-none-any.whl"

    @property
    def build_command(self) -> str:
        return f"python manage.py {self.command}"

    def folder(self) -> Path:
        return Path(getattr(settings, self.folder_setting))

    def built(self) -> Path | None:
        """The newest wheel in the wheel folder, or None when none is built."""
        try:
            wheels = {path: path.stat().st_mtime for path in self.folder().glob(self.pattern)}
        except OSError:  # no folder, or a wheel replaced by a new build while looking
            return None
        return max(wheels, key=wheels.__getitem__, default=None)

    def open_built(self) -> tuple[str, BinaryIO] | None:
        """The built wheel's file name and an open file of it, or None when none is built."""
        wheel = self.built()
        if wheel is None:
            return None
        try:
            return wheel.name, wheel.open("rb")
        except OSError:  # replaced by a new build between the look-up and the open
            return None

    def _copy_source(self, source: Path, target: Path) -> None:
        missing = [n for n in (*SOURCE_FILES, self.package) if not (source / n).exists()]
        if missing:
            raise WheelBuildError(f"{source} is not {self.title}'s source "
                                  f"(missing {', '.join(missing)}).")
        for name in SOURCE_FILES:
            shutil.copy2(source / name, target / name)
        shutil.copytree(source / self.package, target / self.package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    def build(self, *, source: Path | None = None, folder: Path | None = None) -> Path:
        """Build the wheel from `source` into `folder` (the setting by default), replacing the
        wheels built there before; returns its path. No network: setuptools is taken from
        this environment, and the package's dependency (cryptography) is only named."""
        folder = folder or self.folder()
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"{self.source_folder}-build-") as temporary:
            work, out = Path(temporary) / "source", Path(temporary) / "dist"
            work.mkdir()
            out.mkdir()
            self._copy_source(source or self.source, work)
            try:
                done = subprocess.run(  # noqa: S603 - this interpreter and a fixed script
                    [sys.executable, "-c", _BUILD_SCRIPT, str(out)], cwd=work,
                    capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
            except subprocess.TimeoutExpired:
                raise WheelBuildError(
                    f"building the wheel took over {BUILD_TIMEOUT_S} s") from None
            name = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            if done.returncode != 0 or not (out / name).is_file():
                raise WheelBuildError(f"building the wheel failed:\n{done.stderr[-3000:]}")
            target = folder / name
            # Copied beside the target, then renamed: a download never sees half a file.
            partial = folder / f".{name}.partial"
            shutil.copyfile(out / name, partial)
            os.replace(partial, target)
        for old in folder.glob(self.pattern):
            if old != target:
                old.unlink()
        return target
