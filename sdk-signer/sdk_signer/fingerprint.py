"""The application fingerprint: SHA-256 over the application's files in a stable order.

An application is a file, a folder or a wheel. Its files are listed as (path, content):
- a file: one entry, its own name;
- a folder: every file below it, by its path relative to the folder with "/" separators
  (symbolic links to files are read, links to folders are not followed);
- a wheel (a file ending in .whl): its members, by their names in the archive. A wheel and
  the folder it unpacks to have the same fingerprint; rebuilding a wheel with other
  timestamps or compression does not change it.
Left out: certificates (`*.license-certificate`) and the bytecode Python caches for a signed
source file when the application runs: `__pycache__/<name>.<tag>.pyc` (or `.opt-N.pyc`)
beside a `<name>.py`. Everything else counts, other files in `__pycache__` and `.pyc` files
without their source included: Python runs those too.

The entries are sorted by the UTF-8 bytes of their paths. The manifest is one line per entry,
`<SHA-256 of the content, lower-case hex><two spaces><path>\n` (what `sha256sum` prints), and
the fingerprint is the SHA-256 of the manifest's UTF-8 bytes, lower-case hex. For a folder
without `__pycache__` and certificates, GNU tools give the same value
(tests/sdk_signer/test_fingerprint.py runs it):
    cd app && find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum \\
        | sha256sum"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ALGORITHM = "sha256-files-v1"
CERTIFICATE_SUFFIX = ".license-certificate"
_CHUNK = 1 << 20
# `<name>.<implementation>-<version>[.opt-N].pyc`, as importlib names cached bytecode.
_CACHED = re.compile(r"(?P<name>[^./]+)\.[a-z]+-?[0-9]+(\.opt-[0-9]+)?\.pyc")


class ApplicationError(ValueError):
    """The application cannot be read or holds nothing to fingerprint."""


@dataclass(frozen=True)
class Fingerprint:
    value: str  # 64 lower-case hex characters
    kind: str  # "file", "folder" or "wheel"
    files: int
    algorithm: str = ALGORITHM


def _left_out(relative: str, present: set[str]) -> bool:
    """A certificate, or bytecode cached for a source file the application has."""
    if relative.endswith(CERTIFICATE_SUFFIX):
        return True
    folder, _, name = relative.rpartition("/")
    parent, _, cache = folder.rpartition("/")
    cached = _CACHED.fullmatch(name)
    if cache != "__pycache__" or cached is None:
        return False
    source = f"{parent}/{cached['name']}.py" if parent else f"{cached['name']}.py"
    return source in present


def _hash_stream(read: Iterator[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in read:
        digest.update(chunk)
    return digest.hexdigest()


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(_CHUNK):
        yield chunk


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from _chunks(handle)


def _folder_files(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory, _folders, files in os.walk(root):  # links to folders are not followed
        for name in files:
            path = Path(directory, name)
            if path.is_file():  # a broken link or a socket is not part of the application
                found[path.relative_to(root).as_posix()] = path
    return found


def _folder_entries(root: Path) -> Iterator[tuple[str, str]]:
    files = _folder_files(root)
    present = set(files)
    for relative, path in files.items():
        if not _left_out(relative, present):
            yield relative, _hash_stream(_file_chunks(path))


def _wheel_entries(path: Path) -> Iterator[tuple[str, str]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ApplicationError(f"{path} is not a readable wheel: {exc}") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        present = {m.filename for m in members}
        if len(present) != len(members):
            raise ApplicationError(f"{path} lists a member twice")
        for member in members:
            if _left_out(member.filename, present):
                continue
            with archive.open(member) as handle:
                yield member.filename, _hash_stream(_chunks(handle))


def entries(application: Path) -> tuple[str, list[tuple[str, str]]]:
    """The kind of `application` and its (path, SHA-256) entries, sorted."""
    if application.is_dir():
        kind, found = "folder", list(_folder_entries(application))
    elif application.is_file():
        if application.suffix.lower() == ".whl":
            kind, found = "wheel", list(_wheel_entries(application))
        else:
            kind, found = "file", [(application.name, _hash_stream(_file_chunks(application)))]
    else:
        raise ApplicationError(f"{application} is neither a file nor a folder")
    if not found:
        raise ApplicationError(f"{application} holds no file to sign")
    for name, _ in found:
        if "\n" in name or "\r" in name:
            raise ApplicationError(f"a file name in {application} holds a line break")
    found.sort(key=lambda entry: entry[0].encode("utf-8", "surrogateescape"))
    return kind, found


def application_fingerprint(application: str | os.PathLike[str]) -> Fingerprint:
    """The fingerprint of a file, folder or wheel (see the module's description)."""
    path = Path(application)
    try:
        kind, found = entries(path)
    except OSError as exc:
        raise ApplicationError(f"{path} cannot be read: {exc}") from None
    manifest = "".join(f"{digest}  {name}\n" for name, digest in found)
    value = hashlib.sha256(manifest.encode("utf-8", "surrogateescape")).hexdigest()
    return Fingerprint(value=value, kind=kind, files=len(found))


def certificate_path(application: str | os.PathLike[str]) -> Path:
    """Where the certificate of `application` lies: beside it, named after it
    (`app.py` -> `app.py.license-certificate`, `mylib/` -> `mylib.license-certificate`)."""
    path = Path(application)
    path = path.resolve() if path.name in ("", ".", "..") else path
    return path.with_name(path.name + CERTIFICATE_SUFFIX)
