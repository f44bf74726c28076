"""Fixtures of the webhook tests: a receiver process, private addresses allowed (the
receiver listens on 127.0.0.1), a vendor with a product and a key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from apps.accounts.models import Vendor
from apps.audit.log import Actor
from apps.licensing.models import LicenseKey, Product
from apps.webhooks.models import WebhookEndpoint
from apps.webhooks.services import endpoint_create
from tests.factories import ProductFactory, make_key, make_vendor

from .support import Receiver

ACTOR = Actor.for_system("test")


@pytest.fixture
def receiver(tmp_path) -> Iterator[Receiver]:
    started = Receiver(tmp_path / "receiver").start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def allow_private(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    return settings


@dataclass
class Shop:
    vendor: Vendor
    product: Product
    key: LicenseKey

    def endpoint(self, url: str, events: list[str] | None = None
                 ) -> tuple[WebhookEndpoint, str]:
        return endpoint_create(vendor=self.vendor, actor=ACTOR, url=url,
                               events=events or ["key.blocked", "key.created"])


def make_shop(name: str = "Hooks Inc") -> Shop:
    vendor = make_vendor(name)
    product = ProductFactory(vendor=vendor)
    return Shop(vendor, product, make_key(product))


@pytest.fixture
def shop(db) -> Shop:
    return make_shop()
