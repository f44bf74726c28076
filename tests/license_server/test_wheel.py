"""The license server's wheel: built offline from license-server/ by a management command and
offered for download next to the configuration files in the vendor dashboard."""

from __future__ import annotations

import io
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from apps.license_server.wheel import LICENSE_SERVER

BUILD_COMMAND = LICENSE_SERVER.build_command

WHEEL_URL = "vendor_portal:license_server_wheel"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """One build for the module (a couple of seconds), as `make setup` makes it."""
    folder = tmp_path_factory.mktemp("wheels")
    call_command("build_license_server_wheel", output=folder, stdout=io.StringIO())
    (wheel,) = folder.glob("*.whl")
    return wheel


@pytest.fixture
def wheel_folder(settings, built) -> Path:
    settings.LICENSE_SERVER_WHEEL_DIR = built.parent
    return built.parent


def _metadata(content: bytes) -> tuple[list[str], dict]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        return names, {"metadata": Parser().parsestr(archive.read(metadata).decode()),
                       "entry_points": archive.read(entry_points).decode()}


def test_a_read_only_member_downloads_a_wheel_that_requires_cryptography_only(
        wheel_folder, read_only_client):
    response = read_only_client.get(reverse(WHEEL_URL))

    assert response.status_code == 200
    name = "licensing_portal_license_server-0.1.0-py3-none-any.whl"
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    names, info = _metadata(b"".join(response.streaming_content))
    assert info["metadata"]["Name"] == "licensing-portal-license-server"
    assert info["metadata"].get_all("Requires-Dist") == ["cryptography>=43"]
    assert "license-server = license_server.cli:main" in info["entry_points"]
    assert {n.split("/")[0] for n in names} == {
        "license_server", "licensing_portal_license_server-0.1.0.dist-info"}
    assert "license_server/__main__.py" in names


def test_every_vendor_gets_the_same_file(wheel_folder, built, owner_client,
                                         other_vendor_client):
    ours, theirs = (b"".join(client.get(reverse(WHEEL_URL)).streaming_content)
                    for client in (owner_client, other_vendor_client))
    assert ours == theirs == built.read_bytes()


def test_the_pages_offer_the_wheel_next_to_the_configuration_files(wheel_folder, owner_client):
    page = owner_client.get(reverse("vendor_portal:license_server_list")).content.decode()

    assert reverse(WHEEL_URL) in page
    assert "licensing_portal_license_server-0.1.0-py3-none-any.whl" in page


def test_without_a_built_wheel_the_pages_say_how_to_build_it(settings, tmp_path, owner_client):
    settings.LICENSE_SERVER_WHEEL_DIR = tmp_path / "never-built"

    page = owner_client.get(reverse("vendor_portal:license_server_list"))
    download = owner_client.get(reverse(WHEEL_URL))

    assert page.status_code == 200
    assert BUILD_COMMAND in page.content.decode()
    assert reverse(WHEEL_URL) not in page.content.decode()
    assert download.status_code == 404
    assert BUILD_COMMAND in download.content.decode()


def test_a_new_build_replaces_the_previous_wheel(tmp_path, built):
    stale = tmp_path / "licensing_portal_license_server-0.0.1-py3-none-any.whl"
    stale.write_bytes(b"old")
    other = tmp_path / "something-else.whl"
    other.write_bytes(b"not ours")

    path = LICENSE_SERVER.build(folder=tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, other.name])
    assert path.read_bytes()[:2] == b"PK"


def test_a_folder_that_is_not_the_servers_source_is_refused(tmp_path):
    with pytest.raises(CommandError, match="not the license server's source"):
        call_command("build_license_server_wheel", source=tmp_path, output=tmp_path / "out")
