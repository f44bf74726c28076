"""sdk-sign, the developer's command: settings from the vendor's file, the environment and
options; clear errors; --fingerprint and --verify."""

from __future__ import annotations

import json
import socket

import pytest
from sdk_signer import application_fingerprint, cli, client
from sdk_signer.certificate import FORMAT

from apps.audit.log import Actor
from apps.licensing.services import token_create
from apps.licensing.signing import public_key_xml
from apps.sdk_licensing.models import SdkCertificate
from tests.factories import ProductFactory, make_key, make_vendor


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for variable in cli.SETTINGS.values():
        monkeypatch.delenv(variable, raising=False)
    folder = tmp_path / "myapp"
    folder.mkdir()
    (folder / "main.py").write_text("print('x')\n")
    return folder


@pytest.fixture
def portal(live_server):
    vendor = make_vendor("CLI vendor")
    product = ProductFactory(vendor=vendor)
    key = make_key(product, max_no_of_machines=1)
    token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="signer",
                         permissions=["sdk.SignApplication"])[1]
    return {"server": live_server.url, "product_id": product.pk, "token": token,
            "public_key": public_key_xml(vendor.signing_key.public_key_pem), "key": key}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.django_db(transaction=True)
def test_the_developers_one_command_with_the_vendors_settings_file(app, portal, capsys):
    settings = {k: portal[k] for k in ("server", "product_id", "token", "public_key")}
    (app.parent / "sdk-signer.json").write_text(json.dumps(settings))
    code, out, err = run(capsys, "--key", portal["key"].key, "--machine-code", "m1", "myapp")
    assert code == 0, err
    assert "certificate" in out and "and checked" in out
    assert (app.parent / "myapp.license-certificate").is_file()
    record = SdkCertificate.objects.get()
    assert record.fingerprint == application_fingerprint(app).value
    assert record.machine.machine_code == "m1"
    code, out, _ = run(capsys, "--verify", "myapp")
    assert code == 0 and "is valid" in out


@pytest.mark.django_db(transaction=True)
def test_options_win_over_the_environment_which_wins_over_the_file(app, portal, capsys,
                                                                   monkeypatch):
    (app.parent / "sdk-signer.json").write_text(json.dumps(
        {"server": "http://127.0.0.1:9", "product_id": portal["product_id"],
         "token": "wrong-token"}))
    monkeypatch.setenv("SDK_SIGNER_TOKEN", portal["token"])
    monkeypatch.setenv("SDK_SIGNER_KEY", portal["key"].key)
    code, _, err = run(capsys, "--server", portal["server"], "--machine-code", "m1", "myapp")
    assert code == 0, err


@pytest.mark.django_db(transaction=True)
def test_the_portals_refusal_is_shown_as_it_is(app, portal, capsys):
    base = ["--server", portal["server"], "--product", str(portal["product_id"]),
            "--token", portal["token"], "--key", portal["key"].key]
    assert run(capsys, *base, "--machine-code", "m1", "myapp")[0] == 0
    code, _, err = run(capsys, *base, "--machine-code", "m2", "myapp")  # 1 seat only
    assert code == 1
    assert "Cannot activate the new device as the limit has been reached." in err


def test_missing_settings_name_the_options(app, capsys):
    code, _, err = run(capsys, "--key", "AAAA", "myapp")
    assert code == 2
    assert "--server" in err and "--product" in err and "--token" in err


def test_an_unreachable_portal_is_a_clear_error(app, capsys):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = run(capsys, "--server", f"http://127.0.0.1:{port}", "--product", "1",
                       "--token", "t", "--key", "k", "--machine-code", "m", "myapp")
    assert code == 1 and "Could not contact the licensing server" in err


def test_an_address_that_is_not_http_is_refused(app, capsys):
    code, _, err = run(capsys, "--server", "file:///etc", "--product", "1", "--token", "t",
                       "--key", "k", "--machine-code", "m", "myapp")
    assert code == 1 and "https://" in err


def test_fingerprint_prints_and_signs_nothing(app, capsys):
    code, out, _ = run(capsys, "--fingerprint", "myapp")
    assert code == 0
    assert out.split() == [application_fingerprint(app).value, "myapp"]
    assert not (app.parent / "myapp.license-certificate").exists()


def test_verify_without_a_certificate_says_what_to_do(app, capsys, tmp_path):
    key_file = tmp_path / "vendor.pub"
    key_file.write_text("<RSAKeyValue><Modulus>AQAB</Modulus><Exponent>AQAB</Exponent>"
                        "</RSAKeyValue>")
    code, _, err = run(capsys, "--verify", "--public-key", str(key_file), "--product", "3",
                       "myapp")
    assert code == 1 and "sign it with sdk-sign" in err


def test_a_broken_settings_file_is_a_usage_error(app, capsys):
    (app.parent / "sdk-signer.json").write_text("{broken")
    code, _, err = run(capsys, "--key", "k", "myapp")
    assert code == 2 and "sdk-signer.json" in err


ARGS = ["--server", "https://portal.example", "--product", "3", "--token", "T", "--key", "K",
        "--machine-code", "m", "myapp"]


def _answer(payload: bytes):
    return lambda **_: client.Signed(payload, b"sig", 1)


def test_an_answer_that_is_no_certificate_for_this_application_is_not_written(
        app, capsys, monkeypatch):
    target = app.parent / "myapp.license-certificate"
    target.write_text("the good certificate\n")
    for payload in (b"{}", b"[" * 50_000, json.dumps(
            {"Format": FORMAT, "Application": {"Fingerprint": "0" * 64}}).encode()):
        monkeypatch.setattr(cli, "sign_application", _answer(payload))
        code, _, err = run(capsys, *ARGS)
        assert code == 1 and "not a certificate for this application" in err
        assert target.read_text() == "the good certificate\n"


def test_the_certificate_replaces_a_link_instead_of_writing_through_it(app, capsys, monkeypatch,
                                                                       tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (app.parent / "myapp.license-certificate").symlink_to(victim)
    payload = json.dumps({"Format": FORMAT, "Application": {
        "Fingerprint": application_fingerprint(app).value}}).encode()
    monkeypatch.setattr(cli, "sign_application", _answer(payload))
    assert run(capsys, *ARGS)[0] == 0
    assert victim.read_text() == "precious\n"
    assert not (app.parent / "myapp.license-certificate").is_symlink()


@pytest.mark.parametrize("bad", [{"server": 5}, {"public_key": 5}, {"product_id": 1.9},
                                 {"product_id": "3x"}])
def test_wrong_types_in_the_settings_file_are_usage_errors(app, capsys, bad):
    settings = {"server": "https://p.example", "product_id": 3, "token": "T", "key": "K", **bad}
    (app.parent / "sdk-signer.json").write_text(json.dumps(settings))
    code, _, err = run(capsys, "--machine-code", "m", "myapp")
    assert code == 2 and "sdk-sign:" in err


def test_a_servers_message_cannot_drive_the_terminal(app, capsys, monkeypatch):
    def refuse(**_):
        raise client.SigningError("bad \x1b[2J\x1b]0;owned\x07 news")
    monkeypatch.setattr(cli, "sign_application", refuse)
    code, _, err = run(capsys, *ARGS)
    assert code == 1 and "\x1b" not in err and "\x07" not in err and "bad" in err


def test_plain_http_to_another_machine_is_warned_about_and_passwords_are_not_shown(
        app, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = run(capsys, "--server", f"http://user:secret@127.0.0.2:{port}", *ARGS[2:])
    assert code == 1 and "secret" not in err
    assert "not https" in err
