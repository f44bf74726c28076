"""Permission-matrix rows for the product's expiry settings page (notices to customers,
blocking of expired keys). The notices themselves are shown on the key page (key_detail)."""

from __future__ import annotations

from .vendor_matrix import WRITE_OBJECT_PAGE, WRITE_OBJECT_POST, Row, World


def _product(w: World) -> dict:
    return {"product_id": w.tenant.product.pk}


ROWS: dict[str, Row] = {
    "product_expiry": Row(kwargs=_product, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                          data=lambda w: {"expiry_notices_enabled": "on",
                                          "expiry_notice_days": "14, 3", "block_expired": "on"}),
}
