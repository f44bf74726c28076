"""Permission-matrix rows for the vendor portal's license-server configurations pages."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from apps.license_server.models import LicenseServerConfiguration
from apps.license_server.wheel import LICENSE_SERVER
from tests.matrix import LOGIN

from .vendor_matrix import (
    NOT_ALLOWED,
    READ_OBJECT,
    READ_PAGE,
    WRITE_OBJECT_POST,
    WRITE_PAGE,
    Row,
    World,
)


def _configuration(w: World) -> dict:
    """A configuration of the tenant (made once, outside the rolled-back requests)."""
    configuration = LicenseServerConfiguration.objects.filter(vendor=w.tenant.vendor).first() \
        or LicenseServerConfiguration.objects.create(
            vendor=w.tenant.vendor, name="Matrix server",
            public_key_pem=w.tenant.vendor.signing_key.public_key_pem,
            upload_secret_hash="-", valid_until=timezone.now() + dt.timedelta(days=30))
    return {"configuration_id": configuration.pk}


# No keys: the other vendor's owner creates one in his own vendor with the same data.
CONFIGURATION_DATA = {"name": "Matrix site", "valid_until": "2030-01-01", "keys": ""}
# The license server's wheel: the same file for every vendor, so any member may fetch it. It
# exists once `make setup` has built it; before, every member gets the page saying how (404).
# tests/license_server/test_wheel.py checks both cases whatever this checkout holds.
WHEEL = READ_PAGE if LICENSE_SERVER.built() else (LOGIN, 404, 404, 404, 404)

ROWS: dict[str, Row] = {
    "license_server_list": Row(),
    # The signed file (with the server's private key) is shown on the response itself.
    "license_server_create": Row(get=WRITE_PAGE, post=(LOGIN, 200, 200, 403, 200),
                                 data=lambda w: CONFIGURATION_DATA),
    "license_server_detail": Row(kwargs=_configuration, get=READ_OBJECT),
    "license_server_wheel": Row(get=WHEEL),
    "license_server_revoke": Row(kwargs=_configuration, get=NOT_ALLOWED,
                                 post=WRITE_OBJECT_POST),
}
