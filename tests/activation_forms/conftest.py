"""An open activation form on the tenant's product, and a clean rate-limit counter."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.audit.log import Actor
from apps.licensing.models import ActivationForm, Product
from apps.licensing.services.activation_forms import activation_form_create


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    """Failure counters live in the (process-wide) cache: each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


def open_form(product: Product, **fields) -> ActivationForm:
    if not product.activation_form_enabled:
        product.activation_form_enabled = True
        product.save(update_fields=["activation_form_enabled"])
    fields.setdefault("title", "Activate Desktop Suite")
    return activation_form_create(product=product, actor=Actor.for_system("test"), **fields)


@pytest.fixture
def form_page(tenant) -> ActivationForm:
    return open_form(tenant.product, instructions="Find the code under Help → License.\n\n"
                                                  "Then press the button.")


@dataclass
class EndUser:
    """An anonymous visitor of one form, from one IP address."""

    form: ActivationForm
    ip: str = "203.0.113.7"

    @property
    def url(self) -> str:
        return reverse("activation_forms:activation_form", args=[self.form.slug])

    def get(self):
        return Client(REMOTE_ADDR=self.ip).get(self.url)

    def submit(self, key: str, machine_code: str, friendly_name: str = ""):
        return Client(REMOTE_ADDR=self.ip).post(self.url, {
            "key": key, "machine_code": machine_code, "friendly_name": friendly_name})


@pytest.fixture
def end_user(form_page) -> EndUser:
    return EndUser(form_page)
