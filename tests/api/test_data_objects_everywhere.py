"""data/*: data objects on keys, machine codes, products and the account, through the official
Python client (`licensing.methods.Data`) where it has the method, raw HTTP for the rest."""

from __future__ import annotations

import json

import pytest
from licensing.methods import Data, Key

from apps.licensing.models import DataObject, LicenseKey
from apps.licensing.services.data_objects import (
    BOUND_REACHED,
    DUPLICATE_NAME,
    MACHINE_NOT_ACTIVATED,
)
from apps.usage import states
from apps.usage.models import WebApiLog
from tests.factories import ProductFactory, make_activation, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401

from .live import Server

ACCESS_DENIED = "Access denied."
KEY_LOCKED = "Not enough permission and/or key not found."
NOT_FOUND = "Could not find the data object."


@pytest.fixture
def key(server: Server) -> LicenseKey:
    key = make_key(server.product, max_no_of_machines=3)
    make_activation(key, "pc-1")
    make_activation(key, "pc-2")
    return key


def _fail(server: Server, method: str, token: str | None = None, **params) -> str:
    body = server.post(method, **params, **({"token": token} if token else {}))
    assert body["result"] == 1, body
    return body["message"]


def _ok(server: Server, method: str, token: str | None = None, **params) -> dict:
    body = server.post(method, **params, **({"token": token} if token else {}))
    assert body["result"] == 0, body
    assert body["message"] == ""
    return body


def _values(*objects: DataObject) -> list[tuple[str, int, str]]:
    for obj in objects:
        obj.refresh_from_db()
    return [(o.name, o.int_value, o.string_value) for o in objects]


# --- Through the client --------------------------------------------------------------------


def test_key_objects_through_the_client(server, key):
    pid, t = server.product.pk, server.token
    added, message = Data.add_data_object_to_key(t, pid, key.key, name="credits",
                                                 string_value="monthly", int_value=5,
                                                 check_for_duplicates=True)
    assert message == ""
    obj = DataObject.objects.get(pk=added["id"])
    assert (obj.key, obj.referencer_type) == (key, DataObject.KEY)
    assert Data.add_data_object_to_key(t, pid, key.key, name="credits",
                                       check_for_duplicates=True) == (None, DUPLICATE_NAME)
    Data.add_data_object_to_key(t, pid, key.key, name="other")

    listed, _ = Data.list_key_data_objects(t, pid, key.key, name_contains="CRED")
    assert listed["dataObjects"] == [{"id": obj.pk, "name": "credits",
                                      "stringValue": "monthly", "intValue": 5}]

    assert Data.increment_int_value_to_key(t, pid, key.key, object_id=obj.pk, int_value=5,
                                           enable_bound=True, bound=10)[1] == ""
    assert Data.increment_int_value_to_key(t, pid, key.key, name="credits", int_value=1,
                                           enable_bound=True, bound=10) == (None, BOUND_REACHED)
    assert Data.decrement_int_value_to_key(t, pid, key.key, name="credits", int_value=4)[1] == ""
    assert _values(obj) == [("credits", 6, "monthly")]

    assert Data.remove_data_object_to_key(t, pid, key.key, name="credits")[1] == ""
    assert Data.remove_data_object_to_key(t, pid, key.key, object_id=obj.pk) == (None, NOT_FOUND)
    assert [o.name for o in key.data_objects.all()] == ["other"]


def test_machine_objects_through_the_client(server, key):
    pid, t = server.product.pk, server.token
    added, message = Data.add_data_object_to_machine(t, pid, key.key, "pc-1", name="runs",
                                                     int_value=3, string_value="x")
    assert message == ""
    obj = DataObject.objects.get(pk=added["id"])
    assert (obj.machine_key, obj.machine_code, obj.key) == (key, "pc-1", None)
    assert Data.add_data_object_to_machine(t, pid, key.key, "never-activated",
                                           name="runs") == (None, MACHINE_NOT_ACTIVATED)
    Data.add_data_object_to_machine(t, pid, key.key, "pc-2", name="runs")

    listed, _ = Data.list_machine_data_objects(t, pid, key.key, "pc-1")
    assert listed["dataObjects"] == [{"id": obj.pk, "name": "runs", "stringValue": "x",
                                      "intValue": 3}]
    # The key's own list (and its signed license) does not carry its machines' objects.
    assert Data.list_key_data_objects(t, pid, key.key)[0]["dataObjects"] == []

    # Another machine's object is not this machine's to remove.
    assert Data.remove_data_object_to_machine(t, pid, key.key, "pc-2",
                                              object_id=obj.pk) == (None, NOT_FOUND)
    assert Data.remove_data_object_to_machine(t, pid, key.key, "pc-1",
                                              object_id=obj.pk)[1] == ""
    assert not DataObject.objects.filter(pk=obj.pk).exists()


