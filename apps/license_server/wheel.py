"""The license server's wheel, which the vendor dashboard offers for download: built from the
`license-server/` source into settings.LICENSE_SERVER_WHEEL_DIR by `manage.py
build_license_server_wheel` (run by `make setup` and on every deploy); see apps.core.wheels."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from apps.core.wheels import ClientPackage, WheelBuildError

LICENSE_SERVER = ClientPackage(
    title="the license server", distribution="licensing-portal-license-server",
    source_folder="license-server", package="license_server",
    folder_setting="LICENSE_SERVER_WHEEL_DIR", command="build_license_server_wheel")
BUILD_COMMAND = LICENSE_SERVER.build_command
DISTRIBUTION = LICENSE_SERVER.distribution
SOURCE = LICENSE_SERVER.source

__all__ = ["BUILD_COMMAND", "DISTRIBUTION", "LICENSE_SERVER", "SOURCE", "WheelBuildError",
           "build_wheel", "built_wheel", "open_built_wheel", "wheel_folder"]


def wheel_folder() -> Path:
    return LICENSE_SERVER.folder()


def built_wheel() -> Path | None:
    return LICENSE_SERVER.built()


def open_built_wheel() -> tuple[str, BinaryIO] | None:
    return LICENSE_SERVER.open_built()


def build_wheel(*, source: Path = SOURCE, folder: Path | None = None) -> Path:
    return LICENSE_SERVER.build(source=source, folder=folder)
