"""The management command that builds one client package's wheel (apps.core.wheels): the
license server's and the SDK signer's commands are this one, each naming its package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.wheels import ClientPackage, WheelBuildError


class BuildWheelCommand(BaseCommand):
    package: ClientPackage
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", type=Path, default=self.package.source,
                            help=f"the source folder (default {self.package.source})")
        parser.add_argument("--output", type=Path, default=None,
                            help=f"where to write it (default: {self.package.folder_setting}, "
                                 f"now {self.package.folder()})")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            path = self.package.build(source=options["source"], folder=options["output"])
        except (WheelBuildError, OSError) as exc:
            raise CommandError(str(exc)) from None
        name = self.package.title.removeprefix("the ")
        self.stdout.write(f"{name[0].upper()}{name[1:]} wheel: {path}")
