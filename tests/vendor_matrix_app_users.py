"""Permission-matrix rows for the application users (userauth): the vendor-wide list and the
actions it shares with the vendor's customer page."""

from __future__ import annotations

from apps.audit.log import Actor
from apps.licensing.models import AppUser
from apps.licensing.services import app_user_register
from tests.matrix import LOGIN

from .vendor_matrix import NOT_ALLOWED, WRITE_OBJECT_POST, Row, World


def _app_user(w: World) -> dict:
    """A user of the tenant's application, of tenant.customer (made once, outside the
    rolled-back requests)."""
    user = AppUser.objects.filter(vendor=w.tenant.vendor).first() or app_user_register(
        vendor=w.tenant.vendor, actor=Actor.for_system("test"), username="matrix-user",
        password="matrix pw", customer=w.tenant.customer)
    return {"app_user_id": user.pk}


ROWS: dict[str, Row] = {
    # The vendor-wide list: "your vendor's" users, another vendor sees his own.
    "app_user_list": Row(),
    "app_user_remove": Row(kwargs=_app_user, get=NOT_ALLOWED, post=WRITE_OBJECT_POST),
    # The token is shown on the response itself (200), once.
    "app_user_reset_password": Row(kwargs=_app_user, get=NOT_ALLOWED,
                                   post=(LOGIN, 200, 200, 403, 404)),
}
