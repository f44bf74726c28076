"""Reports name products: the vendor's product names, "Unknown product 3105" for an id the
log kept that is none of the vendor's products."""

from __future__ import annotations

import datetime as dt

from apps.reports.floating import floating_usage
from apps.reports.products import product_choices, product_labels
from apps.usage.models import WebApiLog
from apps.usage.sessions import floating_sessions_refresh
from tests.factories import ProductFactory


def test_labels_name_the_vendors_products_and_mark_the_others_unknown(tenant, other_tenant):
    deleted = ProductFactory(vendor=tenant.vendor, name="Gone")
    deleted_id = deleted.pk
    deleted.delete()

    labels = product_labels(vendor=tenant.vendor, ids=[
        tenant.product.pk, other_tenant.product.pk, deleted_id, 3105, None])

    assert {pk: (str(label), label.known) for pk, label in labels.items()} == {
        tenant.product.pk: (tenant.product.name, True),
        # Another vendor's product is unknown here: its name never shows.
        other_tenant.product.pk: (f"Unknown product {other_tenant.product.pk}", False),
        deleted_id: (f"Unknown product {deleted_id}", False),
        3105: ("Unknown product 3105", False),
        None: ("No product", False),
    }


def test_choices_keep_an_asked_product_that_is_none_of_the_vendors():
    products = [(7, "Desktop Suite")]
    assert product_choices(products, "3105") == [(7, "Desktop Suite"),
                                                 (3105, "Unknown product 3105")]
    for asked in ("7", "", None, "abc", "-4", "0", str(2**64)):
        assert product_choices(products, asked) == products, asked


def test_floating_usage_names_each_keys_product(tenant):
    noon = dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC)
    for product_id, key in [(tenant.product.pk, tenant.key.key), (3105, "GHOST-GHOST-GHOST-GHOST")]:
        WebApiLog.objects.create(vendor=tenant.vendor, time=noon, product_id=product_id, key=key,
                                 state=2014, machine_code="m1", method="key.Activate",
                                 floating_expires=noon + dt.timedelta(minutes=10))
    floating_sessions_refresh(vendor=tenant.vendor)

    usage = floating_usage(vendor=tenant.vendor, start=noon - dt.timedelta(hours=1),
                           end=noon + dt.timedelta(hours=1))

    assert {k.key: str(k.product) for k in usage.keys} == {
        tenant.key.key: tenant.product.name, "GHOST-GHOST-GHOST-GHOST": "Unknown product 3105"}
