"""Usage-based licensing in the license server, decided in-process: what it answers
data/IncrementIntValueToKey and data/DecrementIntValueToKey when it relays them, when the
portal cannot be reached (recorded for upload, bound checked against the last known value),
and when the portal may have made the change without answering. The real processes and the
official client are in test_usage_relay.py."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from license_server import cli, configuration, wire
from license_server.options import Options

from . import keys

PRODUCT, KEY = 7, "AAAAA-BBBBB-CCCCC-DDDDD"
CREDITS = {"Id": 41, "Name": "credits", "StringValue": "", "IntValue": 5}
SEATS = {"Id": 42, "Name": "seats", "StringValue": "", "IntValue": 0}
INCREMENT, DECREMENT = "data/IncrementIntValueToKey", "data/DecrementIntValueToKey"
OK = {"result": 0, "message": ""}


def _write_license(folder: Path, *objects: dict, sign_date: int | None = None) -> None:
    obj = keys.license_obj(product_id=PRODUCT, key=KEY) | {"DataObjects": list(objects)}
    if sign_date is not None:
        obj["SignDate"] = sign_date
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "key.skm").write_bytes(keys.skm(obj))


def _server(tmp_path: Path, *, config_text: str | None = None, objects=(CREDITS, SEATS),
            write_license: bool = True, **overrides):
    """The server over tmp_path; write_license=False keeps the license file there (a
    restart)."""
    if write_license:
        _write_license(tmp_path / "licenses", *objects)
    if config_text is None:
        config_text = keys.configuration_file(floating={})
    (tmp_path / "configuration.json").write_text(config_text)
    options = Options(**{"offline": True, "cache_folder": str(tmp_path / "data"),
                         "license_files": [str(tmp_path / "licenses")],
                         "configuration": str(tmp_path / "configuration.json"),
                         "vendor_public_key": keys.xml("vendor"), **overrides})
    return cli.build(options)[0]


def _call(server, method: str = INCREMENT, **params: str) -> dict:
    form = {"token": "t", "ProductId": str(PRODUCT), "Key": KEY, **params}
    call = wire.Request.parse(raw_path=f"/api/{method}", http_method="POST",
                              body=urlencode(form).encode(),
                              content_type="application/x-www-form-urlencoded",
                              ip="192.0.2.7", user_agent="test")
    return json.loads(server.handle(call))


def _journal(tmp_path: Path) -> list[tuple[dict, int]]:
    with sqlite3.connect(tmp_path / "data" / "license-server.sqlite3") as db:
        rows = db.execute("SELECT record, uploaded FROM journal ORDER BY seq").fetchall()
    return [(json.loads(record), uploaded) for record, uploaded in rows]


def test_an_offline_increment_is_answered_as_cryptolens_does_and_kept_for_upload(tmp_path):
    server = _server(tmp_path)

    answer = _call(server, Id="41", IntValue="3")

    assert answer == OK  # Cryptolens: BasicResult { Result = Success, Message = "" }
    [(record, uploaded)] = _journal(tmp_path)
    assert uploaded == 0
    assert (record["Method"], record["State"], record["Source"]) == (
        "data.incrementintvaluetokey", 8010, "local")
    assert record["Usage"] == {"DataObjectId": 41, "Name": "credits", "Delta": 3}


def test_decrements_and_names_are_recorded_and_shown_as_pending(tmp_path):
    server = _server(tmp_path)

    assert _call(server, Id="41", IntValue="3") == OK
    assert _call(server, DECREMENT, Id="41", IntValue="1") == OK
    # The official Python client sends Id=0 and the name when the object is named.
    assert _call(server, Id="0", Name="seats", IntValue="2") == OK

    assert [r["Usage"]["Delta"] for r, _ in _journal(tmp_path)] == [3, -1, 2]
    assert server.stats()["usage_pending"] == [
        {"product_id": PRODUCT, "key": KEY, "data_object_id": 41, "name": "credits",
         "records": 2, "delta": 2},
        {"product_id": PRODUCT, "key": KEY, "data_object_id": 42, "name": "seats",
         "records": 1, "delta": 2},
    ]


@pytest.mark.parametrize(("params", "message"), [
    ({"Id": "99", "IntValue": "1"}, wire.NO_DATA_OBJECT),
    ({"Id": "0", "Name": "nothing", "IntValue": "1"}, wire.NO_DATA_OBJECT),
    ({"Key": "OTHER-KEY", "Id": "41", "IntValue": "1"}, wire.NO_USAGE_FILE),
    ({"Id": "41", "IntValue": "-1"}, wire.INCORRECT_INPUT),
    ({"Id": "41", "IntValue": "many"}, wire.INCORRECT_INPUT),
], ids=["unknown-id", "unknown-name", "no-license", "negative", "not-a-number"])
def test_changes_the_server_cannot_check_are_refused_and_not_kept(tmp_path, params, message):
    server = _server(tmp_path)

    assert _call(server, **params) == {"result": 1, "message": message}
    assert [(r["State"], "Usage" in r) for r, _ in _journal(tmp_path)] == [(8020, False)]
    assert server.stats()["usage_pending"] == []


def test_data_objects_hidden_from_the_license_cannot_be_changed_offline(tmp_path):
    server = _server(tmp_path, objects=())

    assert _call(server, Id="41", IntValue="1") == {"result": 1,
                                                    "message": wire.NO_DATA_OBJECT}


def test_without_a_valid_configuration_nothing_is_recorded(tmp_path):
    expired = keys.configuration_file(floating={}, valid_for=-60)
    no_configuration = _server(tmp_path / "a", configuration="")
    (tmp_path / "b").mkdir()
    after_expiry = _server(tmp_path / "b", config_text=expired)

    assert _call(no_configuration, Id="41", IntValue="1") == {
        "result": 1, "message": wire.USAGE_NEEDS_CONFIGURATION}
    assert _call(after_expiry, Id="41", IntValue="1") == {"result": 1,
                                                          "message": configuration.EXPIRED}


def test_the_bound_is_checked_against_the_last_known_value(tmp_path):
    server = _server(tmp_path)  # credits is 5 in the license file

    upper = {"Id": "41", "EnableBound": "True", "Bound": "8"}
    assert _call(server, IntValue="2", **upper) == OK  # 7
    assert _call(server, IntValue="2", **upper) == {"result": 1,
                                                   "message": wire.BOUND_REACHED}  # 9 > 8
    assert _call(server, IntValue="1", **upper) == OK  # 8
    lower = {"Id": "41", "EnableBound": "True", "Bound": "6"}
    assert _call(server, DECREMENT, IntValue="3", **lower) == {
        "result": 1, "message": wire.BOUND_REACHED}  # 5 < 6
    assert _call(server, DECREMENT, IntValue="2", **lower) == OK  # 6
    # Without EnableBound, Bound is ignored (as the portal does).
    assert _call(server, IntValue="10", Id="41", Bound="0") == OK

    assert [p["delta"] for p in server.stats()["usage_pending"]] == [2 + 1 - 2 + 10]


def test_racing_devices_cannot_pass_the_bound_together(tmp_path):
    server = _server(tmp_path)  # credits is 5
    answers: list[dict] = []

    def use_one() -> None:
        answers.append(_call(server, Id="41", IntValue="1", EnableBound="true", Bound="15"))

    threads = [threading.Thread(target=use_one) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(a == OK for a in answers) == 10
    assert server.stats()["usage_pending"][0]["delta"] == 10


def test_a_restart_keeps_the_pending_changes_and_what_they_used(tmp_path):
    server = _server(tmp_path)
    assert _call(server, Id="41", IntValue="3", EnableBound="true", Bound="9") == OK
    server.store.close()

    restarted = _server(tmp_path, write_license=False)

    assert restarted.stats()["usage_pending"][0]["delta"] == 3
    # 5 + 3 already used: 2 more pass the bound of 9.
    assert _call(restarted, Id="41", IntValue="2", EnableBound="true", Bound="9") == {
        "result": 1, "message": wire.BOUND_REACHED}


def test_a_newer_signed_license_is_the_base_of_the_known_value(tmp_path):
    server = _server(tmp_path)
    assert _call(server, Id="41", IntValue="3") == OK  # recorded now, after the file's SignDate
    server.store.close()
    # A license signed later (it already counts the 3 above) says 20.
    _write_license(tmp_path / "licenses", CREDITS | {"IntValue": 20},
                   sign_date=int(time.time()) + 2)

    restarted = _server(tmp_path, write_license=False)

    bounded = {"Id": "41", "EnableBound": "true", "Bound": "21"}
    assert _call(restarted, IntValue="2", **bounded) == {"result": 1,
                                                         "message": wire.BOUND_REACHED}
    assert _call(restarted, IntValue="1", **bounded) == OK


# --- With a portal address: relaying, and what an outage of each kind leads to ---


class FakePortal(BaseHTTPRequestHandler):
    """Answers the Web API like the portal (success, or the bound error past `limit`), and
    with `silent` set takes the request and answers nothing until `release` is set."""

    calls: list[dict] = []
    silent = False
    release = threading.Event()
    value = {"credits": 5}
    limit = 6

    def do_POST(self) -> None:
        form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        FakePortal.calls.append(form)
        if FakePortal.silent:
            FakePortal.release.wait(timeout=5)
            return
        delta = int(form["IntValue"]) * (-1 if "Decrement" in self.path else 1)
        if form.get("EnableBound") == "True" and self.value["credits"] + delta > self.limit:
            body = {"result": 1, "message": wire.BOUND_REACHED}
        else:
            self.value["credits"] += delta
            body = OK
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_portal() -> Iterator[str]:
    FakePortal.calls, FakePortal.value, FakePortal.silent = [], {"credits": 5}, False
    FakePortal.release.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakePortal)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    FakePortal.release.set()
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_online_the_call_is_relayed_unchanged_and_not_kept_for_upload(tmp_path, fake_portal):
    server = _server(tmp_path, offline=False, upstream=fake_portal)

    assert _call(server, Id="41", IntValue="1", EnableBound="True", Bound="6") == OK
    assert _call(server, Id="41", IntValue="1", EnableBound="True", Bound="6") == {
        "result": 1, "message": wire.BOUND_REACHED}  # the portal's answer, passed through

    assert [(c["Id"], c["IntValue"], c["token"]) for c in FakePortal.calls] == [
        ("41", "1", "t"), ("41", "1", "t")]
    assert [(r["State"], r["Source"], u, "Usage" in r) for r, u in _journal(tmp_path)] == [
        (8010, "portal", 1, False), (8020, "portal", 1, False)]
    assert server.stats()["usage_pending"] == []


def test_relayed_changes_count_towards_the_value_known_offline(tmp_path, fake_portal):
    server = _server(tmp_path, offline=False, upstream=fake_portal)
    assert _call(server, Id="41", IntValue="3") == OK  # the portal: 5 + 3 = 8
    server.store.close()

    offline = _server(tmp_path, offline=False, upstream=_closed_port(), write_license=False)

    bounded = {"Id": "41", "EnableBound": "true", "Bound": "9"}
    assert _call(offline, IntValue="2", **bounded) == {"result": 1,
                                                       "message": wire.BOUND_REACHED}
    assert _call(offline, IntValue="1", **bounded) == OK
    assert offline.stats()["usage_pending"][0]["delta"] == 1


def test_a_portal_that_took_the_call_and_never_answered_is_not_counted_twice(
        tmp_path, fake_portal):
    FakePortal.silent = True
    server = _server(tmp_path, offline=False, upstream=fake_portal, upstream_timeout=0.5)

    answer = _call(server, Id="41", IntValue="1")

    # It may have been made there: recording it here too could count it twice.
    assert answer == {"result": 1, "message": wire.USAGE_UNCONFIRMED}
    assert len(FakePortal.calls) == 1
    assert server.stats()["usage_pending"] == []


def test_configured_offline_the_portal_is_never_called(tmp_path, fake_portal):
    server = _server(tmp_path, offline=True, upstream=fake_portal)

    assert _call(server, Id="41", IntValue="1") == OK
    assert FakePortal.calls == []
