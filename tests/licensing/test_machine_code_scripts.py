"""The machine-code scripts print what the official clients compute.

machinecode.sh runs here for real, on this machine and on fake root trees, and is compared with
the installed `licensing` client (cryptolens-python). Windows is not available, so the .ps1 and
.bat are only checked statically.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from licensing import internal
from licensing.methods import Helpers

from apps.licensing import machine_code_scripts
from apps.licensing.machine_code_scripts import SCRIPTS

SCRIPT_DIR = Path(machine_code_scripts.__file__).parent
SH = SCRIPT_DIR / "machinecode.sh"
INODE_DIRS = ("bin", "etc", "lib", "root", "sbin", "usr", "var")
SHELLS = [shell for shell in ("sh", "dash", "bash") if shutil.which(shell)]
PI_SERIAL = "10000000abcdef01"

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs on Linux")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def run(root: Path | None = None, shell: str = "sh", env: dict | None = None,
        ) -> subprocess.CompletedProcess:
    environment = {**os.environ, "MACHINE_CODE_ROOT": str(root) if root else "", **(env or {})}
    return subprocess.run([shell, str(SH)], capture_output=True, text=True, env=environment,
                          timeout=30, check=False)


def output_line(result: subprocess.CompletedProcess) -> tuple[str, str]:
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1, repr(result.stdout)
    code, name = result.stdout[:-1].split("\t")
    return code, name


def fake_linux_root(tmp_path: Path, machine_id: str | None = "0123456789abcdef0123456789abcdef\n",
                    ) -> Path:
    """A root tree with the inode directories; /bin is a symlink to usr/bin, /root is absent."""
    root = tmp_path / "fake root"
    for name in ("etc", "lib", "sbin", "usr/bin", "var/lib/dbus"):
        (root / name).mkdir(parents=True)
    (root / "bin").symlink_to("usr/bin")
    if machine_id is not None:
        (root / "etc/machine-id").write_text(machine_id)
    return root


def inodes_under(root: Path) -> str:
    return "".join(str(os.stat(root / name).st_ino) for name in INODE_DIRS
                   if os.path.exists(root / name))


def client_code_under(root: Path, monkeypatch) -> str:
    """The real client's Linux machine code, with its absolute paths redirected into `root`."""
    real_open, real_stat = open, os.stat
    with monkeypatch.context() as patch:
        patch.setattr(internal, "open", lambda path, *a, **k: real_open(f"{root}{path}", *a, **k),
                      raising=False)
        patch.setattr(os, "stat", lambda path, *a, **k: real_stat(f"{root}{path}", *a, **k))
        seed = internal.HelperMethods.compute_machine_code()
    return internal.HelperMethods.get_SHA256(seed)


# --- This machine, against the installed client. ---


@linux_only
@pytest.mark.parametrize("shell", SHELLS)
def test_script_prints_the_python_clients_machine_code_on_this_machine(shell):
    code, name = output_line(run(shell=shell))
    assert code == Helpers.GetMachineCode()
    assert name == socket.gethostname()


# --- Fake root trees. ---


def test_linux_code_is_sha256_of_machine_id_and_inodes(tmp_path, monkeypatch):
    root = fake_linux_root(tmp_path)
    code, _ = output_line(run(root))
    expected = sha256("0123456789abcdef0123456789abcdef" + inodes_under(root))
    assert code == expected
    assert code == client_code_under(root, monkeypatch)
    # /bin counts as the directory it points to, as os.stat does.
    assert str(os.stat(root / "usr/bin").st_ino) in inodes_under(root)


def test_missing_machine_id_falls_back_to_the_dbus_one(tmp_path, monkeypatch):
    root = fake_linux_root(tmp_path, machine_id=None)
    (root / "var/lib/dbus/machine-id").write_text("  fedcba9876543210fedcba9876543210 \n")
    code, _ = output_line(run(root))
    assert code == sha256("fedcba9876543210fedcba9876543210" + inodes_under(root))
    assert code == client_code_under(root, monkeypatch)