def test_deactivating_a_device_through_the_client_drops_its_objects(server, key):
    pid, t = server.product.pk, server.token
    Data.add_data_object_to_machine(t, pid, key.key, "pc-1", name="runs")
    kept = Data.add_data_object_to_machine(t, pid, key.key, "pc-2", name="runs")[0]["id"]

    assert Key.deactivate(t, pid, key.key, "pc-1") == (True, "")

    assert list(DataObject.objects.values_list("pk", flat=True)) == [kept]
    assert Data.list_machine_data_objects(t, pid, key.key, "pc-1")[0]["dataObjects"] == []


# --- Raw HTTP: ...ToKey and ...ToMachineCode methods the client lacks ------------------------


def test_set_values_to_key_and_machine_code(server, key):
    base = {"ProductId": server.product.pk, "Key": key.key}
    on_key = DataObject.objects.create(key=key, name="tier", int_value=1, string_value="a")
    on_pc = DataObject.objects.create(machine_key=key, machine_code="pc-1", name="tier",
                                      referencer_type=DataObject.MACHINE_CODE)

    _ok(server, "data/SetIntValueToKey", **base, Name="tier", IntValue=-7)
    _ok(server, "data/SetStringValueToKey", **base, Id=on_key.pk, StringValue="gold")
    _ok(server, "data/SetIntValueToMachineCode", **base, MachineCode="pc-1", Name="tier",
        IntValue=40)
    _ok(server, "data/SetStringValueToMachineCode", **base, MachineCode="pc-1", Id=on_pc.pk,
        StringValue="silver")

    assert _values(on_key, on_pc) == [("tier", -7, "gold"), ("tier", 40, "silver")]
    assert _fail(server, "data/SetStringValueToKey", **base, Name="tier",
                 StringValue="x" * 10001) == "The input parameters were incorrect."
    assert _fail(server, "data/SetIntValueToMachineCode", **base, MachineCode="pc-2",
                 Name="tier", IntValue=1) == NOT_FOUND


def test_machine_increments_and_decrements_with_bounds(server, key):
    base = {"ProductId": server.product.pk, "Key": key.key, "MachineCode": "pc-1"}
    obj = DataObject.objects.create(machine_key=key, machine_code="pc-1", name="c",
                                    referencer_type=DataObject.MACHINE_CODE, int_value=2)

    _ok(server, "data/IncrementIntValueToMachineCode", **base, Id=obj.pk, IntValue=3,
        EnableBound="True", Bound=5)
    assert _fail(server, "data/IncrementIntValueToMachineCode", **base, Name="c", IntValue=1,
                 EnableBound="True", Bound=5) == BOUND_REACHED
    _ok(server, "data/DecrementIntValueToMachineCode", **base, Name="c", IntValue=5,
        EnableBound="True", Bound=0)
    assert _fail(server, "data/DecrementIntValueToMachineCode", **base, Name="c", IntValue=1,
                 EnableBound="True", Bound=0) == BOUND_REACHED
    assert _values(obj) == [("c", 0, "")]

    logs = list(WebApiLog.objects.filter(method__endswith="IntValueToMachineCode")
                .order_by("id").values_list("state", "do_id", "do_int_value", "machine_code"))
    assert logs == [(states.DATA_OBJECT_CHANGED, obj.pk, 5, "pc-1"),
                    (states.DATA_OBJECT_FAILED, obj.pk, None, "pc-1"),
                    (states.DATA_OBJECT_CHANGED, obj.pk, 0, "pc-1"),
                    (states.DATA_OBJECT_FAILED, obj.pk, None, "pc-1")]


