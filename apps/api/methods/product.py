"""product/* methods."""

from __future__ import annotations

import math
from typing import Any

from apps.licensing.license_payload import basic_key

from .. import access, errors
from ..access import Reach
from ..context import ApiContext
from ..registry import Param, api_method
from ..search_query import apply_order, apply_search
from .common import P_PRODUCT

PAGE_SIZE = 99


@api_method("product.GetProducts", reach=Reach.LISTING, summary="List the vendor's products.",
            returns="products: id, name, description, feature names",
            errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED))
def get_products(ctx: ApiContext) -> dict[str, Any]:
    products = access.products(ctx.token).order_by("id")
    return {"products": [
        {"id": p.pk, "name": p.name, "description": p.description,
         "featureDefinitions": [{"number": n, "name": name}
                                for n, name in enumerate(p.feature_names, start=1)],
         "dataObjects": []}
        for p in products
    ]}


@api_method(
    "product.GetKeys", reach=Reach.LISTING,
    summary="List a product's keys, 99 a page, sorted and filtered.",
    params=(P_PRODUCT, Param("Page", "int", "1-based page number.", "1"),
            Param("OrderBy", "string", 'e.g. "ID ascending", "Expires descending", '
                  '"F1 descending".', "ID ascending"),
            Param("SearchQuery", "string",
                  'Conditions joined by "and"/"&&": `Block = true`, `F1 = true`, '
                  '`MaxNoOfMachines > 2`, `Period >= 30`, `ID = 5`, `TrialActivation = true`, '
                  '`ActivatedMachines.Count() > 0`, `Notes.Contains("text")`, '
                  '`Key.Contains("ABC")`, `AllowedMachines.Contains("code")`, '
                  '`Customer.Email = "a@b.c"`, `Expires < DateTime(2030,1,1)`.')),
    returns="licenseKeys, returned, total, pageCount",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            errors.PRODUCT_NOT_FOUND),
)
def get_keys(ctx: ApiContext) -> dict[str, Any]:
    product = ctx.product()
    page = ctx.params.int("Page", 1, minimum=1, maximum=10**7)
    keys = access.keys(ctx.token, product.keys.select_related("customer").prefetch_related(
        "activations", "data_objects"))
    keys = apply_search(keys, ctx.params.str("SearchQuery", max_length=2000))
    keys = apply_order(keys, ctx.params.str("OrderBy", "ID ascending", max_length=100))
    total = keys.count()
    items = list(keys[(page - 1) * PAGE_SIZE: page * PAGE_SIZE])
    return {
        "licenseKeys": [basic_key(k) for k in items],
        "returned": len(items), "total": total,
        "pageCount": math.ceil(total / PAGE_SIZE),
    }
