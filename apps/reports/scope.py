"""Which keys a report covers, from what the person chose (product, customer, key)."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import Vendor
from apps.core.errors import DomainError
from apps.licensing.models import LicenseKey

UNKNOWN_KEY = ("No key {key} in your products. To see calls made with a key that does not "
               "exist (mistyped or guessed), choose the product it was used with.")


def report_keys(*, vendor: Vendor, product_id: int | None = None,
                customer_id: int | None = None, key: str = "") -> list[tuple[int, str]] | None:
    """(product id, key) pairs to narrow a report to, or None for every key in scope.

    The log keeps keys as typed, so a key that is not (or no longer) in the catalogue can
    still be reported on when its product is given."""
    if customer_id is None and not key:
        return None
    keys = LicenseKey.objects.filter(product__vendor=vendor)
    if product_id is not None:
        keys = keys.filter(product_id=product_id)
    if customer_id is not None:
        keys = keys.filter(customer_id=customer_id)
    if key:
        keys = keys.filter(key=key)
    pairs = list(keys.order_by("product_id", "key").values_list("product_id", "key"))
    if key and not pairs and customer_id is None:
        if product_id is None:
            raise DomainError(UNKNOWN_KEY.format(key=key), field="key")
        return [(product_id, key)]
    return pairs


def narrowed(rows: QuerySet, *, product_id: int | None = None,
             keys: list[tuple[int, str]] | None = None) -> QuerySet:
    """`rows` (anything with product_id and key: log rows, sessions, license keys) of one
    product and/or of the given (product id, key) pairs. The pairs filter by product ids and
    key strings separately (two indexable IN lists): a key string is 20 random letters, so in
    practice it names one key."""
    if product_id is not None:
        rows = rows.filter(product_id=product_id)
    if keys is not None:
        rows = rows.filter(product_id__in={p for p, _ in keys}, key__in={k for _, k in keys})
    return rows