def test_a_machine_code_is_required(server, key):
    assert _fail(server, "data/ListDataObjectsToMachineCode", ProductId=server.product.pk,
                 Key=key.key) == "The input parameters were incorrect."


# --- Raw HTTP: the generic methods ----------------------------------------------------------


def test_generic_add_and_list_on_every_owner(server, key):
    device = key.activations.get(machine_code="pc-1")
    referencers = {0: 0, 1: server.product.pk, 2: key.pk, 3: device.pk}
    made = {}
    for kind, referencer in referencers.items():
        made[kind] = _ok(server, "data/AddDataObject", ReferencerType=kind,
                         ReferencerId=referencer, Name=f"n{kind}", IntValue=kind)["id"]
    by_name = _ok(server, "data/AddDataObject", ReferencerType="Product",
                  ReferencerId=server.product.pk, Name="by-name")["id"]

    objs = {kind: DataObject.objects.get(pk=pk) for kind, pk in made.items()}
    assert [o.referencer_type for o in objs.values()] == [0, 1, 2, 3]
    assert (objs[1].product, objs[2].key, objs[3].machine_key, objs[3].machine_code) == (
        server.product, key, key, "pc-1")
    for kind, referencer in referencers.items():
        listed = _ok(server, "data/ListDataObjects", ReferencerType=kind,
                     ReferencerId=referencer)["dataObjects"]
        expected = [made[kind], by_name] if kind == 1 else [made[kind]]
        assert [o["id"] for o in listed] == expected
        assert set(listed[0]) == {"id", "name", "stringValue", "intValue"}

    every = _ok(server, "data/ListDataObjects", ShowAll="True")["dataObjects"]
    assert [(o["id"], o["referencerType"], o["referencerId"]) for o in every] == [
        (made[0], 0, 0), (made[1], 1, server.product.pk), (made[2], 2, key.pk),
        (made[3], 3, device.pk), (by_name, 1, server.product.pk)]


def test_generic_changes_by_id_alone(server, key):
    obj = DataObject.objects.create(product=server.product, name="quota", int_value=10,
                                    referencer_type=DataObject.PRODUCT)

    _ok(server, "data/SetIntValue", Id=obj.pk, IntValue=20)
    _ok(server, "data/SetStringValue", Id=obj.pk, StringValue="v2")
    _ok(server, "data/IncrementIntValue", Id=obj.pk, IntValue=5, EnableBound="true", Bound=25)
    assert _fail(server, "data/IncrementIntValue", Id=obj.pk, IntValue=1, EnableBound="true",
                 Bound=25) == BOUND_REACHED
    _ok(server, "data/DecrementIntValue", Id=obj.pk, IntValue=30)
    assert _values(obj) == [("quota", -5, "v2")]

    _ok(server, "data/RemoveDataObject", Id=obj.pk)
    assert _fail(server, "data/RemoveDataObject", Id=obj.pk) == NOT_FOUND
    assert _fail(server, "data/SetIntValue", Id=0, IntValue=1) == NOT_FOUND


def test_generic_referencers_that_do_not_exist(server, key):
    assert _fail(server, "data/AddDataObject", ReferencerType=1, ReferencerId=999999,
                 Name="x") == "Could not find the product."
    assert _fail(server, "data/AddDataObject", ReferencerType=2, ReferencerId=999999,
                 Name="x") == "Could not find the key."
    assert _fail(server, "data/ListDataObjects", ReferencerType=7,
                 ReferencerId=1) == "The input parameters were incorrect."


# --- UploadValuesToKey ----------------------------------------------------------------------


def test_upload_values_applies_a_batch_atomically(server, key):
    base = {"ProductId": server.product.pk, "Key": key.key}
    a = DataObject.objects.create(key=key, name="a", int_value=10)
    b = DataObject.objects.create(key=key, name="b", int_value=10)

    _ok(server, "data/UploadValuesToKey", **base, Data=json.dumps(
        [{"Id": a.pk, "Increment": 4}, {"DataObjectId": b.pk, "Increment": -3},
         {"Id": a.pk, "Increment": 1}]))
    assert _fail(server, "data/UploadValuesToKey", **base, Data=json.dumps(
        [{"Id": a.pk, "Increment": 100}, {"Id": 999999, "Increment": 1}])) == NOT_FOUND
    assert _fail(server, "data/UploadValuesToKey", **base,
                 Data="[1, 2]") == "The input parameters were incorrect."

    assert _values(a, b) == [("a", 15, ""), ("b", 7, "")]
    assert WebApiLog.objects.filter(method="data.UploadValuesToKey").order_by("id").first(
    ).state == states.DATA_OBJECT_CHANGED


