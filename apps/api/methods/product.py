"""product/* methods."""

from __future__ import annotations

import math
from typing import Any

from apps.licensing.license_payload import iso
from apps.licensing.models import FEATURE_NUMBERS, Product

from .. import access, errors
from ..access import Reach
from ..context import ApiContext
from ..registry import Param, api_method
from ..search_query import apply_order, apply_search
from .common import P_PRODUCT, listed_key

PAGE_SIZE = 99

# Cryptolens' FeatureType (cryptolens-dotnet Models/WebAPIModels.cs) and AlgorithmTypes:
# keys here are random four-by-five-letter strings, i.e. SKM15 (1), never the legacy SKGL (0).
FEATURE_DEFAULT, FEATURE_TIME_LIMITED, FEATURE_TRIAL = 0, 1, 2
KEY_ALGORITHM_SKM15 = 1


def feature_type(product: Product, number: int) -> int:
    """The feature's type as Cryptolens marks it: the product's trial feature is "Trial", its
    time-limited feature "Time-limited" (a feature that is both is the trial)."""
    if number == product.trial_feature:
        return FEATURE_TRIAL
    if number == product.time_limited_feature:
        return FEATURE_TIME_LIMITED
    return FEATURE_DEFAULT


def product_json(product: Product) -> dict[str, Any]:
    """A product as GetProducts' example answer has it (app.cryptolens.io/docs/api/v3/
    GetProducts; .NET `Product`): creation date in ISO form without a zone, like every date
    of the unsigned models; `password` (a legacy SKGL product secret) is always empty here."""
    definitions: dict[str, Any] = {
        f"f{n}": {"name": product.feature_name(n), "type": feature_type(product, n)}
        for n in FEATURE_NUMBERS
    }
    definitions.update({"allLicensesTimeLimited": False, "blockExpiredLicenses": False})
    return {
        "id": product.pk, "name": product.name, "creationDate": iso(product.created),
        "description": product.description, "password": "", "isPublic": False,
        "keyAlgorithm": KEY_ALGORITHM_SKM15, "featureDefinitions": definitions,
        "dataObjects": [
            {"id": d.pk, "name": d.name, "stringValue": d.string_value, "intValue": d.int_value}
            for d in product.data_objects.all()
        ],
    }


@api_method(
    "product.GetProducts", reach=Reach.LISTING,
    summary="List the vendor's products (a product- or key-locked token: its product only), "
            "with their feature definitions and product data objects.",
    returns="products: [{id, name, creationDate, description, password (always \"\"), "
            "isPublic, keyAlgorithm (1 = SKM15), featureDefinitions: {f1..f8: {name, type "
            "(0 default, 1 time-limited, 2 trial)}, allLicensesTimeLimited, "
            "blockExpiredLicenses}, dataObjects: [{id, name, stringValue, intValue}]}]",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED),
)
def get_products(ctx: ApiContext) -> dict[str, Any]:
    products = access.products(ctx.token).prefetch_related("data_objects").order_by("id")
    return {"products": [product_json(p) for p in products]}


@api_method(
    "product.GetKeys", reach=Reach.LISTING,
    summary="List a product's keys, 99 a page, sorted and filtered by a search query.",
    params=(P_PRODUCT, Param("Page", "int", "1-based page number.", "1"),
            Param("OrderBy", "string", '"<field> [ascending|descending]": ID, Created, '
                  'Expires, Customer, Period, Block, F1..F8, e.g. "F1 descending".',
                  "ID ascending"),
            Param("SearchQuery", "string",
                  "Cryptolens' LINQ-like query: comparisons (= != < <= > >=) joined by "
                  "and/or/not and parentheses, e.g. `id=2 or id=3`, `key.contains(\"ITVBC\")`, "
                  "`created >= DateTime(2015,01,01)`, `expires <= today` (also yesterday, "
                  "tomorrow, monthback, monthforward), `F1 = true`, `notes=\"Bob\"`, "
                  "`customer.name=\"Bob\"`, `resellerid=-1`, `trialactivation = true`, "
                  "`ActivatedMachines.Count() > 0`, "
                  "`ActivatedMachines.Count(it.Mid=\"code\") > 0`, "
                  "`dataobjects.count(it.name=\"usagecount\") > 0`, "
                  "`allowedmachines.contains(\"code\")`, or a key string alone. Names are "
                  "case-insensitive.", "")),
    returns="licenseKeys (unsigned, camelCase, ISO dates), returned, total, pageCount",
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
        "licenseKeys": [listed_key(ctx.token, k) for k in items],
        "returned": len(items), "total": total,
        "pageCount": math.ceil(total / PAGE_SIZE),
    }
