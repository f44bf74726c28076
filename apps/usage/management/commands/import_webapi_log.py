"""`python manage.py import_webapi_log FILE.csv --vendor EMAIL`: load a Web API log export
(Cryptolens' CSV format) into the log of the vendor that EMAIL owns. Safe to run again: rows
whose Id this vendor imported before are skipped."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import Membership, Role, Vendor
from apps.usage.sessions import floating_sessions_refresh
from apps.usage.weblog_io import RowError, webapi_log_import

REJECTS_SHOWN = 50


def owned_vendor(email: str) -> Vendor:
    owned = list(Membership.objects.filter(user__email__iexact=email.strip(), role=Role.OWNER)
                 .select_related("vendor").order_by("vendor_id"))
    if not owned:
        raise CommandError(f"{email} owns no vendor: give the e-mail of a vendor's owner.")
    if len(owned) > 1:
        names = ", ".join(f"{m.vendor.name} (id {m.vendor_id})" for m in owned)
        raise CommandError(f"{email} owns several vendors ({names}); give the e-mail of an "
                           "owner of only the one to import into.")
    return owned[0].vendor


class Command(BaseCommand):
    help = ("Import a Web API log CSV (Id,ProductId,Key,IP,Time,State,MachineCode,"
            "FriendlyName,FloatingExpires,Method,Country) into a vendor's log.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="CSV file with a header row")
        parser.add_argument("--vendor", required=True, metavar="EMAIL",
                            help="e-mail of the owner of the vendor to import into")

    def handle(self, *args, **options) -> None:
        vendor = owned_vendor(options["vendor"])
        try:
            with open(options["file"], encoding="utf-8-sig", newline="") as lines:
                result = webapi_log_import(vendor=vendor, lines=lines)
        except OSError as error:
            raise CommandError(f"cannot read {options['file']}: {error}") from error
        except (RowError, UnicodeDecodeError) as error:
            raise CommandError(f"{options['file']}: {error}") from error
        self.stdout.write(
            f"Read {result.read} rows into {vendor.name}: {result.inserted} inserted, "
            f"{result.skipped} skipped as already present, {len(result.rejected)} rejected.")
        for line, reason in result.rejected[:REJECTS_SHOWN]:
            self.stdout.write(f"  line {line}: {reason}")
        if len(result.rejected) > REJECTS_SHOWN:
            self.stdout.write(f"  ... and {len(result.rejected) - REJECTS_SHOWN} more")
        if result.inserted:
            # Condense the floating calls now, so the first report after a migration is fast.
            seats = floating_sessions_refresh(vendor=vendor)
            self.stdout.write(f"Floating sessions brought up to date ({seats} seats touched).")