def test_upload_values_needs_the_permission_for_each_direction(server, key):
    base = {"ProductId": server.product.pk, "Key": key.key}
    obj = DataObject.objects.create(key=key, name="a", int_value=10)
    up_only = server.token_for(["data.IncrementIntValueToKey"])

    _ok(server, "data/UploadValuesToKey", up_only, **base,
        Data=json.dumps([{"Id": obj.pk, "Increment": 2}]))
    assert _fail(server, "data/UploadValuesToKey", up_only, **base, Data=json.dumps(
        [{"Id": obj.pk, "Increment": 5}, {"Id": obj.pk, "Increment": -1}])) == ACCESS_DENIED
    assert _values(obj) == [("a", 12, "")]


# --- The token's increment limit (feature lock) ---------------------------------------------


def test_an_increment_above_the_tokens_limit_is_refused(server, key):
    base = {"ProductId": server.product.pk, "Key": key.key}
    obj = DataObject.objects.create(key=key, name="a")
    limited = server.token_for(["data.IncrementIntValueToKey", "data.DecrementIntValue",
                                "data.UploadValuesToKey"], max_increment=5)

    _ok(server, "data/IncrementIntValueToKey", limited, **base, Id=obj.pk, IntValue=5)
    assert _fail(server, "data/IncrementIntValueToKey", limited, **base, Id=obj.pk,
                 IntValue=6) == ACCESS_DENIED
    assert _fail(server, "data/DecrementIntValue", limited, Id=obj.pk,
                 IntValue=6) == ACCESS_DENIED
    assert _fail(server, "data/UploadValuesToKey", limited, **base,
                 Data=json.dumps([{"Id": obj.pk, "Increment": -6}])) == ACCESS_DENIED
    # Split into small steps, one upload still changes each object by at most the limit.
    assert _fail(server, "data/UploadValuesToKey", limited, **base,
                 Data=json.dumps([{"Id": obj.pk, "Increment": 5}] * 3)) == ACCESS_DENIED
    assert _values(obj) == [("a", 5, "")]
    other = DataObject.objects.create(key=key, name="b")
    _ok(server, "data/UploadValuesToKey", limited, **base,
        Data=json.dumps([{"Id": obj.pk, "Increment": 5}, {"Id": other.pk, "Increment": 5},
                         {"Id": obj.pk, "Increment": -2}]))
    assert _values(obj) == [("a", 8, "")] and _values(other) == [("b", 5, "")]


# --- Other vendors and locked tokens --------------------------------------------------------


@pytest.fixture
def foreign(server):
    """Another vendor's product, key, device and one object on each owner."""
    vendor = make_vendor("Someone else")
    product = ProductFactory(vendor=vendor)
    other_key = make_key(product, max_no_of_machines=2)
    make_activation(other_key, "pc-1")
    return [DataObject.objects.create(vendor=vendor, referencer_type=0, name="secret"),
            DataObject.objects.create(product=product, referencer_type=1, name="secret"),
            DataObject.objects.create(key=other_key, name="secret"),
            DataObject.objects.create(machine_key=other_key, machine_code="pc-1",
                                      referencer_type=3, name="secret")], other_key


def test_another_vendors_objects_are_out_of_reach(server, key, foreign):
    objects, other_key = foreign
    for obj in objects:
        for method in ("SetIntValue", "IncrementIntValue", "RemoveDataObject"):
            assert _fail(server, f"data/{method}", Id=obj.pk, IntValue=1) == NOT_FOUND
    base = {"ProductId": other_key.product_id, "Key": other_key.key, "MachineCode": "pc-1"}
    assert _fail(server, "data/ListDataObjectsToKey", **base) == "Could not find the product."
    assert _fail(server, "data/AddDataObjectToMachineCode", **base,
                 Name="x") == "Could not find the product."
    assert _fail(server, "data/AddDataObject", ReferencerType=1,
                 ReferencerId=other_key.product_id, Name="x") == "Could not find the product."
    every = _ok(server, "data/ListDataObjects", ShowAll="true")["dataObjects"]
    assert "secret" not in json.dumps(every)
    assert _values(*objects) == [("secret", 0, "")] * 4


