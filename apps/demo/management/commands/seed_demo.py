"""Demo data: `python manage.py seed_demo [--json]`. Safe to run again: it creates only what is
missing. With --json it prints what scripts need, with a fresh all-methods token each time
(tokens are stored hashed, so an earlier one cannot be shown again)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Membership, Role, User, Vendor
from apps.anomalies.demo import anomaly_demo_seed
from apps.audit.log import Actor
from apps.licensing import services
from apps.licensing.api_methods import API_METHODS
from apps.licensing.demo import usage_demo_seed
from apps.licensing.models import AccessToken, Activation, LicenseKey, Product
from apps.licensing.services.seats import Device
from apps.licensing.services.vendors import vendor_create
from apps.licensing.signing import public_key_xml
from apps.sdk_licensing.certificates import Application
from apps.sdk_licensing.models import DeveloperMachine
from apps.sdk_licensing.services import developer_machine_revoke, sdk_application_sign
from apps.usage.sessions import floating_sessions_refresh

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-1"
DEMO_VENDOR = "Demo Software Ltd"
SEED_ACTOR = Actor.for_system("seed_demo")


class Command(BaseCommand):
    help = "Create the demo vendor (demo@example.com / demo-password-1) with products and keys."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true",
                            help="Print base_url, a fresh token, product id, key and public key")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            vendor = self._vendor()
            if not Product.objects.for_vendor(vendor).exists():
                self._catalog(vendor)
            self._usage(vendor)
            if not AccessToken.objects.for_vendor(vendor).filter(name="Demo token").exists():
                services.token_create(vendor=vendor, actor=SEED_ACTOR, name="Demo token",
                                      permissions=API_METHODS)
        anomaly_demo_seed(vendor=vendor)  # a few days of Web API log, a detector, findings
        if options["json"]:
            self._print_json(vendor, options["base_url"])
        else:
            self.stdout.write(self.style.SUCCESS(
                f"Demo vendor ready: log in as {DEMO_EMAIL} / {DEMO_PASSWORD}"))

    def _vendor(self) -> Vendor:
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            user = User.objects.create_user(username="demo", email=DEMO_EMAIL,
                                            password=DEMO_PASSWORD)
        EmailAddress.objects.update_or_create(
            user=user, email=DEMO_EMAIL, defaults={"verified": True, "primary": True}
        )
        membership = Membership.objects.filter(user=user, role=Role.OWNER).select_related(
            "vendor").first()
        return membership.vendor if membership else vendor_create(owner=user, name=DEMO_VENDOR)

    def _catalog(self, vendor: Vendor) -> None:
        editor = services.product_create(
            vendor=vendor, actor=SEED_ACTOR, name="Acme Editor", f1_name="Pro",
            f2_name="Export", f3_name="Cloud sync", f8_name="Trial", trial_feature=8,
            default_max_machines=3, activation_form_enabled=True,
        )
        server = services.product_create(
            vendor=vendor, actor=SEED_ACTOR, name="Acme Build Server", f1_name="Standard",
            f2_name="Enterprise", default_max_machines=5,
        )
        alice = services.customer_create(vendor=vendor, actor=SEED_ACTOR, name="Alice Martin",
                                         email="alice@northwind.example",
                                         company_name="Northwind Traders")
        bob = services.customer_create(vendor=vendor, actor=SEED_ACTOR, name="Bob Chen",
                                       email="bob@contoso.example", company_name="Contoso")

        def make(product: Product, **spec) -> LicenseKey:
            return services.key_create(product=product, actor=SEED_ACTOR,
                                       spec=services.KeySpec(**spec))[0]

        # `notes` travel with the license (the Web API returns them, templates and resellers
        # see them); the customer's team and order numbers belong in the internal note.
        node_locked = make(editor, period=365, features=[True, True, False, False, False, False,
                           False, False], max_no_of_machines=3, customer=alice,
                           notes="Node-locked, 3 seats",
                           internal_note="Northwind Traders design team (Alice Martin). "
                                         "PO NW-4471, renews every March.")
        _seat(node_locked, "7c4a8d09ca3762af61e59520943dc26494f8941b", "ALICE-LAPTOP",
              "203.0.113.10")
        _seat(node_locked, "b1d5781111d84f7b3fe45a0852e59758cd7a87e5", "ALICE-DESKTOP",
              "203.0.113.11")
        floating = make(server, period=365, features=[False, True] + [False] * 6,
                        max_no_of_machines=5, customer=bob, notes="Floating, 5 concurrent",
                        internal_note="Contoso build farm, platform team (Bob Chen). "
                                      "PO CT-2024-118.")
        _seat(floating, "build-agent-01", "build-agent-01", "198.51.100.4",
              floating_for=dt.timedelta(minutes=5))
        make(editor, period=30, features=[False] * 7 + [True], max_no_of_machines=1,
             trial_activation=True, notes="Trial: 30 days from first activation")
        blocked = make(editor, period=365, max_no_of_machines=1, customer=bob,
                       internal_note="Blocked after a chargeback on order CT-2024-131.")
        services.key_set_blocked(key=blocked, actor=SEED_ACTOR, blocked=True)
        expired = make(server, period=30, max_no_of_machines=2, notes="Expired last year")
        services.key_extend(key=expired, actor=SEED_ACTOR, days=-400)
        make(editor, period=0, max_no_of_machines=0, notes="Not node-locked")
        _sdk(make(services.product_create(
            vendor=vendor, actor=SEED_ACTOR, name="Acme Imaging SDK", f1_name="Filters",
            f2_name="GPU", default_max_machines=3), period=365, max_no_of_machines=3,
            features=[True, False] + [False] * 6, customer=alice,
            notes="SDK: 3 developer machines"))

    def _usage(self, vendor: Vendor) -> None:
        """Two weeks of Web API log for the reports (floating build agents, office PCs)."""
        keys = LicenseKey.objects.for_vendor(vendor)
        floating = keys.filter(notes="Floating, 5 concurrent").first()
        node_locked = keys.filter(notes="Node-locked, 3 seats").first()
        if floating and node_locked:
            usage_demo_seed(vendor=vendor, floating=floating, node_locked=node_locked)
            # The reports read condensed sessions; without a beat process (make run's eager
            # defaults) they are condensed here once.
            floating_sessions_refresh(vendor=vendor)

    def _print_json(self, vendor: Vendor, base_url: str) -> None:
        _, token_string = services.token_create(
            vendor=vendor, actor=SEED_ACTOR,
            name=f"seed_demo --json {timezone.now():%Y-%m-%d %H:%M:%S}",
            permissions=API_METHODS,
        )
        product = Product.objects.for_vendor(vendor).order_by("id").first()
        assert product is not None  # handle() seeds the products first
        key = (product.keys.filter(block=False, expires__gt=timezone.now())
               .order_by("serial").first())
        self.stdout.write(json.dumps({
            "base_url": base_url,
            "token": token_string,
            "product_id": product.pk,
            "key": key.key,
            "rsa_public_key_xml": public_key_xml(vendor.signing_key.public_key_pem),
            "vendor_email": DEMO_EMAIL,
        }))


def _seat(key: LicenseKey, machine_code: str, friendly_name: str, ip: str,
          floating_for: dt.timedelta | None = None) -> None:
    now = timezone.now()
    Activation.objects.get_or_create(
        key=key, machine_code=machine_code, floating=floating_for is not None,
        defaults={"friendly_name": friendly_name, "ip": ip, "time": now,
                  "floating_expires": now + floating_for if floating_for else None},
    )


def _sdk(key: LicenseKey) -> None:
    """Two developer machines signed builds of Northwind's application with the SDK; the
    vendor revoked one (the SDK developers page shows both)."""
    for machine_code, name, builds in (("5f2b1c0e9d8a7b6c5d4e3f2a1b0c9d8e", "NW-BUILD-01", 3),
                                       ("a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4", "ALICE-LAPTOP", 1)):
        for build in range(builds):
            fingerprint = hashlib.sha256(f"{name}-{build}".encode()).hexdigest()
            sdk_application_sign(key=key, device=Device(machine_code, name, "203.0.113.10"),
                                 application=Application(f"northwind-viewer-1.{build}.whl",
                                                         fingerprint),
                                 actor=SEED_ACTOR)
    laptop = DeveloperMachine.objects.get(product=key.product,
                                          machine_code="a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4")
    developer_machine_revoke(machine=laptop, actor=SEED_ACTOR)

