"""What a machine code looks like: the formats the official Cryptolens clients and the
portal's machine-code scripts print, and vendor-defined patterns for software that computes
its own.

Only the portal's forms use this, where a person types a code and a typo would spend a seat:
the public activation form, and the vendor's license-file page (where the vendor may tick that
its software makes its own codes). The Web API's Activate accepts
any code up to 128 characters, as Cryptolens does.

A vendor's pattern is a Python regular expression run with `re.fullmatch` on at most
MAX_MACHINE_CODE_LENGTH characters. `re` has no timeout, so a pattern is checked when it is
saved instead: no back-references, look-arounds or conditionals, no open-ended repeat or
alternation inside a repeated group (the shapes that backtrack exponentially), and a bound on
how many ways its repeats can split a code (the polynomial ones)."""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from typing import Any

from apps.core.errors import DomainError
from apps.licensing.models.catalogue import MAX_MACHINE_CODE_LENGTH

OFFICIAL = "official"
PATTERN = "pattern"
FORMAT_CHOICES = [
    (OFFICIAL, "Formats of the official clients and the machine-code scripts"),
    (PATTERN, "Your own pattern (regular expression)"),
]
MAX_PATTERN_LENGTH = 200


@dataclass(frozen=True)
class MachineCodeFormat:
    name: str
    description: str
    example: str
    produced_by: tuple[str, ...]
    regex: re.Pattern[str]

    def matches(self, code: str) -> bool:
        return self.regex.fullmatch(code) is not None


def _hex(length: int) -> str:
    # One case throughout: the clients print either lower- or upper-case hex, never a mix, and
    # activations are matched case-sensitively, so a mixed-case code is a typo.
    return f"[0-9a-f]{{{length}}}|[0-9A-F]{{{length}}}"


OFFICIAL_FORMATS: tuple[MachineCodeFormat, ...] = (
    MachineCodeFormat(
        "sha256", "SHA-256: 64 hexadecimal characters, lower- or upper-case",
        "537b3abd0264ab1ce2deae9e3807d11ad876466cf3da2daff51d49cf3f6fc05a",
        ("Python Helpers.GetMachineCode() (v=1 and v=2)",
         ".NET Helpers.GetMachineCodePI() (v=1 and v=10 upper-case, v=2 lower-case)",
         "Java Helpers.GetMachineCode()", "Node.js Helpers.GetMachineCode()",
         "C++ MachineCodeComputer_SystemdDBusInodes_SHA256",
         "machinecode.ps1, machinecode.bat and machinecode.sh (Linux, macOS)"),
        re.compile(_hex(64))),
    MachineCodeFormat(
        "raspberry_pi", "Raspberry Pi: RPI_ and 64 hexadecimal characters",
        "RPI_28D5DDCD90810345ADC282B98E89F8F0C141D18A93B95781CE9B04B941AA0A81",
        (".NET Helpers.GetMachineCodePI() on a Raspberry Pi",
         "machinecode.sh on a Raspberry Pi"),
        re.compile(f"RPI_(?:{_hex(64)})")),
    MachineCodeFormat(
        "sha1", "SHA-1: 40 hexadecimal characters",
        "D38F13CAB8938AC3C393BC111E1A85BB4BA2CCC9",
        (".NET SKM.getMachineCode(SKM.getSHA1) (the classic method)",
         "C++ MachineCodeComputer_COM"),
        re.compile(_hex(40))),
    MachineCodeFormat(
        "short", "Short: the first 20 hexadecimal characters of a SHA-256 code",
        "cf7a0f181bdc8fba9229", ("Node.js Helpers.GetMachineCodeShort()",),
        re.compile(_hex(20))),
    MachineCodeFormat(
        "eight_digits", "Eight digits", "61843235",
        (".NET SKM.getMachineCode(SKM.getEightDigitsLongHash) (the classic method)",),
        re.compile(r"[0-9]{8}")),
    MachineCodeFormat(
        "mac_address", "MAC address: six pairs of hexadecimal characters with colons",
        "02:fc:00:00:00:01", ("Python Helpers.GetMACAddress()",),
        re.compile("[0-9a-f]{2}(?::[0-9a-f]{2}){5}|[0-9A-F]{2}(?::[0-9A-F]{2}){5}")),
    MachineCodeFormat(
        "uuid", "SMBIOS UUID: 8-4-4-4-12 hexadecimal characters",
        "4C4C4544-0035-4E10-8033-B3C04F4A4B32",
        ("Cryptolens admin-tools machinecodescriptuuid.bat",),
        re.compile("[0-9A-F]{8}(?:-[0-9A-F]{4}){3}-[0-9A-F]{12}"
                   "|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}")),
)