def test_a_key_locked_token_reaches_its_key_and_its_machines_only(server, key):
    sibling = make_key(server.product)
    make_activation(sibling, "pc-9")
    on_sibling = DataObject.objects.create(key=sibling, name="s")
    on_product = DataObject.objects.create(product=server.product, referencer_type=1, name="p")
    on_account = DataObject.objects.create(vendor=server.vendor, referencer_type=0, name="a")
    mine = DataObject.objects.create(key=key, name="mine")
    mine_pc = DataObject.objects.create(machine_key=key, machine_code="pc-1", referencer_type=3,
                                        name="mine-pc")
    token = server.token_for(["data.AddDataObject", "data.ListDataObjects", "data.SetIntValue",
                              "data.AddDataObjectToMachineCode",
                              "data.ListDataObjectsToKey"], locked_key=key)

    _ok(server, "data/SetIntValue", token, Id=mine.pk, IntValue=3)
    _ok(server, "data/SetIntValue", token, Id=mine_pc.pk, IntValue=4)
    _ok(server, "data/AddDataObjectToMachineCode", token, ProductId=server.product.pk,
        Key=key.key, MachineCode="pc-2", Name="new")
    for obj in (on_sibling, on_product, on_account):
        assert _fail(server, "data/SetIntValue", token, Id=obj.pk, IntValue=9) == KEY_LOCKED
    assert _fail(server, "data/SetIntValue", token, Id=999999, IntValue=9) == KEY_LOCKED
    for kind, referencer in ((0, 0), (1, server.product.pk), (2, sibling.pk)):
        assert _fail(server, "data/AddDataObject", token, ReferencerType=kind,
                     ReferencerId=referencer, Name="x") == KEY_LOCKED
    assert _fail(server, "data/AddDataObjectToMachineCode", token,
                 ProductId=server.product.pk, Key=sibling.key, MachineCode="pc-9",
                 Name="x") == KEY_LOCKED
    shown = _ok(server, "data/ListDataObjects", token, ShowAll="true")["dataObjects"]
    assert sorted(o["name"] for o in shown) == ["mine", "mine-pc", "new"]
    assert _values(on_sibling, on_product, on_account) == [("s", 0, ""), ("p", 0, ""),
                                                           ("a", 0, "")]


def test_a_product_locked_token_reaches_its_product_only(server, key):
    other = ProductFactory(vendor=server.vendor)
    far_key = make_key(other)
    on_other = DataObject.objects.create(product=other, referencer_type=1, name="far")
    on_far_key = DataObject.objects.create(key=far_key, name="far-key")
    on_account = DataObject.objects.create(vendor=server.vendor, referencer_type=0, name="a")
    token = server.token_for(["data.AddDataObject", "data.ListDataObjects",
                              "data.IncrementIntValue"], product=server.product)

    _ok(server, "data/AddDataObject", token, ReferencerType=1, ReferencerId=server.product.pk,
        Name="mine")
    _ok(server, "data/AddDataObject", token, ReferencerType=2, ReferencerId=key.pk, Name="k")
    assert _fail(server, "data/AddDataObject", token, ReferencerType=1,
                 ReferencerId=other.pk, Name="x") == KEY_LOCKED
    assert _fail(server, "data/AddDataObject", token, ReferencerType=0, Name="x") == KEY_LOCKED
    for obj in (on_other, on_far_key, on_account):
        assert _fail(server, "data/IncrementIntValue", token, Id=obj.pk,
                     IntValue=1) == KEY_LOCKED
    shown = _ok(server, "data/ListDataObjects", token, ShowAll="true")["dataObjects"]
    assert sorted(o["name"] for o in shown) == ["k", "mine"]
    assert _values(on_other, on_far_key, on_account) == [("far", 0, ""), ("far-key", 0, ""),
                                                         ("a", 0, "")]
