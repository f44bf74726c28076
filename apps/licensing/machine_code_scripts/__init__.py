"""The machine-code scripts customer IT runs on every computer before a bulk activation.

Each prints one line, ``<machine code>\\t<device name>``, whose machine code is the one an
official Cryptolens client computes on that computer; each file's header says which call. The
files sit next to this module and ship as package data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_DIRECTORY = Path(__file__).resolve().parent


@dataclass(frozen=True)
class MachineCodeScript:
    name: str
    platform: str
    content_type: str
    run: str  # the command line customer IT uses
    matches: tuple[str, ...]  # the official client calls whose value it prints
    crlf: bool = False  # cmd.exe misreads labels in a .bat saved with bare LF line endings

    def content(self) -> bytes:
        """The file as served: ASCII, with the line endings its platform expects."""
        data = (_DIRECTORY / self.name).read_bytes().replace(b"\r\n", b"\n")
        return data.replace(b"\n", b"\r\n") if self.crlf else data


SCRIPTS: dict[str, MachineCodeScript] = {
    script.name: script
    for script in (
        MachineCodeScript(
            name="machinecode.ps1",
            platform="Windows (PowerShell 5 or later)",
            content_type="text/plain; charset=us-ascii",
            run="powershell -NoProfile -ExecutionPolicy Bypass -File machinecode.ps1",
            matches=(".NET Helpers.GetMachineCodePI(v: 2)",
                     "Python Helpers.GetMachineCode(v=2) on Windows"),
            crlf=True,
        ),
        MachineCodeScript(
            name="machinecode.bat",
            platform="Windows (cmd, where running scripts is blocked)",
            content_type="application/x-msdos-program",
            run="machinecode.bat",
            matches=(".NET Helpers.GetMachineCodePI(v: 2)",
                     "Python Helpers.GetMachineCode(v=2) on Windows"),
            crlf=True,
        ),
        MachineCodeScript(
            name="machinecode.sh",
            platform="Linux, macOS, Raspberry Pi",
            content_type="text/x-sh; charset=us-ascii",
            run="sh machinecode.sh",
            matches=("Python Helpers.GetMachineCode() on Linux and macOS",
                     ".NET Helpers.GetMachineCodePI(v: 2) on a Raspberry Pi (RPI_...)"),
        ),
    )
}
