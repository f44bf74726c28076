import datetime as dt

import pytest
from django.utils import timezone

from apps.licensing import selectors
from apps.licensing.models import LicenseKey

from ..factories import CustomerFactory, ProductFactory, make_activation, make_key


@pytest.fixture
def catalog(tenant):
    """A product with one key of each kind, and keys of another product that must not show."""
    product = ProductFactory(vendor=tenant.vendor)
    alice = CustomerFactory(vendor=tenant.vendor, name="Alice Martin",
                            email="alice@northwind.example", company_name="Northwind")
    keys = {
        "alice": make_key(product, customer=alice, max_no_of_machines=3),
        "noted": make_key(product, notes="Refunded after a chargeback"),
        "seated": make_key(product, max_no_of_machines=5),
        "blocked": make_key(product, block=True),
        "expired": make_key(product, period=-1),
        "trial": make_key(product, trial_activation=True),
    }
    make_activation(keys["seated"], "build-agent-01", friendly_name="CI runner")
    make_activation(keys["seated"], "build-agent-02")
    make_activation(keys["seated"], "laptop-77")
    make_activation(keys["alice"], "alice-pc", friendly_name="ALICE-DESKTOP")
    # Another product of the vendor, matching every search: never listed.
    other = ProductFactory(vendor=tenant.vendor)
    stray = make_key(other, customer=alice, notes="chargeback", block=True, period=-1,
                     trial_activation=True)
    make_activation(stray, "build-agent-01")
    return product, keys


def _names(result, keys):
    by_pk = {k.pk: name for name, k in keys.items()}
    return {by_pk[k.pk] for k in result}


def test_without_query_lists_every_key_of_the_product_newest_first(catalog):
    product, keys = catalog
    result = list(selectors.key_list(product=product))
    assert len(result) == len(keys)
    assert [k.serial for k in result] == sorted((k.serial for k in result), reverse=True)


def test_search_by_key_string_is_case_insensitive(catalog):
    product, keys = catalog
    part = keys["noted"].key[6:17].lower()
    assert _names(selectors.key_list(product=product, query=f"  {part} "), keys) == {"noted"}


@pytest.mark.parametrize("query", ["alice martin", "NORTHWIND.example", "northwind"])
def test_search_by_customer_name_email_or_company(catalog, query):
    product, keys = catalog
    assert _names(selectors.key_list(product=product, query=query), keys) == {"alice"}


def test_search_by_notes(catalog):
    product, keys = catalog
    assert _names(selectors.key_list(product=product, query="Chargeback"), keys) == {"noted"}


def test_search_by_machine_code_or_device_name(catalog):
    product, keys = catalog
    assert _names(selectors.key_list(product=product, query="agent-0"), keys) == {"seated"}
    assert _names(selectors.key_list(product=product, query="ci runner"), keys) == {"seated"}
    assert _names(selectors.key_list(product=product, query="alice-desktop"), keys) == {"alice"}


def test_search_without_match_is_empty(catalog):
    product, _ = catalog
    assert not selectors.key_list(product=product, query="no such thing").exists()


@pytest.mark.parametrize(("status", "expected"), [
    ("blocked", {"blocked"}),
    ("expired", {"expired"}),
    ("trial", {"trial"}),
    ("active", {"alice", "noted", "seated", "trial"}),
    ("", {"alice", "noted", "seated", "blocked", "expired", "trial"}),
])
def test_status_filters(catalog, status, expected):
    product, keys = catalog
    assert _names(selectors.key_list(product=product, status=status), keys) == expected


def test_expired_filter_uses_the_current_time(catalog):
    product, keys = catalog
    LicenseKey.objects.filter(pk=keys["alice"].pk).update(
        expires=timezone.now() - dt.timedelta(seconds=1))
    assert _names(selectors.key_list(product=product, status="expired"), keys) == {
        "expired", "alice"}


def test_activation_count_is_not_doubled_by_a_machine_code_search(catalog):
    product, keys = catalog
    result = {k.pk: k.activation_count
              for k in selectors.key_list(product=product, query="agent")}
    assert result == {keys["seated"].pk: 3}
    customer_search = {k.pk: k.activation_count
                       for k in selectors.key_list(product=product, query="alice")}
    assert customer_search == {keys["alice"].pk: 1}


def test_activation_count_without_search(catalog):
    product, keys = catalog
    counts = {k.pk: k.activation_count for k in selectors.key_list(product=product)}
    assert counts[keys["seated"].pk] == 3
    assert counts[keys["alice"].pk] == 1
    assert counts[keys["trial"].pk] == 0


def test_search_combined_with_status(catalog):
    product, keys = catalog
    assert not selectors.key_list(product=product, query="agent", status="blocked").exists()
    assert _names(selectors.key_list(product=product, query="agent", status="active"),
                  keys) == {"seated"}
