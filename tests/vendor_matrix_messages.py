"""Permission-matrix rows for the vendor portal's broadcast messages pages."""

from __future__ import annotations

from apps.audit.log import Actor
from apps.licensing.models import Message
from apps.licensing.services import message_create
from tests.matrix import LOGIN

from .vendor_matrix import NOT_ALLOWED, Row, World


def _message(w: World) -> dict:
    """A message of the tenant (made once, outside the rolled-back requests)."""
    message = Message.objects.for_vendor(w.tenant.vendor).first() or message_create(
        vendor=w.tenant.vendor, actor=Actor.for_system("matrix"), content="Matrix news",
        channel="stable")
    return {"message_id": message.pk}


ROWS: dict[str, Row] = {
    "message_list": Row(),
    # POST only; another vendor's owner broadcasts to his own applications.
    "message_create": Row(get=NOT_ALLOWED, post=(LOGIN, 302, 302, 403, 302),
                          data=lambda w: {"content": "Version 2.0 is out", "channel": "stable"}),
    # Another vendor's message id is answered like a removed one: back to his own list with
    # "That message was already removed.", nothing removed.
    "message_remove": Row(kwargs=_message, get=NOT_ALLOWED, post=(LOGIN, 302, 302, 403, 302),
                          writes=(False, True, True, False, False)),
}
