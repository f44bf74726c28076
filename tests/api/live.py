"""A live server for tests through the real Cryptolens Python client (`licensing` from PyPI):
a vendor with one product and an all-permissions token, and the client pointed at the server.

The `server` fixture is offered to every module under tests/api by its conftest."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pytest
from licensing.internal import HelperMethods

from apps.accounts.models import Vendor
from apps.audit.log import Actor
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import Product as ProductModel
from apps.licensing.services import token_create
from apps.licensing.signing import public_key_xml
from tests.factories import ProductFactory, make_vendor


@dataclass
class Server:
    """A vendor with one product and an all-permissions token, behind a live server."""

    base: str
    vendor: Vendor
    product: ProductModel
    token: str
    pubkey: str

    def token_for(self, permissions: list[str], **locks) -> str:
        return token_create(vendor=self.vendor, actor=Actor.for_system("test"), name="scoped",
                            permissions=permissions, **locks)[1]

    def post(self, method: str, **params) -> dict:
        """A raw form POST, for what the client does not expose."""
        body = urllib.parse.urlencode({"token": self.token, **params}).encode()
        with urllib.request.urlopen(self.base + method, body, timeout=10) as response:
            assert response.status == 200
            return json.loads(response.read())


@pytest.fixture
def server(live_server) -> Server:
    previous = HelperMethods.server_address
    HelperMethods.server_address = live_server.url + "/api/"
    vendor = make_vendor("Compat vendor")
    product = ProductFactory(vendor=vendor, trial_period_days=7, trial_feature=1)
    token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="all",
                         permissions=API_METHODS)[1]
    yield Server(live_server.url + "/api/", vendor, product, token,
                 public_key_xml(vendor.signing_key.public_key_pem))
    HelperMethods.server_address = previous
