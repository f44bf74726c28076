"""What the license server answers when it cannot use the portal, decided in-process (the
real processes and the official client are in test_processes.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from license_server import cli, configuration, crypto, wire
from license_server.options import Options
from license_server.store import StorageError
from license_server.uploader import Uploader

from . import keys

PRODUCT, KEY = 7, "AAAAA-BBBBB-CCCCC-DDDDD"


def _server(tmp_path: Path, *, config_text: str | None = None, **overrides):
    (tmp_path / "licenses").mkdir(exist_ok=True)
    (tmp_path / "licenses" / "key.skm").write_bytes(
        keys.skm(keys.license_obj(product_id=PRODUCT, key=KEY, machines=["listed-pc"])))
    if config_text is None:
        config_text = keys.configuration_file(floating={(PRODUCT, KEY): 2})
    (tmp_path / "configuration.json").write_text(config_text)
    options = Options(**{"offline": True, "cache_folder": str(tmp_path / "data"),
                         "license_files": [str(tmp_path / "licenses")],
                         "configuration": str(tmp_path / "configuration.json"),
                         "vendor_public_key": keys.xml("vendor"), **overrides})
    return cli.build(options)[0]


def _request(method: str = "key/Activate", **params: str) -> wire.Request:
    form = {"ProductId": str(PRODUCT), "Key": KEY, "Sign": "True", "SignMethod": "1",
            "ModelVersion": "3", **params}
    path = method if method.lower().startswith("api") else f"api/{method}"
    return wire.Request.parse(raw_path=f"/{path}", http_method="POST",
                              body=urlencode(form).encode(),
                              content_type="application/x-www-form-urlencoded",
                              ip="192.0.2.7", user_agent="test")


def _call(server, method: str = "key/Activate", **params: str) -> dict:
    return json.loads(server.handle(_request(method, **params)))


def _license(answer: dict, signer: str) -> dict | None:
    data = base64.b64decode(answer["licenseKey"])
    if not crypto.verify(keys.private_key(signer).public_key(), data,
                         base64.b64decode(answer["signature"])):
        return None
    return json.loads(data)


def test_unknown_device_without_cache_or_file_gets_a_clear_error(tmp_path):
    answer = _call(_server(tmp_path), MachineCode="new-pc")

    assert answer == {"result": 1, "message": wire.UNREACHABLE}


def test_device_listed_in_a_license_file_gets_the_file_unchanged(tmp_path):
    server = _server(tmp_path)

    answer = _call(server, MachineCode="listed-pc")

    assert answer == json.loads((tmp_path / "licenses" / "key.skm").read_bytes())
    assert _license(answer, "vendor")["Key"] == KEY


def test_floating_seat_is_signed_with_the_server_key(tmp_path):
    answer = _call(_server(tmp_path), MachineCode="pc-1", FloatingTimeInterval="300",
                   FriendlyName="Desk 1")

    assert answer["result"] == 0
    assert _license(answer, "vendor") is None
    machines = _license(answer, "server")["ActivatedMachines"]
    assert [(m["Mid"], m["FriendlyName"], m["IP"]) for m in machines] == [
        ("floating:pc-1", "Desk 1", "192.0.2.7")]
    assert machines[0]["FloatingExpires"] - machines[0]["Time"] == 300


def test_floating_seats_stop_at_the_configured_count(tmp_path):
    server = _server(tmp_path)  # the configuration allows 2 seats, the file 3
    for pc in ("pc-1", "pc-2"):
        assert _call(server, MachineCode=pc, FloatingTimeInterval="300")["result"] == 0

    answer = _call(server, MachineCode="pc-3", FloatingTimeInterval="300")

    assert answer == {"result": 1, "message": wire.LIMIT_REACHED}


def test_get_key_lists_every_active_floating_seat(tmp_path):
    server = _server(tmp_path)
    for pc in ("pc-1", "pc-2"):
        _call(server, MachineCode=pc, FloatingTimeInterval="300")

    answer = _call(server, "key/GetKey", FloatingTimeInterval="300")

    assert [m["Mid"] for m in _license(answer, "server")["ActivatedMachines"]] == [
        "floating:pc-1", "floating:pc-2"]


@pytest.mark.parametrize(("setup", "params", "message"), [
    ({"config_text": keys.configuration_file(floating={(PRODUCT, KEY): 2}, valid_for=-1)}, {},
     configuration.EXPIRED),
    ({"config_text": keys.tamper_configuration(
        keys.configuration_file(floating={(PRODUCT, KEY): 2}),
        FloatingKeys=[{"ProductId": PRODUCT, "Key": KEY, "MaxNoOfMachines": 50}])}, {},
     configuration.TAMPERED),
    ({"config_text": keys.configuration_file(floating={})}, {}, wire.KEY_NOT_CONFIGURED),
    ({"local_floating": False}, {}, wire.FLOATING_OFF),
    ({}, {"SignMethod": "0"}, wire.SIGN_METHOD_NEEDED),
], ids=["expired", "edited", "key-not-configured", "turned-off", "linq-sign"])
def test_local_floating_is_refused_with_a_clear_error(tmp_path, setup, params, message):
    server = _server(tmp_path, **setup)

    answer = _call(server, MachineCode="pc-1", FloatingTimeInterval="300", **params)

    assert answer == {"result": 1, "message": message}


def test_tampered_floating_license_file_is_not_used(tmp_path):
    _server(tmp_path)  # writes the files
    path = tmp_path / "licenses" / "key.skm"
    path.write_bytes(keys.tamper_skm(path.read_bytes(), MaxNoOfMachines=50))
    options = Options(offline=True, cache_folder=str(tmp_path / "data2"),
                      license_files=[str(path)],
                      configuration=str(tmp_path / "configuration.json"),
                      vendor_public_key=keys.xml("vendor"))
    server = cli.build(options)[0]

    answer = _call(server, MachineCode="pc-1", FloatingTimeInterval="300")

    assert answer == {"result": 1, "message": wire.NO_FLOATING_FILE}
    assert cli.check(options) == 1


def test_release_frees_a_seat_and_deactivation_needs_the_portal_otherwise(tmp_path):
    server = _server(tmp_path)
    for pc in ("pc-1", "pc-2"):
        _call(server, MachineCode=pc, FloatingTimeInterval="300")

    released = _call(server, "key/Deactivate", MachineCode="pc-1", Floating="True")
    node_locked = _call(server, "key/Deactivate", MachineCode="listed-pc")

    assert released == {"result": 0, "message": ""}
    assert node_locked == {"result": 1, "message": wire.NEEDS_PORTAL}
    assert _call(server, MachineCode="pc-3", FloatingTimeInterval="300")["result"] == 0


def test_every_local_answer_waits_in_the_journal(tmp_path):
    server = _server(tmp_path)
    _call(server, MachineCode="listed-pc")
    _call(server, MachineCode="new-pc")
    _call(server, "ai/RegisterEvent", MachineCode="listed-pc", FeatureName="export",
          EventName="click", Value="3")

    records = server.store.pending(10)

    assert [(r["Method"], r["State"], r["Source"]) for r in records] == [
        ("key.activate", 2010, "license-file"), ("key.activate", 2020, "error"),
        ("ai.registerevent", 5010, "local")]
    assert records[2]["Event"]["FeatureName"] == "export"
    assert records[0]["IP"] == "192.0.2.7"


class FakePortal:
    def __init__(self, answer: dict | None) -> None:
        self.answer = answer
        self.batches: list[list[dict]] = []

    def post(self, path: str, form: dict[str, str]) -> dict | None:
        self.batches.append(json.loads(form["Records"]))
        return self.answer


def _uploader(server, portal: FakePortal, revoked: list) -> Uploader:
    return Uploader(store=server.store, upstream=portal, token="tok", interval=60,
                    on_revoked=lambda: revoked.append(True))


def test_records_are_marked_uploaded_only_when_the_portal_confirms(tmp_path):
    server = _server(tmp_path)
    _call(server, MachineCode="new-pc")
    revoked: list = []

    assert not _uploader(server, FakePortal(None), revoked).upload_once()
    assert server.store.counts()["pending"] == 1
    assert _uploader(server, FakePortal({"result": 0, "message": ""}), revoked).upload_once()
    assert server.store.counts()["pending"] == 0


def test_a_revoked_configuration_stops_local_floating(tmp_path):
    server = _server(tmp_path)
    _call(server, MachineCode="new-pc")
    uploader = Uploader(store=server.store, upstream=FakePortal(
        {"result": 1, "message": configuration.PORTAL_REVOKED}), token="tok", interval=60,
        on_revoked=lambda: server.store.set_meta("revoked", "1"))

    assert not uploader.upload_once()
    answer = _call(server, MachineCode="pc-1", FloatingTimeInterval="300")

    assert answer == {"result": 1, "message": configuration.REVOKED}


def test_a_key_that_is_not_node_locked_serves_any_device_from_its_file(tmp_path):
    server = _server(tmp_path)
    (tmp_path / "licenses" / "key.skm").write_bytes(
        keys.skm(keys.license_obj(product_id=PRODUCT, key=KEY, max_machines=0)))
    server = cli.build(server.options)[0]

    answer = _call(server, "API//Key/Activate/", MachineCode="any-pc")

    assert answer["result"] == 0
    assert _license(answer, "vendor")["MaxNoOfMachines"] == 0


def test_a_full_disk_refuses_the_seat_with_a_clear_error(tmp_path, monkeypatch):
    server = _server(tmp_path)

    def disk_full(**kwargs: object) -> None:
        raise StorageError("database or disk is full")

    monkeypatch.setattr(server.store, "take_seat", disk_full)
    answer = _call(server, MachineCode="pc-1", FloatingTimeInterval="300")

    assert answer == {"result": 1, "message": wire.STORAGE_FAILED}


class FakeUpstream:
    base = "http://portal.invalid"

    def __init__(self, answer: bytes | None) -> None:
        self.answer = answer
        self.forwarded: list[bytes] = []

    def forward(self, call: wire.Request) -> bytes | None:
        self.forwarded.append(call.body)
        return self.answer


def test_relayed_answer_is_returned_unchanged_cached_and_not_uploaded_again(tmp_path):
    server = _server(tmp_path, offline=False)
    portal_answer = keys.skm(keys.license_obj(product_id=PRODUCT, key=KEY,
                                              machines=["pc-9"])) + b" "
    server.upstream = FakeUpstream(portal_answer)

    relayed = server.handle(_request(MachineCode="pc-9", token="device-token"))
    server.upstream = FakeUpstream(None)  # the portal goes away
    cached = server.handle(_request(MachineCode="pc-9"))

    assert relayed == portal_answer and cached == portal_answer
    assert [r["Source"] for r in server.store.pending(10)] == ["cache"]
    assert server.store.counts()["total"] == 2


def test_floating_answers_from_the_portal_are_not_cached(tmp_path):
    server = _server(tmp_path, offline=False, local_floating=False)
    server.upstream = FakeUpstream(keys.skm(keys.license_obj(product_id=PRODUCT, key=KEY)))
    server.handle(_request(MachineCode="pc-9", FloatingTimeInterval="300"))
    server.upstream = FakeUpstream(None)

    answer = json.loads(server.handle(_request(MachineCode="pc-9", FloatingTimeInterval="300")))

    assert answer == {"result": 1, "message": wire.FLOATING_OFF}
    assert server.cache.count() == 0
