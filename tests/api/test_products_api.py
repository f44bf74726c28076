"""product/GetProducts and product/GetKeys through the official Python client (`licensing`
0.54) against a live server: Cryptolens' full product shape (GetProducts' documented example
answer, .NET `Product`), search queries as the client sends them, locks and tenants."""

from __future__ import annotations

from licensing.methods import Product

from apps.api import errors
from apps.licensing.models import Activation, DataObject
from tests.factories import ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401


def test_get_products_has_cryptolens_full_shape(server):
    product = server.product
    product.name, product.description = "Editor", "The editor"
    product.f1_name, product.f2_name = "Time-limited", "Trial"
    product.trial_feature, product.time_limited_feature = 2, 1
    product.save()
    DataObject.objects.create(product=product, referencer_type=DataObject.PRODUCT,
                              name="cryptolens_orderby", string_value="ID (descending)",
                              int_value=4)

    products, message = Product.get_products(server.token)

    assert message == ""
    assert products == [{
        "id": product.pk, "name": "Editor",
        "creationDate": product.created.strftime("%Y-%m-%dT%H:%M:%S"),
        "description": "The editor", "password": "", "isPublic": False, "keyAlgorithm": 1,
        "featureDefinitions": {
            "f1": {"name": "Time-limited", "type": 1}, "f2": {"name": "Trial", "type": 2},
            **{f"f{n}": {"name": f"F{n}", "type": 0} for n in range(3, 9)},
            "allLicensesTimeLimited": False, "blockExpiredLicenses": False,
        },
        "dataObjects": [{"id": DataObject.objects.get(product=product).pk,
                         "name": "cryptolens_orderby", "stringValue": "ID (descending)",
                         "intValue": 4}],
    }]


def test_get_products_lists_the_vendors_products_only(server):
    second = ProductFactory(vendor=server.vendor, name="Second")
    foreign = ProductFactory(vendor=make_vendor("Other products vendor"), name="Foreign")
    DataObject.objects.create(product=foreign, referencer_type=DataObject.PRODUCT,
                              name="foreign-secret")
    key = make_key(server.product)
    DataObject.objects.create(key=key, name="key-object")  # a key's object is no product's

    products, _ = Product.get_products(server.token)

    assert [p["id"] for p in products] == [server.product.pk, second.pk]
    assert all(p["dataObjects"] == [] for p in products)
    assert "Foreign" not in str(products) and "foreign-secret" not in str(products)


def test_a_product_locked_token_lists_its_product_only(server):
    ProductFactory(vendor=server.vendor, name="Elsewhere")
    token = server.token_for(["product.GetProducts"], product=server.product)

    products, _ = Product.get_products(token)

    assert [p["id"] for p in products] == [server.product.pk]


def test_get_products_without_the_permission_is_access_denied(server):
    token = server.token_for(["product.GetKeys"])
    assert Product.get_products(token) == (None, errors.ACCESS_DENIED)


def test_get_keys_with_search_queries_through_the_client(server):
    counted, activated, plain = (make_key(server.product) for _ in range(3))
    DataObject.objects.create(key=counted, name="usagecount", int_value=7)
    Activation.objects.create(key=activated, machine_code="machine code")

    found, message, paging = Product.get_keys(
        server.token, server.product.pk,
        search_query='dataobjects.count(it.name="usagecount") > 0')
    assert message == ""
    assert [k["key"] for k in found] == [counted.key]
    assert found[0]["dataObjects"][0]["intValue"] == 7
    assert paging == {"returned": 1, "total": 1, "pageCount": 1}

    found, _, _ = Product.get_keys(server.token, server.product.pk,
                                   search_query="ActivatedMachines.Count() > 0")
    assert [k["key"] for k in found] == [activated.key]
    assert found[0]["activatedMachines"][0]["mid"] == "machine code"

    found, _, _ = Product.get_keys(
        server.token, server.product.pk, order_by="ID descending",
        search_query=f'id={counted.serial} or (key="{plain.key}")')
    assert [k["key"] for k in found] == [plain.key, counted.key]


def test_get_keys_garbage_query_is_incorrect_input_through_the_client(server):
    make_key(server.product)
    assert Product.get_keys(server.token, server.product.pk,
                            search_query="id = = 1") == (None, errors.INCORRECT_INPUT)
    assert Product.get_keys(server.token, server.product.pk,
                            order_by="Sideways") == (None, errors.INCORRECT_INPUT)


def test_get_keys_of_another_vendors_product_is_not_found(server):
    foreign = ProductFactory(vendor=make_vendor("Other keys vendor"))
    make_key(foreign)
    assert Product.get_keys(server.token, foreign.pk) == (None, errors.PRODUCT_NOT_FOUND)


def test_a_key_locked_token_finds_its_own_key_only(server):
    own, other = make_key(server.product), make_key(server.product)
    token = server.token_for(["product.GetKeys"], locked_key=own, product=server.product)

    found, _, paging = Product.get_keys(token, server.product.pk, search_query="id > 0")

    assert [k["key"] for k in found] == [own.key]
    assert paging["total"] == 1 and other.key not in str(found)
