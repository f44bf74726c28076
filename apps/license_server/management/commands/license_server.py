"""`python manage.py license_server --config license-server.json`: the standalone license
server, started through manage.py for those who run the portal's checkout.

It only hands its arguments to apps.license_server.server.cli, which needs no database,
cache service or settings: no system checks, no migrations check, no connection is opened."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.license_server.server import cli


class Command(BaseCommand):
    help = "Run the on-premises license server (see docs/license-server.md)."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("args", nargs="*", help="license-server options, e.g. --port 8080")

    def run_from_argv(self, argv: list[str]) -> None:
        # Every option belongs to the license server, so Django's own parser is skipped.
        sys.exit(cli.main(argv[2:]))

    def handle(self, *args: Any, **options: Any) -> None:
        sys.exit(cli.main(list(args)))
