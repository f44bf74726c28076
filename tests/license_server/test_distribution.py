"""The license server is its own distribution (license-server/): the portal's code does not
import it and it imports nothing of the portal, so the two keep their own copies of what they
share. This test, which may import both, keeps those copies equal."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.urls import resolve
from license_server import configuration as server_configuration
from license_server import crypto as server_crypto
from license_server import uploader as server_uploader

from apps.api.methods import licenseserver
from apps.license_server import configuration_file, wheel

from . import keys

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "license-server"
PORTAL_CODE = ("apps", "licensing_portal")
# What the server may import beyond the standard library and itself.
SERVER_THIRD_PARTY = {"cryptography"}


def _imported_roots(folder: Path) -> dict[str, set[str]]:
    """Top-level names each module of `folder` imports absolutely (relative imports skipped)."""
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        roots = found.setdefault(str(path.relative_to(ROOT)), set())
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                roots |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots.add(node.module.split(".")[0])
    return found


def test_the_portal_does_not_import_the_license_server():
    offending = {module: roots for folder in PORTAL_CODE
                 for module, roots in _imported_roots(ROOT / folder).items()
                 if "license_server" in roots}
    assert offending == {}


def test_the_license_server_imports_only_the_standard_library_and_cryptography():
    allowed = set(sys.stdlib_module_names) | SERVER_THIRD_PARTY | {"license_server"}
    offending = {module: roots - allowed
                 for module, roots in _imported_roots(SERVER / "license_server").items()
                 if roots - allowed}
    assert offending == {}


def test_its_pyproject_requires_cryptography_only_and_names_the_command():
    project = tomllib.loads((SERVER / "pyproject.toml").read_text())["project"]
    assert project["name"] == wheel.LICENSE_SERVER.distribution
    assert project["dependencies"] == ["cryptography>=43"]
    assert project["scripts"] == {"license-server": "license_server.cli:main"}


def test_the_portals_pyproject_no_longer_ships_the_server():
    portal = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "license-server" not in portal["project"].get("scripts", {})
    assert not any("license_server" in name
                   for name in portal["tool"]["setuptools"]["packages"]["find"]["include"])


def test_portal_and_server_agree_on_the_shared_strings():
    assert (configuration_file.FORMAT, configuration_file.VERSION) == (
        server_configuration.FORMAT, server_configuration.VERSION)
    assert configuration_file.PORTAL_REVOKED == server_configuration.PORTAL_REVOKED


def test_the_server_uploads_to_the_portals_upload_view():
    assert resolve("/" + server_uploader.UPLOAD_PATH).func == licenseserver.upload_log


def test_the_server_reads_a_file_the_portal_writes():
    payload = {"Id": 4, "Name": "Plant", "VendorId": 2, "Customer": None, "IssuedAt": 1,
               "ValidUntil": 2_000_000_000, "Portal": "https://portal.example",
               "FloatingKeys": [{"ProductId": 3, "Key": "ABCDE", "MaxNoOfMachines": 5}],
               "ServerPrivateKey": keys.pem("server"), "ServerPublicKey": keys.xml("server"),
               "VendorPublicKey": keys.xml("vendor"), "UploadToken": "4.secret"}

    text = configuration_file.build_file(
        payload, lambda data: server_crypto.sign(keys.private_key("vendor"), data))

    parsed = server_configuration.parse(text, vendor_public_key_xml=keys.xml("vendor"))
    assert (parsed.id, parsed.name, parsed.portal, parsed.upload_token) == (
        4, "Plant", "https://portal.example", "4.secret")
    assert parsed.floating_keys == {(3, "ABCDE"): 5}
    assert parsed.valid_until == 2_000_000_000
    assert parsed.server_public_key_xml == keys.xml("server")


def test_a_file_signed_with_another_key_is_refused_by_the_server():
    text = configuration_file.build_file(
        {"Id": 1}, lambda data: server_crypto.sign(keys.private_key("attacker"), data))

    with pytest.raises(server_configuration.ConfigurationError) as error:
        server_configuration.parse(text, vendor_public_key_xml=keys.xml("vendor"))
    assert str(error.value) == server_configuration.TAMPERED


def test_python_dash_m_license_server_is_the_command():
    done = subprocess.run([sys.executable, "-m", "license_server", "--help"], cwd=SERVER.parent,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: license-server")