def test_empty_machine_id_is_used_as_it_is_like_the_client_does(tmp_path, monkeypatch):
    root = fake_linux_root(tmp_path, machine_id="\n")
    (root / "var/lib/dbus/machine-id").write_text("not-read\n")
    code, _ = output_line(run(root))
    assert code == sha256(inodes_under(root))
    assert code == client_code_under(root, monkeypatch)


def test_nothing_to_hash_is_an_error_not_a_code(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    result = run(root)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "cannot compute" in result.stderr


def fake_raspberry_pi(tmp_path: Path, cpuinfo: str) -> Path:
    root = fake_linux_root(tmp_path)
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\0")
    (root / "proc/cpuinfo").write_text(cpuinfo)
    return root


CPUINFO = ("processor\t: 0\nBogoMIPS\t: 108.00\n\nHardware\t: BCM2835\nRevision\t: c03114\n"
           f"Serial\t\t: {PI_SERIAL}\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n")


@pytest.mark.parametrize("shell", SHELLS)
def test_raspberry_pi_code_is_rpi_and_sha256_of_the_serial(tmp_path, shell):
    root = fake_raspberry_pi(tmp_path, CPUINFO)
    code, name = output_line(run(root, shell=shell))
    assert code == "RPI_" + sha256(PI_SERIAL)
    assert name == socket.gethostname()


def test_raspberry_pi_detection_ignores_case(tmp_path):
    root = fake_raspberry_pi(tmp_path, CPUINFO)
    (root / "proc/device-tree/model").write_bytes(b"RASPBERRY PI Compute Module 4\0")
    assert output_line(run(root))[0] == "RPI_" + sha256(PI_SERIAL)


def test_raspberry_pi_can_use_the_python_clients_rule_instead(tmp_path, monkeypatch):
    root = fake_raspberry_pi(tmp_path, CPUINFO)
    code, _ = output_line(run(root, env={"MACHINE_CODE_RPI": "0"}))
    assert code == client_code_under(root, monkeypatch)


def test_other_boards_use_the_linux_rule(tmp_path, monkeypatch):
    root = fake_raspberry_pi(tmp_path, CPUINFO)
    (root / "proc/device-tree/model").write_bytes(b"NVIDIA Jetson Nano Developer Kit\0")
    assert output_line(run(root))[0] == client_code_under(root, monkeypatch)


def test_raspberry_pi_without_a_serial_falls_back_to_the_linux_rule(tmp_path, monkeypatch):
    root = fake_raspberry_pi(tmp_path, "processor\t: 0\nHardware\t: BCM2835\n")
    result = run(root)
    assert output_line(result)[0] == client_code_under(root, monkeypatch)
    assert "Serial" in result.stderr


# --- macOS, with stand-ins for uname and system_profiler, against the client's macOS branch. ---

SYSTEM_PROFILER = """Hardware:

    Hardware Overview:

      Model Name: MacBook Pro
      Serial Number (system): C02XG0FDH7JY
      Hardware UUID: 5B9C1A2E-7D3F-4E6A-9B1C-2D3E4F5A6B7C
      Provisioning UDID: 5B9C1A2E-7D3F-4E6A-9B1C-2D3E4F5A6B7C
      Activation Lock Status: Disabled  \t

"""


def fake_mac_path(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "mac-bin"
    bin_dir.mkdir()
    (bin_dir / "uname").write_text(
        '#!/bin/sh\ncase "$1" in -s) echo Darwin ;; -n) echo fake-mac.local ;; esac\n')
    (bin_dir / "system_profiler").write_text(
        f"#!/bin/sh\ncat <<'END'\n{SYSTEM_PROFILER}END\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return bin_dir


def test_macos_code_equals_the_python_clients_macos_branch(tmp_path, monkeypatch):
    path = f"{fake_mac_path(tmp_path)}{os.pathsep}{os.environ['PATH']}"
    code, name = output_line(run(env={"PATH": path}))
    monkeypatch.setenv("PATH", path)
    monkeypatch.setattr(platform, "platform", lambda *a, **k: "macOS-14.4-arm64-arm-64bit")
    assert code == Helpers.GetMachineCode()
    assert code == sha256(SYSTEM_PROFILER[SYSTEM_PROFILER.index("UUID"):].strip())
    assert name == "fake-mac.local"


# --- Whichever SHA-256 tool exists. ---

TOOLS = ("uname", "ls", "cat", "tr", "grep", "sed", "cut", "head")


def path_with_only(tmp_path: Path, hasher: str | None) -> str:
    bin_dir = tmp_path / f"bin-{hasher}"
    bin_dir.mkdir()
    for tool in (*TOOLS, *([hasher] if hasher else [])):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return str(bin_dir)


@pytest.mark.parametrize("hasher", ["sha256sum", "shasum", "openssl"])
def test_any_of_the_sha256_tools_gives_the_same_code(tmp_path, hasher):
    if not shutil.which(hasher):
        pytest.skip(f"{hasher} is not installed here")
    root = fake_linux_root(tmp_path)
    sh = shutil.which("sh")
    result = run(root, shell=sh, env={"PATH": path_with_only(tmp_path, hasher)})
    assert output_line(result)[0] == sha256("0123456789abcdef0123456789abcdef"
                                            + inodes_under(root))


def test_no_sha256_tool_is_a_clear_error(tmp_path):
    result = run(fake_linux_root(tmp_path), shell=shutil.which("sh"),
                 env={"PATH": path_with_only(tmp_path, None)})
    assert result.returncode == 1
    assert result.stdout == ""
    assert "sha256sum, shasum or openssl" in result.stderr


# --- Static checks: no Windows here to run the .ps1 and .bat. ---


def script_text(name: str) -> str:
    return (SCRIPT_DIR / name).read_text(encoding="ascii")  # ASCII: PowerShell 5 reads ANSI


def header(name: str) -> str:
    text = script_text(name)
    return "\n".join(line for line in text.splitlines()[:30]
                     if line.startswith(("#", "rem", "@")))


@pytest.mark.parametrize("name", ["machinecode.ps1", "machinecode.bat"])
def test_windows_scripts_hash_the_smbios_uuid_and_fall_back_to_machine_guid(name):
    text = script_text(name)
    assert "(Get-CimInstance -Class Win32_ComputerSystemProduct).UUID" in text
    assert "SOFTWARE\\Microsoft\\Cryptography" in text
    assert "MachineGuid" in text
    assert text.index("Win32_ComputerSystemProduct", len(header(name))) < text.index(
        "MachineGuid", len(header(name)))
    assert "GetMachineCodePI(v: 2)" in header(name)
    assert "GetMachineCode(v=2)" in header(name)


def test_ps1_takes_the_lower_case_sha256_of_the_utf8_bytes_and_prints_a_tab():
    text = script_text("machinecode.ps1")
    assert "[System.Security.Cryptography.SHA256]::Create()" in text
    assert "[System.Text.Encoding]::UTF8.GetBytes(" in text
    assert "ToString('x2')" in text
    assert ".Trim()" in text
    assert '"`t" + $env:COMPUTERNAME' in text


def test_bat_hashes_with_certutil_lower_cases_and_prints_a_tab():
    text = script_text("machinecode.bat")
    assert 'certutil -hashfile "%seedfile%" SHA256' in text
    assert 'for %%L in (a b c d e f) do call set "hash=%%hash:%%L=%%L%%"' in text
    assert "echo(%hash%\t%COMPUTERNAME%" in text
    code = [line for line in text.lower().splitlines() if not line.startswith("rem")]
    assert not [line for line in code if "wmic" in line]  # removed from current Windows 11


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_every_script_is_ascii_and_says_what_it_prints(name):
    assert "<TAB>" in header(name)
    assert "GetMachineCode" in header(name)


def test_sh_header_names_the_python_client_and_the_raspberry_pi_rule():
    assert "Helpers.GetMachineCode()" in header("machinecode.sh")
    assert "RPI_" in header("machinecode.sh")


def test_windows_scripts_are_served_with_crlf_and_the_shell_script_with_lf():
    for name, script in SCRIPTS.items():
        body = script.content()
        if name.endswith(".sh"):
            assert b"\r" not in body
        else:
            assert body.count(b"\n") == body.count(b"\r\n") > 10
