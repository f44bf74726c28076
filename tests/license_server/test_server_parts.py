"""The standalone server's parts, without processes or the portal: the cache, durable writes,
the vendor's configuration, license files, the seat table and the journal, the options."""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest
from license_server import configuration, files, license_files, options
from license_server.cache import DAY, AnswerCache
from license_server.configuration import ConfigurationError
from license_server.store import StorageError, Store

from . import keys

ANSWER = b'{"licenseKey":"e30=","signature":"","result":0,"message":""}'


def _store_answer(cache: AnswerCache, *, now: float, body: bytes = ANSWER) -> None:
    cache.store(product_id=7, key="K", machine_code="pc-1", sign_method=1, body=body, now=now)


def _lookup(cache: AnswerCache, now: float | None = None):
    return cache.lookup(product_id=7, key="K", machine_code="pc-1", sign_method=1, now=now)


def test_cached_answer_is_served_within_the_cache_length(tmp_path):
    cache = AnswerCache(tmp_path, max_age_days=2)
    _store_answer(cache, now=time.time() - 1.5 * DAY)

    assert _lookup(cache).body == ANSWER


def test_cached_answer_older_than_the_cache_length_is_not_served(tmp_path):
    cache = AnswerCache(tmp_path, max_age_days=2)
    _store_answer(cache, now=time.time() - 2.1 * DAY)

    assert _lookup(cache) is None
    assert cache.newest_for_key(product_id=7, key="K", sign_method=1) is None


def test_a_damaged_cache_file_is_treated_as_missing(tmp_path):
    cache = AnswerCache(tmp_path, max_age_days=2)
    _store_answer(cache, now=time.time())
    (path,) = (tmp_path / "answers").glob("*/*/*.json")
    path.write_bytes(b'{"stored_at": 1')

    assert _lookup(cache) is None


def test_a_failed_write_leaves_the_previous_answer_intact(tmp_path, monkeypatch):
    cache = AnswerCache(tmp_path, max_age_days=2)
    _store_answer(cache, now=time.time())

    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "replace", disk_full)
    with pytest.raises(OSError):
        _store_answer(cache, now=time.time(), body=b'{"result":0,"message":"new"}')

    assert _lookup(cache).body == ANSWER
    assert [p.name for p in (tmp_path / "answers").rglob("*.tmp")] == []


def test_configuration_signed_by_the_vendor_is_accepted():
    text = keys.configuration_file(floating={(7, "K"): 3}, upload_token="tok")

    parsed = configuration.parse(text, vendor_public_key_xml=keys.xml("vendor"))

    assert parsed.floating_keys == {(7, "K"): 3}
    assert parsed.upload_token == "tok"
    assert parsed.server_public_key_xml == keys.xml("server")


def test_edited_configuration_is_refused():
    text = keys.configuration_file(floating={(7, "K"): 3})
    edited = keys.tamper_configuration(
        text, FloatingKeys=[{"ProductId": 7, "Key": "K", "MaxNoOfMachines": 300}])

    with pytest.raises(ConfigurationError) as refused:
        configuration.parse(edited, vendor_public_key_xml=keys.xml("vendor"))
    assert str(refused.value) == configuration.TAMPERED


def test_configuration_signed_by_another_key_is_refused_when_the_vendor_key_is_pinned():
    text = keys.configuration_file(floating={})

    with pytest.raises(ConfigurationError, match="signature check failed"):
        configuration.parse(text, vendor_public_key_xml=keys.xml("server"))


def test_expired_configuration_says_so():
    parsed = configuration.parse(keys.configuration_file(floating={}, valid_for=-60),
                                 vendor_public_key_xml=keys.xml("vendor"))

    with pytest.raises(ConfigurationError) as refused:
        parsed.check_valid()
    assert str(refused.value) == configuration.EXPIRED


