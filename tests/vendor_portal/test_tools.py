from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from apps.licensing import machine_code_scripts

NAMES = ["machinecode.ps1", "machinecode.bat", "machinecode.sh"]
SCRIPT_DIR = Path(machine_code_scripts.__file__).parent


def _download_url(name: str) -> str:
    return reverse("vendor_portal:machine_code_script", args=[name])


def test_page_links_each_script_and_names_the_client_calls(tenant, read_only_client):
    response = read_only_client.get(reverse("vendor_portal:machine_code_tools"))
    content = response.content.decode()
    assert response.status_code == 200
    for name in NAMES:
        assert f'href="{_download_url(name)}"' in content
    for call in ("GetMachineCode()", "GetMachineCode(v=2)", "GetMachineCodePI(v: 2)", "RPI_"):
        assert call in content
    assert "Bulk activation" in content


@pytest.mark.parametrize("name", NAMES)
def test_download_is_the_script_as_an_attachment(tenant, read_only_client, name):
    response = read_only_client.get(_download_url(name))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    on_disk = (SCRIPT_DIR / name).read_bytes()
    if name.endswith(".sh"):
        assert response.content == on_disk
        assert response["Content-Type"].startswith("text/x-sh")
    else:
        assert response.content == on_disk.replace(b"\n", b"\r\n")


def test_bat_is_served_as_a_windows_program(tenant, read_only_client):
    response = read_only_client.get(_download_url("machinecode.bat"))
    assert response["Content-Type"] == "application/x-msdos-program"


@pytest.mark.parametrize("name", ["__init__.py", "machinecode.exe", "MACHINECODE.SH",
                                  "..%2Fmachinecode.sh"])
def test_unknown_script_name_is_404(tenant, owner_client, name):
    assert owner_client.get(f"{reverse('vendor_portal:machine_code_tools')}{name}/"
                            ).status_code == 404


@pytest.mark.parametrize("args", [(), ("machinecode.sh",)])
def test_anonymous_is_sent_to_login(db, args):
    name = "machine_code_script" if args else "machine_code_tools"
    response = Client().get(reverse(f"vendor_portal:{name}", args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert b"machine" not in response.content
