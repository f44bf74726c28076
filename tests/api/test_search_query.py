"""GetKeys' SearchQuery: every example of Cryptolens' help page "Searching for Licenses using
Linq Queries" (github.com/Cryptolens/docs, web-interface/linq-search-product.md), answered
over HTTP against a catalogue built so that each example picks out a known set of keys; and
garbage, which gets "The input parameters were incorrect." and never a 500."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.api import errors
from apps.audit.log import Actor
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import Activation, Customer, DataObject, LicenseKey
from apps.licensing.services import token_create
from tests.factories import CustomerFactory, ProductFactory, make_key, make_vendor

UTC = dt.UTC


def _at(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=UTC)


@dataclass
class World:
    client: Client
    token: str
    product_id: int
    keys: dict[str, LicenseKey]
    bob: Customer
    reseller: Reseller

    def search(self, query: str, **params) -> dict:
        return self.client.post("/api/product/GetKeys", {
            "token": self.token, "ProductId": self.product_id, "SearchQuery": query,
            **params}).json()

    def found(self, query: str) -> list[str]:
        body = self.search(query)
        assert body["result"] == 0, (query, body)
        names = {k.serial: name for name, k in self.keys.items()}
        return [names[item["id"]] for item in body["licenseKeys"]]


@pytest.fixture
def world(db) -> World:
    """Keys a..e with the properties the examples ask about, then f1..f6 alike and plain
    (made in 2010, expiring in 2030), so that `id < 10` and `id <= 10` differ."""
    vendor = make_vendor("Search vendor")
    product = ProductFactory(vendor=vendor)
    now = timezone.now()
    today = now.replace(hour=12, minute=0, second=0, microsecond=0)
    bob = CustomerFactory(vendor=vendor, name="Bob")
    alice = CustomerFactory(vendor=vendor, name="Alice")
    Customer.objects.filter(pk=alice.pk).update(created=_at(2015, 5, 5))
    reseller = Reseller.objects.create(vendor=vendor, name="Partner", email="p@x.example")

    keys = {
        "a": make_key(product, period=30, notes="Bob", features=[True] + [False] * 7,
                      customer=bob),
        "b": make_key(product, period=10, notes="sent to Bob", block=True),
        "c": make_key(product, period=10, trial_activation=True, customer=alice,
                      allowed_machines="machine code\nanother machine"),
        "d": make_key(product, period=10),
        "e": make_key(product, period=10),
    }
    for n in range(1, 7):
        keys[f"f{n}"] = make_key(product, period=10)
    dates = {
        "a": (today, today + dt.timedelta(days=45)),
        "b": (today - dt.timedelta(days=1), _at(2016, 1, 1, 15)),
        "c": (_at(2015, 6, 1), _at(2015, 12, 31)),
        "d": (_at(2014, 12, 31), _at(2016, 1, 2)),
        "e": (today - dt.timedelta(days=40), today + dt.timedelta(days=10)),
    }
    for name, key in keys.items():
        created, expires = dates.get(name, (_at(2010, 1, 1), _at(2030, 1, 1)))
        LicenseKey.objects.filter(pk=key.pk).update(created=created, expires=expires)
    LicenseKey.objects.filter(pk=keys["f6"].pk).update(reseller=reseller)

    Activation.objects.create(key=keys["d"], machine_code="machine code", time=_at(2015, 3, 1),
                              ip="10.0.0.1", friendly_name="Front desk")
    for n in range(10):
        Activation.objects.create(key=keys["e"], machine_code=f"pc-{n}", time=_at(2014, 2, 1))
    DataObject.objects.create(key=keys["d"], name="settings", string_value="test")
    DataObject.objects.create(key=keys["e"], name="usagecount", int_value=3)
    # A product data object and another key's machine object count for no key's list.
    DataObject.objects.create(product=product, referencer_type=DataObject.PRODUCT,
                              name="usagecount")

    token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="all",
                         permissions=API_METHODS)[1]
    return World(Client(), token, product.pk, keys, bob, reseller)


FILLERS = [f"f{n}" for n in range(1, 7)]
ALL = ["a", "b", "c", "d", "e", *FILLERS]


# Each example of the help page, in its order, with the keys it must find.
@pytest.mark.parametrize("query, expected", [
    # Sorting by ID
    ("id=2", ["b"]),
    ("id=2 or id=3", ["b", "c"]),
    ("id < 10", ALL[:9]),
    ("id <= 10", ALL[:10]),
    # Sorting "Created" and "Expires"
    ("created = today", ["a"]),
    ("created >= yesterday", ["a", "b"]),
    ("created = today or created = yesterday", ["a", "b"]),
    ("created >= DateTime(2015,01,01)", ["a", "b", "c", "e"]),
    # b expires during 2016-01-01: a date compares the calendar day
    ("expires <= DateTime(2016,01,01)", ["b", "c"]),
    # "Variables: tomorrow, monthback, monthforward"
    ("expires > tomorrow and expires < monthforward", ["e"]),
    ("created >= monthback", ["a", "b"]),
    ("created < monthback and created > DateTime(2015,12,31)", ["e"]),
    # Sorting by "Period"
    ("period = 30", ["a"]),
    # Sorting features
    ("F1 = true", ["a"]),
    # Searching the Notes field
    ('notes="Bob"', ["a"]),
    ('notes.contains("to Bob")', ["b"]),
    # Sorting by Block ("block=yes/true")
    ("block=true", ["b"]),
    ("block=yes", ["b"]),
    # Sorting based on Customer
    ('customer.name="Bob"', ["a"]),
    ("customer.created= today", ["a"]),
    # Sorting based on Activated Devices
    ("ActivatedMachines.Count() > 0 ", ["d", "e"]),
    ("ActivatedMachines.Count() > 0 and ActivatedMachines.Count() < 10", ["d"]),
    ('ActivatedMachines.Count(it.Mid="machine code") > 0', ["d"]),
    ("ActivatedMachines.Count(it.Time >= DateTime(2015,01,01)) > 0", ["d"]),
    # Sorting based on Data Objects
    ("dataobjects.count() > 0", ["d", "e"]),
    ('dataobjects.count(it.StringValue="test") > 0', ["d"]),
    ('dataobjects.count(it.name="usagecount") > 0', ["e"]),
    # Advanced parameters
    ("trialactivation = true", ["c"]),
    ('allowedmachines.contains("machine code")', ["c"]),
])
def test_each_documented_example_finds_its_keys(world, query, expected):
    assert world.found(query) == expected


def test_key_examples_find_that_key(world):
    a = world.keys["a"]
    assert world.found(f'key="{a.key}"') == ["a"]
    assert world.found(f'key.contains("{a.key[:5]}")') == ["a"]
    # "you can search for a specific license without the key= prefix"
    assert world.found(a.key) == ["a"]
    assert world.found(f"  {a.key.lower()} ") == ["a"]


def test_customer_id_and_reseller_examples(world):
    assert world.found(f"customer.id={world.bob.pk}") == ["a"]
    assert world.found(f"resellerid={world.reseller.pk}") == ["f6"]
    # "resellerid=-1 - show licenses that were not created by any reseller"
    assert world.found("resellerid=-1") == ALL[:-1]


@pytest.mark.parametrize("query", [
    # "Variable names ... are case-insensitive"
    'AllowedMachines.Contains("machine code")', 'ALLOWEDMACHINES.contains("machine code")',
    "TrialActivation = TRUE", "trialactivation == true", "TRIALACTIVATION",
])
def test_variable_names_are_case_insensitive(world, query):
    assert world.found(query) == ["c"]


@pytest.mark.parametrize("query, expected", [
    ("(id=1 or id=2) and block=true", ["b"]),
    ("id=1 or id=2 and block=true", ["a", "b"]),  # and binds tighter than or
    ("not (id < 10)", ["f5", "f6"]),
    ("!block && id <= 3", ["a", "c"]),
    ("id != 1 && id <> 2 && id < 5", ["c", "d"]),
    ("10 < id", ["f6"]),  # the value may come first
    ("block = false and f1 = false and id < 6", ["c", "d", "e"]),
    ('notes.startswith("sent") || notes.endswith("ob")', ["a", "b"]),
    ('dataobjects.any(it.name="usagecount")', ["e"]),
    ("dataobjects.any() and not activatedmachines.any()", []),
    ("activatedmachines.count(it.mid.contains(\"pc-\") and it.time < today) >= 10", ["e"]),
    ('dataobjects.count(it.intvalue > 2 or it.id = 0) = 1', ["e"]),
    ("customer.id = null and id < 4", ["b"]),
    ("customerid != null", ["a", "c"]),
    ('ActivatedMachines.Count(it.Mid="machine code") > 0 = true', None),
    ('notes.contains("Bob") = false and id < 3', []),
    ('activatedmachines.count(it.ip = "10.0.0.1") > 0', ["d"]),
    ('activatedmachines.any(it.IP.contains("10.0.") and it.FriendlyName = "front desk")', ["d"]),
    ('activatedmachines.any(it.ip = "not an address")', []),  # text, never an inet cast
    ("created = DateTime(2015,6,1,12,0,0)", ["c"]),  # with a time: the instant
    ("created = DateTime(2015,6,1,11,0)", []),
])
def test_combinations(world, query, expected):
    if expected is None:  # a count compared, then compared again: not the language
        assert world.search(query)["message"] == errors.INCORRECT_INPUT
    else:
        assert world.found(query) == expected


def test_text_comparisons_ignore_case_like_cryptolens_sql_server(world):
    assert world.found('notes="bob"') == ["a"]
    assert world.found('NOTES.CONTAINS("TO BOB")') == ["b"]


def test_values_are_parameters_never_sql(world):
    assert world.found("notes=\"x' OR '1'='1\"") == []
    assert world.found('notes.contains("%")') == []
    assert world.found('notes.contains("_")') == []
    assert world.found('notes = "Bob\\" or id > 0 or notes=\\"x"') == []
    assert LicenseKey.objects.count() == 11


def test_total_and_pages_count_the_matches(world):
    body = world.search("id <= 10", OrderBy="ID descending")
    assert [k["id"] for k in body["licenseKeys"]][:2] == [10, 9]
    assert (body["returned"], body["total"], body["pageCount"]) == (10, 10, 1)
    body = world.search("block = true and block = false")
    assert (body["licenseKeys"], body["returned"], body["total"], body["pageCount"]) == (
        [], 0, 0, 0)


@pytest.mark.parametrize("query", [
    "id =", "= 2", "id 2", "id = = 2", "(id=1", "id=1)", "id=1 or", "and id=1",
    "id = 1 and and id = 2", "foo=1", "customer.foo = 1", "customer = 1", "it = 1",
    "id = 'x'", 'key > "a"', "key = 5", "block = 1", "block > true", "created = 5",
    'created = "2015-01-01"', "created = DateTime(2015,13,1)", "created = DateTime(2015,1)",
    "created = DateTime(0,1,1)", "created = DateTime(2015,1,1,25,0)", "created = today()",
    "id=1; DROP TABLE licensing_licensekey", "id = 1 -- comment", "id = 1 /* */",
    "id=99999999999999999999", "id = 1.5", "id = -", 'key.contains("x" + "y")',
    "key.contains(x)", "key.contains()", 'id.contains("1")', 'key.substring("1")',
    'key.contains("a", "b")', "activatedmachines > 0", "activatedmachines.sum() > 0",
    "activatedmachines.count(it.nope = 1) > 0", "dataobjects.count(it.mid = \"x\") > 0",
    "activatedmachines.count(dataobjects.count() > 0) > 0", "dataobjects.any",
    "dataobjects.count(it.name = 1) > 0", "activatedmachines.count() > \"a\"",
    "customer.id = null and customer.name = null", "id < null", "block != null",
    "resellerid < -1 or resellerid > -1 and notes = null",
    "ABCDE-FGHIJ-KLMNO", "ABCDE-FGHIJ-KLMNO-PQRST-UVWXY", "\x00", "ü = 1", "`id` = 1",
    "[id] = 1", "id = 1 ~ 2", "\"unterminated", "id = 'unterminated",
    "(" * 30 + "id=1" + ")" * 30, " or ".join(["id=1"] * 50),
    " or ".join(["dataobjects.count() > 0"] * 9),
])
def test_garbage_is_incorrect_input_never_a_server_error(world, query):
    body = world.search(query)
    assert (body["result"], body["message"]) == (1, errors.INCORRECT_INPUT), query


def test_a_long_but_reasonable_query_is_answered(world):
    query = " or ".join(f"id={n}" for n in range(1, 31))
    assert world.found(query) == ALL


@pytest.mark.parametrize("order_by, first", [
    ("ID descending", "f6"), ("ID (descending)", "f6"), ("Created ascending", "f1"),
    ("Expires descending", "f6"), ("Customer ascending", "a"), ("F1 descending", "a"),
    ("Block descending", "b"),
    ("Customer descending", "c"), ("period descending", "a"), ("id", "a"),
])
def test_order_by_the_product_pages_fields(world, order_by, first):
    body = world.search("", OrderBy=order_by)
    assert body["result"] == 0, body
    names = {k.serial: name for name, k in world.keys.items()}
    assert names[body["licenseKeys"][0]["id"]] == first


def test_another_vendors_keys_never_match(world):
    other = ProductFactory(vendor=make_vendor("Other search vendor"))
    foreign = make_key(other, notes="Bob")
    body = world.client.post("/api/product/GetKeys", {
        "token": world.token, "ProductId": other.pk, "SearchQuery": 'notes="Bob"'}).json()
    assert body == {"result": 1, "message": errors.PRODUCT_NOT_FOUND}
    assert foreign.key not in str(world.search('notes="Bob"'))
