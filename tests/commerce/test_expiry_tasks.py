"""The hourly expiry task (apps/commerce/expiry_tasks.py) and the renewal link it passes to
the notices (apps/commerce/renewal.py)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from apps.audit.log import Actor
from apps.commerce.expiry_tasks import expiry_hourly_task
from apps.commerce.models import PaymentForm
from apps.commerce.renewal import renewal_url_for
from apps.licensing.models import LicenseKey, Product
from apps.licensing.services import key_set_expiry
from apps.licensing.services.expiry import product_expiry_settings_update
from tests.conftest import Tenant
from tests.factories import CustomerFactory, ProductFactory, make_key
from tests.vendor_portal.payments_data import form_of

SYSTEM = Actor.for_system("test")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def product(tenant: Tenant) -> Product:
    return product_expiry_settings_update(product=tenant.product, actor=SYSTEM,
                                          expiry_notices_enabled=True, expiry_notice_days="7",
                                          block_expired=True)


def _key(product: Product, left: dt.timedelta, email: str = "bo@customer.example"
         ) -> LicenseKey:
    customer = CustomerFactory(vendor=product.vendor, email=email)
    key = make_key(product, customer=customer)
    return key_set_expiry(key=key, actor=SYSTEM, expires=timezone.now() + left)


def test_the_renewal_link_is_the_absolute_address_of_an_active_form_of_the_product(
        tenant, settings):
    settings.PORTAL_BASE_URL = "https://licensing.example.com/"
    form = form_of(tenant)

    assert renewal_url_for(tenant.key) == f"https://licensing.example.com/pay/{form.public_id}/"


def test_no_renewal_link_without_an_active_form_of_the_product(tenant):
    assert renewal_url_for(tenant.key) == ""
    form = form_of(tenant)
    PaymentForm.objects.filter(pk=form.pk).update(active=False)
    assert renewal_url_for(tenant.key) == ""
    other_product_key = make_key(ProductFactory(vendor=tenant.vendor))
    form_of(tenant, title="Active again")
    assert renewal_url_for(other_product_key) == ""


def test_the_task_mails_the_notice_with_the_renewal_link_then_blocks_expired_keys(
        product, tenant, settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.PORTAL_BASE_URL = "https://licensing.example.com"
    form = form_of(tenant)
    expiring = _key(product, dt.timedelta(days=6))
    expired = _key(product, -dt.timedelta(hours=1), email="cy@customer.example")

    with django_capture_on_commit_callbacks(execute=True):
        result = expiry_hourly_task.delay().get()

    assert result == {"sent": 2, "blocked": 1}
    by_address = {mail.to[0]: mail for mail in mailoutbox}
    assert set(by_address) == {"bo@customer.example", "cy@customer.example"}
    link = f"https://licensing.example.com/pay/{form.public_id}/"
    assert link in by_address["bo@customer.example"].body
    assert expiring.key in by_address["bo@customer.example"].body
    assert "has expired" in by_address["cy@customer.example"].subject
    expired.refresh_from_db()
    expiring.refresh_from_db()
    assert expired.block and not expiring.block


def test_the_task_is_registered_with_a_worker_and_scheduled_hourly(settings):
    """Not a `tasks` module, so not autodiscovered: a fresh process (as a worker starts) must
    know the task by the name the beat schedule sends."""
    entry = settings.CELERY_BEAT_SCHEDULE["key-expiry-hourly"]
    assert entry["schedule"].hour == set(range(24))
    code = ("import django; django.setup(); from licensing_portal.celery import app; "
            "app.loader.import_default_modules(); import sys; "
            f"sys.exit(0 if {entry['task']!r} in app.tasks else 3)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "licensing_portal.settings"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
