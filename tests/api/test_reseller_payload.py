"""Keys a reseller issued carry the Reseller object in ModelVersion 3 responses."""

from __future__ import annotations

import base64
import json

from django.test import Client
from licensing.models import Reseller as ClientReseller

from apps.audit.log import Actor
from apps.licensing.api_methods import API_METHODS
from apps.licensing.services import token_create
from tests.factories import ProductFactory, make_activation, make_resold_key, make_vendor


def test_activate_of_a_resold_key_names_the_reseller_in_model_version_3(db):
    vendor = make_vendor()
    product = ProductFactory(vendor=vendor)
    key = make_resold_key(product, url="https://partner.example", phone="+1 555")
    make_activation(key, "pc")
    _, token = token_create(vendor=vendor, actor=Actor.for_system("t"), name="t",
                            permissions=API_METHODS)

    for version, expected in ((3, "Partner"), (2, None)):
        body = Client().post("/api/key/Activate", {
            "token": token, "ProductId": product.pk, "Key": key.key, "MachineCode": "pc",
            "Sign": "True", "SignMethod": 1, "ModelVersion": version}).json()
        license_json = json.loads(base64.b64decode(body["licenseKey"]))
        if expected is None:
            assert "Reseller" not in license_json
        else:
            # The Python client builds its Reseller class from exactly these keys.
            resold = ClientReseller(**license_json["Reseller"])
            assert (resold.Name, resold.Url, resold.Phone) == (
                expected, "https://partner.example", "+1 555")
