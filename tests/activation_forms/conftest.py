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

# Machine codes as the official clients print them (apps/licensing/machine_codes.py): a form
# accepts only these formats unless its vendor sets a pattern.
UUID = "4C4C4544-0035-4E10-8033-B3C04F4A4B32"  # an SMBIOS UUID, as Get-CimInstance prints it
NEW_PC = "537b3abd0264ab1ce2deae9e3807d11ad876466cf3da2daff51d49cf3f6fc05a"  # of UUID: Python
# GetMachineCode(v=2) and .NET GetMachineCodePI(v: 2): SHA-256 of its UTF-8 bytes, lower-case
OFFLINE_PC = "4AEBD2DB39B7DEBA5CFD1F0DE2ABD0D12FFD112E663D7022655ACF922F0BF816"  # of UUID: .NET
# GetMachineCodePI(v: 10): SHA-256 of the UTF-16 wmic-style line, upper-case
APPROVED_PC = "RPI_28D5DDCD90810345ADC282B98E89F8F0C141D18A93B95781CE9B04B941AA0A81"  # .NET on
# a Raspberry Pi with Serial 10000000abcdef01
OTHER_PC = "cf7a0f181bdc8fba9229"  # Node.js GetMachineCodeShort()
SHORT_PC = "61843235"  # .NET SKM.getMachineCode(SKM.getEightDigitsLongHash), from its docs
REGISTERED_PC = "5ee9ff88945bd6510f0ce6e33d4ab44ceedf55afec57e4cd4aaf838fdf9bcb76"


@pytest.fixture
def registered_pc(tenant) -> str:
    """The tenant key's activated device, with a machine code an official client prints."""
    tenant.activation.machine_code = REGISTERED_PC
    tenant.activation.save(update_fields=["machine_code"])
    return REGISTERED_PC


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
