"""Product names for report rows.

The Web API log keeps the product id a client sent, so a row may name a product that was
deleted since, or that never existed here (a guessed id, or a log imported from Cryptolens,
whose product ids are those of the Cryptolens account). Reports show the product's name, and
such an id as "Unknown product 3105", never a bare number."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from apps.accounts.models import Vendor
from apps.licensing.models import Product

NO_PRODUCT = "No product"


def unknown_product(product_id: int) -> str:
    return f"Unknown product {product_id}"


@dataclass(frozen=True)
class ProductLabel:
    """How a report names a product id: `known` when it is one of the vendor's products."""

    id: int | None
    name: str
    known: bool

    def __str__(self) -> str:
        return self.name


def product_labels(*, vendor: Vendor, ids: Iterable[int | None]
                   ) -> dict[int | None, ProductLabel]:
    """A label for each of `ids`, from one query for the vendor's products among them."""
    wanted = set(ids)
    names = dict(Product.objects.for_vendor(vendor).filter(
        pk__in={pk for pk in wanted if pk is not None}).values_list("pk", "name"))
    return {pk: (ProductLabel(pk, NO_PRODUCT, False) if pk is None
                 else ProductLabel(pk, names[pk], True) if pk in names
                 else ProductLabel(pk, unknown_product(pk), False))
            for pk in wanted}


def product_choices(products: list[tuple[int, str]], asked: object
                    ) -> list[tuple[int, str]]:
    """The vendor's products for a report's product filter, plus the product id asked for
    when it is none of them: the log outlives products (and an imported log names products
    that were never here), so a link to such a product's keys narrows the report instead of
    failing with "Select a valid choice"."""
    try:
        asked_id = int(str(asked))
    except ValueError:
        return products
    if 0 < asked_id < 2**63 and all(pk != asked_id for pk, _ in products):
        return [*products, (asked_id, unknown_product(asked_id))]
    return products