def test_license_files_signed_by_the_vendor_load_and_tampered_ones_are_skipped(tmp_path):
    good = keys.skm(keys.license_obj(key="GOOD"))
    (tmp_path / "good.skm").write_bytes(good)
    (tmp_path / "more-seats.skm").write_bytes(
        keys.tamper_skm(keys.skm(keys.license_obj(key="EDIT")), MaxNoOfMachines=300))
    (tmp_path / "other-signer.skm").write_bytes(keys.skm(keys.license_obj(key="ALIEN"),
                                                         signer="server"))

    loaded, problems = license_files.load([str(tmp_path)], keys.private_key("vendor")
                                          .public_key())

    assert list(loaded) == [(7, "GOOD")]
    assert loaded[(7, "GOOD")].text == good
    assert len(problems) == 2 and all("signature check failed" in p for p in problems)


def test_seats_stop_at_the_limit_expire_and_are_released(tmp_path):
    store = Store(tmp_path / "state.sqlite3")
    take = dict(product_id=7, key="K", friendly_name="", ip="192.0.2.9", interval=100, limit=2)
    now = 1_000_000.0

    assert store.take_seat(machine_code="a", now=now, **take) is not None
    assert store.take_seat(machine_code="b", now=now, **take) is not None
    assert store.take_seat(machine_code="c", now=now, **take) is None
    assert store.take_seat(machine_code="a", now=now + 50, **take).expires == now + 150
    assert store.release_seat(product_id=7, key="K", machine_code="b")
    assert store.take_seat(machine_code="c", now=now + 60, **take) is not None
    assert store.take_seat(machine_code="d", now=now + 155, **take) is not None  # a expired
    assert [s.machine_code for s in store.active_seats(product_id=7, key="K",
                                                       now=now + 155)] == ["c", "d"]


def test_journal_survives_reopening_and_forgets_only_uploaded_records(tmp_path):
    store = Store(tmp_path / "state.sqlite3")
    first = store.record({"Method": "key.activate", "State": 2010})
    store.record({"Method": "key.activate", "State": 2020})
    store.mark_uploaded([first])
    store.close()

    reopened = Store(tmp_path / "state.sqlite3")

    assert [r["State"] for r in reopened.pending(10)] == [2020]
    assert reopened.counts() == {"pending": 1, "total": 2}


def test_a_full_disk_is_a_storage_error_not_a_crash(tmp_path):
    store = Store(tmp_path / "state.sqlite3")
    store._db.execute("PRAGMA max_page_count = 1")  # any further page: "database or disk is full"

    with pytest.raises(StorageError):
        for n in range(200):
            store.record({"Method": "key.activate", "State": 2010, "Padding": "x" * 1000 * n})


def test_flags_beat_environment_variables_which_beat_the_json_file(tmp_path):
    config = tmp_path / "license-server.json"
    config.write_text(json.dumps({"port": 1, "cache_length_days": 5, "offline": True,
                                  "cache_folder": "data", "license_files": ["a", "b"]}))
    environ = {"LICENSE_SERVER_PORT": "2", "LICENSE_SERVER_CACHE_LENGTH_DAYS": "6"}

    loaded, check_only = options.load(["--config", str(config), "--port", "3"], environ)

    assert (loaded.port, loaded.cache_length_days, loaded.offline) == (3, 6.0, True)
    assert loaded.cache_folder == str(tmp_path / "data")
    assert loaded.license_files == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert not check_only


def test_license_files_option_takes_several_paths(tmp_path):
    loaded, _ = options.load(["--license-files", f"x{os.pathsep}y", "--license-files", "z"], {})

    assert loaded.license_files == ["x", "y", "z"]
    assert Path(loaded.cache_folder).name == "license-server-data"


@pytest.mark.parametrize("argv", [
    ["--upstream", "ftp://portal.example"],
    ["--offline", "--config", "/nonexistent/license-server.json"],
    [],
], ids=["bad-scheme", "missing-file", "no-upstream"])
def test_bad_options_end_with_a_clear_message_not_a_traceback(tmp_path, capsys, argv):
    from license_server import cli

    assert cli.main([*argv, "--cache-folder", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("license-server: ")
