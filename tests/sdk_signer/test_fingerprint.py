"""The application fingerprint (sdk_signer.fingerprint): what changes it and what does not."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from sdk_signer import ApplicationError, application_fingerprint, certificate_path


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("x = 1\n")
    (root / "pkg" / "sub" / "mod.py").write_text("def f():\n    return 2\n")
    (root / "README.txt").write_text("hello\n")
    (root / "data.bin").write_bytes(bytes(range(256)))
    return root


def test_a_folder_fingerprint_is_stable_and_counts_its_files(app):
    first = application_fingerprint(app)
    assert first == application_fingerprint(app)
    assert (first.kind, first.files, len(first.value)) == ("folder", 4, 64)
    assert first.value == first.value.lower()


def test_changing_one_byte_changes_the_fingerprint(app):
    before = application_fingerprint(app).value
    data = bytearray((app / "data.bin").read_bytes())
    data[100] ^= 1
    (app / "data.bin").write_bytes(bytes(data))
    assert application_fingerprint(app).value != before


@pytest.mark.parametrize("change", ["rename", "add", "remove", "move"])
def test_renaming_adding_removing_or_moving_a_file_changes_the_fingerprint(app, change):
    before = application_fingerprint(app).value
    if change == "rename":
        (app / "README.txt").rename(app / "README.md")
    elif change == "add":
        (app / "extra.py").write_text("")
    elif change == "remove":
        (app / "README.txt").unlink()
    else:
        (app / "pkg" / "sub" / "mod.py").rename(app / "pkg" / "mod.py")
    assert application_fingerprint(app).value != before


def test_bytecode_cached_for_signed_sources_and_certificates_are_left_out(app):
    before = application_fingerprint(app).value
    (app / "pkg" / "__pycache__").mkdir()
    (app / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\x00compiled")
    (app / "pkg" / "sub" / "__pycache__").mkdir()
    (app / "pkg" / "sub" / "__pycache__" / "mod.cpython-311.opt-1.pyc").write_bytes(b"\x00")
    (app / "inner.license-certificate").write_text("{}")
    assert application_fingerprint(app).value == before


@pytest.mark.parametrize("unsigned", [
    "pkg/other.pyc",  # sourceless bytecode: `python -m pkg.other` runs it
    "pkg/__pycache__/b.py",  # a module inside __pycache__: `python -m pkg.__pycache__.b`
    "pkg/__pycache__/gone.cpython-311.pyc",  # bytecode of no source the application has
    "pkg/__pycache__/notes.txt",
])
def test_code_python_would_run_counts_even_where_caches_live(app, unsigned):
    before = application_fingerprint(app).value
    target = app / unsigned
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"print('not signed')\n")
    assert application_fingerprint(app).value != before


def test_the_folder_does_not_depend_on_its_own_name_or_place(app, tmp_path):
    copy = tmp_path / "elsewhere" / "renamed"
    shutil.copytree(app, copy)
    assert application_fingerprint(copy).value == application_fingerprint(app).value


def test_gnu_tools_reproduce_the_documented_algorithm(app):
    """The recipe in the module's description (and docs/sdk-licensing.md) gives the value."""
    recipe = ("find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum "
              "| sha256sum")
    out = subprocess.run(["bash", "-c", recipe], cwd=app, capture_output=True, text=True,
                         check=True).stdout
    assert out.split()[0] == application_fingerprint(app).value


def test_a_wheel_has_the_fingerprint_of_the_folder_it_unpacks_to(app, tmp_path):
    wheel = tmp_path / "app-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(app.rglob("*"), reverse=True):  # another order, on purpose
            if path.is_file():
                archive.write(path, path.relative_to(app).as_posix())
    result = application_fingerprint(wheel)
    assert (result.kind, result.files) == ("wheel", 4)
    assert result.value == application_fingerprint(app).value
    # Rebuilt with other compression and timestamps: the same fingerprint.
    again = tmp_path / "again" / wheel.name
    again.parent.mkdir()
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(again, "w") as target:
        for info in source.infolist():
            target.writestr(zipfile.ZipInfo(info.filename, (2001, 1, 1, 0, 0, 0)),
                            source.read(info))
    assert application_fingerprint(again).value == result.value


def test_a_single_file_is_its_own_application(tmp_path):
    script = tmp_path / "tool.py"
    script.write_text("print(1)\n")
    result = application_fingerprint(script)
    assert (result.kind, result.files) == ("file", 1)
    script.write_text("print(2)\n")
    assert application_fingerprint(script).value != result.value


@pytest.mark.parametrize("what", ["missing", "empty folder", "not a zip"])
def test_what_cannot_be_fingerprinted_is_a_clear_error(tmp_path, what):
    if what == "missing":
        target = tmp_path / "nope"
    elif what == "empty folder":
        target = tmp_path / "empty"
        target.mkdir()
    else:
        target = tmp_path / "broken.whl"
        target.write_bytes(b"not a zip")
    with pytest.raises(ApplicationError):
        application_fingerprint(target)


def test_the_certificate_lies_beside_the_application(tmp_path):
    assert certificate_path(tmp_path / "app") == tmp_path / "app.license-certificate"
    assert certificate_path(tmp_path / "a.whl") == tmp_path / "a.whl.license-certificate"
    assert certificate_path(tmp_path / "app" / ".").name.endswith("app.license-certificate")
