"""The license server trusts a configuration or license file only when it verifies with the
vendor public key pinned in the server's own options, never with a key found in the file.

The attack (issue #14, item 1): the customer decodes the configuration, raises the seats of a
floating key from 3 to 50 and its end date to 2100, puts their own public key in it as
VendorPublicKey, signs it again with their own key, and forges a license file (.skm) for 50
machines signed with the same key."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from license_server import cli, configuration, license_files, options, wire
from license_server.configuration import ConfigurationError
from license_server.options import Options

from . import keys

PRODUCT, KEY = 7, "AAAAA-BBBBB-CCCCC-DDDDD"
YEAR_2100 = 4_102_444_800
SEATS = 3
DEVICES = 6


def _forged_files(folder: Path) -> None:
    genuine = keys.configuration_file(floating={(PRODUCT, KEY): SEATS})
    forged = keys.forge_configuration(genuine, ValidUntil=YEAR_2100, FloatingKeys=[
        {"ProductId": PRODUCT, "Key": KEY, "MaxNoOfMachines": 50}])
    (folder / "configuration.json").write_text(forged)
    (folder / "licenses").mkdir(exist_ok=True)
    (folder / "licenses" / "key.skm").write_bytes(keys.skm(
        keys.license_obj(product_id=PRODUCT, key=KEY, max_machines=50), signer="attacker"))


def _options(folder: Path, *, pinned: bool) -> Options:
    return Options(offline=True, cache_folder=str(folder / "data"),
                   license_files=[str(folder / "licenses")],
                   configuration=str(folder / "configuration.json"),
                   vendor_public_key=keys.xml("vendor") if pinned else "")


def _floating_seat(server, machine_code: str) -> dict:
    form = {"ProductId": str(PRODUCT), "Key": KEY, "Sign": "True", "SignMethod": "1",
            "ModelVersion": "3", "MachineCode": machine_code, "FloatingTimeInterval": "300"}
    call = wire.Request.parse(raw_path="/api/key/Activate", http_method="POST",
                              body=urlencode(form).encode(),
                              content_type="application/x-www-form-urlencoded",
                              ip="192.0.2.7", user_agent="test")
    return json.loads(server.handle(call))


def test_the_re_signed_configuration_and_forged_license_file_are_refused(tmp_path):
    _forged_files(tmp_path)
    forged = (tmp_path / "configuration.json").read_text()

    with pytest.raises(ConfigurationError) as refused:
        configuration.parse(forged, vendor_public_key_xml=keys.xml("vendor"))
    assert str(refused.value) == configuration.OTHER_SIGNER
    # The key inside the file is never a fallback: without a pinned key nothing is trusted.
    with pytest.raises(ConfigurationError) as unpinned:
        configuration.parse(forged, vendor_public_key_xml="")
    assert str(unpinned.value) == configuration.NOT_PINNED
    loaded, problems = license_files.load([str(tmp_path / "licenses")],
                                          keys.private_key("vendor").public_key())
    assert loaded == {}
    assert len(problems) == 1 and "signature check failed" in problems[0]


@pytest.mark.parametrize("pinned", [True, False], ids=["key-pinned", "no-key-pinned"])
def test_forged_files_give_no_more_floating_seats_than_the_vendor_issued(tmp_path, pinned):
    _forged_files(tmp_path)
    server = cli.build(_options(tmp_path, pinned=pinned))[0]

    answers = [_floating_seat(server, f"pc-{n}") for n in range(DEVICES)]

    granted = [a for a in answers if a["result"] == 0]
    assert len(granted) <= SEATS
    assert granted == []
    expected = configuration.OTHER_SIGNER if pinned else configuration.NOT_PINNED
    assert {a["message"] for a in answers} == {expected}


@pytest.mark.parametrize("pinned", [True, False], ids=["key-pinned", "no-key-pinned"])
def test_check_calls_the_forged_files_invalid(tmp_path, capsys, pinned):
    _forged_files(tmp_path)

    status = cli.check(_options(tmp_path, pinned=pinned))

    printed = capsys.readouterr().out
    assert status == 1
    assert "signature valid" not in printed
    if pinned:
        assert configuration.OTHER_SIGNER in printed and "signature check failed" in printed
    else:
        assert "vendor_public_key is not set" in printed


class StartedAnyway(Exception):
    pass


def _must_not_serve(*args: object) -> None:
    raise StartedAnyway


@pytest.mark.parametrize("argv", [
    ["--offline", "--configuration", "configuration.json"],
    ["--offline", "--license-files", "licenses"],
    ["--upstream", "https://portal.example", "--configuration", "configuration.json"],
], ids=["configuration-offline", "license-files", "configuration-relaying"])
def test_the_server_refuses_to_start_without_the_pinned_key(tmp_path, monkeypatch, capsys,
                                                            argv):
    _forged_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "make_server", _must_not_serve)
    for name in ("VENDOR_PUBLIC_KEY", "CONFIG"):
        monkeypatch.delenv(options.ENV_PREFIX + name, raising=False)

    status = cli.main([*argv, "--cache-folder", str(tmp_path / "data")])

    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith("license-server: vendor_public_key is not set")
    assert "--vendor-public-key" in error and "LICENSE_SERVER_VENDOR_PUBLIC_KEY" in error


def test_an_unreadable_pinned_key_is_an_option_error(tmp_path, monkeypatch, capsys):
    _forged_files(tmp_path)
    monkeypatch.setattr(cli, "make_server", _must_not_serve)
    (tmp_path / "key.xml").write_text("not a key")

    status = cli.main(["--offline", "--configuration", str(tmp_path / "configuration.json"),
                       "--vendor-public-key", str(tmp_path / "key.xml"),
                       "--cache-folder", str(tmp_path / "data")])

    assert status == 2
    assert capsys.readouterr().err.startswith("license-server: vendor_public_key: ")


def test_the_genuine_files_work_with_the_key_file_named_in_the_json_file(tmp_path, capsys):
    (tmp_path / "licenses").mkdir()
    (tmp_path / "licenses" / "key.skm").write_bytes(
        keys.skm(keys.license_obj(product_id=PRODUCT, key=KEY, max_machines=SEATS)))
    (tmp_path / "configuration.json").write_text(
        keys.configuration_file(floating={(PRODUCT, KEY): SEATS}))
    (tmp_path / "vendor-public-key.xml").write_text(keys.xml("vendor"))
    (tmp_path / "license-server.json").write_text(json.dumps({
        "offline": True, "cache_folder": "data", "license_files": ["licenses"],
        "configuration": "configuration.json", "vendor_public_key": "vendor-public-key.xml"}))
    loaded, _ = options.load(["--config", str(tmp_path / "license-server.json")], {})

    assert cli.check(loaded) == 0
    server = cli.build(loaded)[0]
    answers = [_floating_seat(server, f"pc-{n}") for n in range(DEVICES)]
    assert [a["result"] for a in answers] == [0] * SEATS + [1] * (DEVICES - SEATS)
    assert "signature valid" in capsys.readouterr().out
