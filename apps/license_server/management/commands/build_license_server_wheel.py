"""`python manage.py build_license_server_wheel`: build the license server's wheel, which the
vendor dashboard offers for download, from `license-server/` into LICENSE_SERVER_WHEEL_DIR.

Offline (setuptools from this environment). `make setup` runs it; run it on every deploy too,
after `pip install`. It needs no database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.license_server.wheel import SOURCE, WheelBuildError, build_wheel, wheel_folder


class Command(BaseCommand):
    help = "Build the license server's wheel offered in the vendor dashboard."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", type=Path, default=SOURCE,
                            help=f"the license server's source folder (default {SOURCE})")
        parser.add_argument("--output", type=Path, default=None,
                            help="where to write it (default: LICENSE_SERVER_WHEEL_DIR, "
                                 f"now {wheel_folder()})")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            path = build_wheel(source=options["source"], folder=options["output"])
        except (WheelBuildError, OSError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"License server wheel: {path}")
