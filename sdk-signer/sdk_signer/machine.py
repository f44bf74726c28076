"""The developer machine's code: the seat the signing utility takes on the developer's key.

SHA-256 (UTF-8, lower-case hex) of the operating system's machine identifier, like the
official Python client's machine codes: Linux /etc/machine-id (or D-Bus's copy), Windows the
registry's MachineGuid, macOS the IOPlatformUUID. `sdk-sign --machine-code` overrides it (a
build server whose identifier changes with each container, say)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path


def _linux() -> str | None:
    for candidate in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            value = Path(candidate).read_text().strip()
        except OSError:
            continue
        if value:
            return value
    return None


def _windows() -> str | None:
    try:
        import winreg  # Windows only
    except ImportError:
        return None
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE,  # type: ignore[attr-defined]
                            r"SOFTWARE\Microsoft\Cryptography") as handle:
            value, _ = winreg.QueryValueEx(handle, "MachineGuid")  # type: ignore[attr-defined]
    except OSError:
        return None
    return str(value).strip() or None


def _macos() -> str | None:
    try:
        out = subprocess.run(["/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice"],
                             capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        if "IOPlatformUUID" in line:
            return line.split("=")[-1].strip().strip('"') or None
    return None


def machine_code() -> str:
    """This machine's code; LookupError when the system gives no identifier."""
    if sys.platform.startswith("win"):
        seed = _windows()
    elif sys.platform == "darwin":
        seed = _macos()
    else:
        seed = _linux()
    if not seed:
        raise LookupError("this machine has no identifier to make a machine code from; "
                          "give one with --machine-code")
    return hashlib.sha256(seed.encode()).hexdigest()