# For the end user, who copies what the software shows and does not know the word "hex".
OFFICIAL_HELP = ("Copy it exactly as your software shows it: 64 characters, digits 0-9 and "
                 "letters a-f (e.g. 537b3abd0264…c05a), with RPI_ in front on a Raspberry Pi. "
                 "Older versions show 40 or 20 such characters, 8 digits, a MAC address or a "
                 "UUID.")


def official_format(code: str) -> MachineCodeFormat | None:
    """The official format `code` is written in, or None."""
    return next((fmt for fmt in OFFICIAL_FORMATS if fmt.matches(code)), None)


def machine_code_help(*, pattern: str = "", example: str = "") -> str:
    """The expected format, in words for the end user, for a form with these settings."""
    if not pattern:
        return OFFICIAL_HELP
    if example:
        return f"Copy it exactly as your software shows it, e.g. {example}"
    return "Copy it exactly as your software shows it."


def machine_code_matches(code: str, *, pattern: str = "") -> bool:
    """Whether `code` is a machine code: one of the official formats, or, given a vendor's
    pattern (already checked by check_pattern), a full match of it."""
    if len(code) > MAX_MACHINE_CODE_LENGTH:
        return False
    if not pattern:
        return official_format(code) is not None
    compiled = _compiled(pattern)
    return compiled is not None and compiled.fullmatch(code) is not None


# --- Vendor-defined patterns ---------------------------------------------------------------

FIELD = "machine_code_pattern"
# Splits of a 128-character code that the repeats may try, estimated generously: three
# open-ended repeats (129**3) times a few optional parts. Real backtracking stays well under
# this, in the order of milliseconds.
MAX_PATTERN_WORK = 129 ** 3 * 8
_PLAIN = {"LITERAL", "NOT_LITERAL", "IN", "ANY", "AT"}
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_TOO_SLOW = ("This pattern could take too long to check: use at most three open-ended repeats "
             "(+, *, {n,}) and give the others a bound, e.g. [A-Z]{1,10}.")
_NESTED = ("This pattern could take too long to check: a repeated group must not contain "
           "another open-ended or optional repeat or an alternative (|), e.g. write "
           "(?:[0-9A-F]{4}-){3} rather than (?:[0-9A-F]+-)+.")


class _Unsafe(Exception):
    pass


def check_pattern(pattern: str) -> None:
    """Refuse a vendor's pattern that is too long, does not compile, or could backtrack for
    long on a 128-character code (see the module docstring)."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise DomainError(f"The pattern can have at most {MAX_PATTERN_LENGTH} characters.",
                          field=FIELD)
    if any(ord(c) < 32 for c in pattern):
        raise DomainError("Write the pattern on one line.", field=FIELD)
    try:
        re.compile(pattern)
        parsed = importlib.import_module("re._parser").parse(pattern)
    except (re.error, OverflowError, RecursionError) as error:
        raise DomainError(f"This is not a valid regular expression: {error}.",
                          field=FIELD) from None
    try:
        _work(parsed, repeated=False)
    except _Unsafe as error:
        raise DomainError(str(error), field=FIELD) from None


def check_example(example: str, *, pattern: str) -> None:
    """A vendor's example code, shown on the public page, must be one the form accepts."""
    if not machine_code_matches(example, pattern=pattern):
        raise DomainError("The example does not match the pattern.",
                          field="machine_code_example")


def _work(items: Any, *, repeated: bool) -> int:
    """How many ways the pattern's repeats and alternatives can split a code, at most."""
    work = 1
    for op, av in items:
        name = op.name
        if name in _PLAIN:
            continue
        if name == "SUBPATTERN":
            work *= _work(av[3], repeated=repeated)
        elif name == "ATOMIC_GROUP":
            work *= _work(av, repeated=repeated)
        elif name == "BRANCH":
            if repeated:
                raise _Unsafe(_NESTED)
            work *= sum(_work(branch, repeated=False) for branch in av[1])
        elif name in _REPEATS:
            low, high, body = av
            if repeated and low != high:
                raise _Unsafe(_NESTED)
            top = min(high, MAX_MACHINE_CODE_LENGTH)
            work *= (top - min(low, top) + 1) * _work(body, repeated=repeated or high > 1)
        else:
            raise _Unsafe("Back-references, look-arounds and conditional groups are not "
                          "supported in machine-code patterns.")
        if work > MAX_PATTERN_WORK:
            raise _Unsafe(_TOO_SLOW)
    return work


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        check_pattern(pattern)
    except DomainError:
        return None  # a pattern that no longer passes accepts nothing rather than hanging
    return re.compile(pattern)
