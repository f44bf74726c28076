"""Permission-matrix rows for the vendor portal's SDK licensing pages of a product: its
developer machines (revoke, allow again) and the signatures they made."""

from __future__ import annotations

from apps.audit.log import Actor
from apps.licensing.services.seats import Device
from apps.sdk_licensing.certificates import Application
from apps.sdk_licensing.models import DeveloperMachine
from apps.sdk_licensing.services import developer_machine_revoke, sdk_application_sign
from apps.sdk_licensing.wheel import SDK_SIGNER

from .factories import make_key
from .vendor_matrix import (
    LOGIN,
    NOT_ALLOWED,
    READ_OBJECT,
    READ_PAGE,
    WRITE_OBJECT_POST,
    Row,
    World,
)


def _machine(w: World, code: str) -> DeveloperMachine:
    """A developer machine of the tenant's product that signed once (made once, outside the
    rolled-back requests), on a key of its own so that the tenant's key keeps its seats."""
    product = w.tenant.product
    machine = DeveloperMachine.objects.filter(product=product, machine_code=code).first()
    if machine is None:
        sdk_application_sign(key=make_key(product, max_no_of_machines=1),
                             device=Device(code, f"Matrix {code}", "192.0.2.7"),
                             application=Application("matrix.py", "ab" * 32),
                             actor=Actor.for_system("matrix"))
        machine = DeveloperMachine.objects.get(product=product, machine_code=code)
    return machine


def _active_machine(w: World) -> dict:
    return {"product_id": w.tenant.product.pk, "machine_id": _machine(w, "matrix-dev").pk}


def _revoked_machine(w: World) -> dict:
    """A revoked machine: allowing it again is a change (an object-log entry)."""
    machine = _machine(w, "matrix-dev-revoked")
    if not machine.revoked:
        developer_machine_revoke(machine=machine, actor=Actor.for_system("matrix"))
    return {"product_id": w.tenant.product.pk, "machine_id": machine.pk}


# The SDK signer's wheel: the same file for every vendor, once `make setup` has built it;
# before, every member gets the page saying how (404). tests/sdk_licensing/test_wheel.py checks
# both cases whatever this checkout holds.
WHEEL = READ_PAGE if SDK_SIGNER.built() else (LOGIN, 404, 404, 404, 404)

ROWS: dict[str, Row] = {
    "sdk_signer_wheel": Row(get=WHEEL),
    "sdk_machine_list": Row(kwargs=lambda w: {"product_id": w.tenant.product.pk},
                            get=READ_OBJECT),
    "sdk_certificate_list": Row(kwargs=lambda w: {"product_id": w.tenant.product.pk},
                                get=READ_OBJECT),
    "sdk_machine_revoke": Row(kwargs=_active_machine, get=NOT_ALLOWED, post=WRITE_OBJECT_POST),
    "sdk_machine_restore": Row(kwargs=_revoked_machine, get=NOT_ALLOWED,
                               post=WRITE_OBJECT_POST),
}
