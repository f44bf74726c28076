"""Web API log CSV: export rows, and the streaming, idempotent import command."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError

from apps.accounts.models import Role
from apps.usage import weblog_io
from apps.usage.models import WebApiLog
from apps.usage.weblog_io import COLUMNS, export_rows, webapi_log_import

from ..factories import UserFactory, add_member, make_vendor

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
HEADER = ",".join(COLUMNS)


@pytest.fixture
def vendor(db):
    return make_vendor("Importer", owner=UserFactory(email="owner@importer.example"))


def _log(vendor, **fields) -> WebApiLog:
    values = {"time": T0, "state": 2011, "method": "Activate", **fields}
    return WebApiLog.objects.create(vendor=vendor, **values)


def _fields(entry: WebApiLog) -> tuple:
    return (entry.source_id or entry.pk, entry.vendor_id, entry.time, entry.product_id,
            entry.key, entry.ip, entry.state, entry.machine_code, entry.friendly_name,
            entry.floating_expires, entry.method, entry.country)


def _write(tmp_path, lines: list[str]) -> str:
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _import(path: str, email: str = "owner@importer.example") -> str:
    out = io.StringIO()
    call_command("import_webapi_log", path, "--vendor", email, stdout=out)
    return out.getvalue()


def test_export_has_exactly_the_cryptolens_columns_and_unix_times(vendor):
    entry = _log(vendor, product_id=7, key="ABCDE-FGHIJ", ip="192.0.2.9", machine_code="m1",
                 friendly_name="=HYPERLINK(1)", floating_expires=T0 + dt.timedelta(minutes=5))
    bare = _log(vendor, state=1020, method="GetKey")

    rows = list(export_rows(WebApiLog.objects.for_vendor(vendor).order_by("id")))

    assert rows[0] == ["Id", "ProductId", "Key", "IP", "Time", "State", "MachineCode",
                       "FriendlyName", "FloatingExpires", "Method", "Country"]
    assert rows[1] == [entry.pk, 7, "ABCDE-FGHIJ", "192.0.2.9", 1709294400, 2011, "m1",
                       "'=HYPERLINK(1)", 1709294700, "Activate", ""]
    assert rows[2] == [bare.pk, "", "", "", 1709294400, 1020, "", "", "", "GetKey", ""]


def test_export_then_import_round_trips_rows_and_ids(vendor, tmp_path):
    _log(vendor, product_id=7, key="ABCDE", ip="2001:db8::1", machine_code="m1",
         friendly_name="-dash name", floating_expires=T0 + dt.timedelta(seconds=90),
         country="SE")
    _log(vendor, state=6011, key="UNKNOWN-KEY", method="FloatingDeactivate")
    _log(vendor, state=1020, method="GetKey")
    before = sorted(_fields(e) for e in WebApiLog.objects.all())
    buffer = io.StringIO()
    csv.writer(buffer).writerows(export_rows(WebApiLog.objects.for_vendor(vendor)))
    WebApiLog.objects.all().delete()
    path = tmp_path / "export.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")

    output = _import(str(path))

    assert sorted(_fields(e) for e in WebApiLog.objects.all()) == before
    assert "Read 3 rows into Importer: 3 inserted, 0 skipped as already present, 0 rejected" \
        in output


def test_reimport_is_idempotent_per_id(vendor, tmp_path):
    path = _write(tmp_path, [HEADER, "501,1,K1,,1709294400,1010,,,,GetKey,",
                             "502,1,K1,,1709294401,1020,,,,GetKey,"])
    _import(path)

    output = _import(path)

    assert sorted(WebApiLog.objects.values_list("source_id", flat=True)) == [501, 502]
    assert "0 inserted, 2 skipped as already present" in output


def test_malformed_rows_are_reported_with_line_numbers_and_skipped(vendor, tmp_path):
    path = _write(tmp_path, [
        HEADER,
        "601,1,K1,,1709294400,1010,,,,GetKey,",
        "notanid,1,K1,,1709294400,1010,,,,GetKey,",
        "603,1,K1,,yesterday,1010,,,,GetKey,",
        "604,1,K1,999.1.1.1,1709294400,1010,,,,GetKey,",
        "605,1,K1,,1709294400,,,,,GetKey,",
        "606,1," + "K" * 65 + ",,1709294400,1010,,,,GetKey,",
        "607,1,K1,,1709294400,1010,,,,GetKey,,extra",
        "608,1,K1,,1709294400,1010,,,,GetKey,se",
        "609,1,K1,,1709294400,1010,,,,GetKey,Sweden",
    ])

    output = _import(path)

    assert sorted(WebApiLog.objects.values_list("source_id", flat=True)) == [601, 608]
    assert WebApiLog.objects.get(source_id=608).country == "SE"
    assert "Read 9 rows" in output and "2 inserted" in output and "7 rejected" in output
    for line in (3, 4, 5, 6, 7, 8, 10):
        assert f"line {line}:" in output
    assert "line 2:" not in output and "line 9:" not in output
    assert "Country is not a two-letter ISO 3166 code" in output


def test_unknown_product_and_key_are_stored_as_given_with_empty_cells(vendor, tmp_path):
    path = _write(tmp_path, ["id,productid,KEY,time,state",  # any case, fewer columns
                             "701,424242,NO-SUCH-KEY,1709294400,2020", "702,,,1709294400,1020"])

    _import(path)

    unknown, empty = WebApiLog.objects.order_by("pk")
    assert (unknown.vendor, unknown.product_id, unknown.key, unknown.time) == \
        (vendor, 424242, "NO-SUCH-KEY", T0)
    assert (empty.product_id, empty.key, empty.ip, empty.floating_expires, empty.method) == \
        (None, "", None, None, "import")


def test_header_without_required_columns_is_refused(vendor, tmp_path):
    with pytest.raises(CommandError, match="id"):
        _import(_write(tmp_path, ["ProductId,Key,Time,State", "1,K,1709294400,1010"]))
    assert not WebApiLog.objects.exists()


def test_vendor_must_be_owned_by_the_email_exactly_once(vendor, tmp_path):
    path = _write(tmp_path, [HEADER])
    member = add_member(vendor, Role.ADMIN).user
    with pytest.raises(CommandError, match="owns no vendor"):
        _import(path, member.email)
    make_vendor("Second", owner=vendor.memberships.get(role=Role.OWNER).user)
    with pytest.raises(CommandError, match="several vendors"):
        _import(path)


def test_small_batches_insert_every_row_and_new_calls_get_fresh_ids(vendor):
    lines = [HEADER] + [f"{900 + n},,,,1709294400,1010,,,,," for n in range(7)]

    result = webapi_log_import(vendor=vendor, lines=lines, batch_size=3)

    assert (result.read, result.inserted, result.skipped) == (7, 7, 0)
    assert sorted(WebApiLog.objects.values_list("source_id", flat=True)) == list(range(900, 907))
    assert _log(vendor).source_id is None  # the vendor's own calls have no source Id


def test_overlapping_ids_of_two_vendors_and_of_own_calls_are_all_stored(vendor, tmp_path):
    """Ids in a file are the source log's: they collide with nobody's rows."""
    other = make_vendor("Second importer", owner=UserFactory(email="owner@second.example"))
    own = [_log(vendor, key=f"OWN-{n}") for n in range(3)]
    taken = [entry.pk for entry in own]
    lines = [HEADER] + [f"{pk},1,FILE-{pk},,1709294400,1010,,,,GetKey," for pk in
                        [*taken, taken[-1] + 1, taken[-1] + 2]]
    path = _write(tmp_path, lines)

    first = _import(path)
    second = _import(path, "owner@second.example")
    again = _import(path)

    for target in (vendor, other):
        imported = WebApiLog.objects.filter(vendor=target, source_id__isnull=False)
        assert sorted(imported.values_list("source_id", flat=True)) == \
            [*taken, taken[-1] + 1, taken[-1] + 2]
    assert WebApiLog.objects.filter(vendor=vendor).count() == 3 + 5
    assert "5 inserted, 0 skipped" in first and "5 inserted, 0 skipped" in second
    assert "0 inserted, 5 skipped as already present" in again
    exported = list(export_rows(WebApiLog.objects.filter(vendor=other).order_by("id")))
    assert [row[0] for row in exported[1:]] == [*taken, taken[-1] + 1, taken[-1] + 2]


@pytest.mark.django_db(transaction=True)
def test_an_import_outside_a_transaction_stores_every_batch_in_file_order():
    """The command's case: on PostgreSQL a writer thread stores batches while the next ones
    are read. Every row arrives, in the file's order, and the writer's connection is closed."""
    vendor = make_vendor("Bulk", owner=UserFactory(email="owner@bulk.example"))
    lines = [HEADER] + [f"{n},1,K-{n},,{1709294400 + n},1010,,,,GetKey," for n in range(1, 51)]

    result = webapi_log_import(vendor=vendor, lines=lines, batch_size=7)

    assert (result.read, result.inserted, result.skipped) == (50, 50, 0)
    stored = list(WebApiLog.objects.filter(vendor=vendor).order_by("pk")
                  .values_list("source_id", flat=True))
    assert stored == list(range(1, 51))
    assert [t.name for t in threading.enumerate() if t.name == "weblog-import-writer"] == []


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fails_stops_the_import_with_its_error_and_keeps_the_earlier_ones(
        monkeypatch):
    vendor = make_vendor("Failing", owner=UserFactory(email="owner@failing.example"))
    stored_batches: list[int] = []

    def save_twice_then_fail(real):
        def save(batch, result):
            if len(stored_batches) == 2:
                raise DatabaseError("could not extend file: No space left on device")
            stored_batches.append(len(batch))
            real(batch, result)
        return save

    for name in ("_save_batch", "_save_batch_postgresql"):
        monkeypatch.setattr(weblog_io, name, save_twice_then_fail(getattr(weblog_io, name)))
    lines = [HEADER] + [f"{n},1,K-{n},,{1709294400 + n},1010,,,,GetKey," for n in range(1, 41)]

    with pytest.raises(DatabaseError, match="No space left"):
        webapi_log_import(vendor=vendor, lines=lines, batch_size=5)

    assert sorted(WebApiLog.objects.filter(vendor=vendor)
                  .values_list("source_id", flat=True)) == list(range(1, 11))


TRICKY_CELLS = [
    ["1", "2", "K", "192.0.2.1", "1709294400", "2014", "m", "h", "1709295000", "Activate", "se"],
    [" 2 ", "", "'=K", "", "1709294400.5", "1010", "'+m", "'-h", "", "", " SE "],
    ["3", "-4", "K", "2001:db8::1", "١٧٠٩٢٩٤٤٠٠", "32767", "", "", "1.5", "", ""],
    ["4", "1", "K", "", "-60", "1010", "", "", "99999999999999", "GetKey", ""],
    ["5", "1", "K", "", "1e9", "1010", "", "", "", "", "ıs"],
    ["6", "1", "K" * 65, "", "1709294400", "1010", "", "", "", "", ""],
    ["0", "1", "K", "", "1709294400", "1010", "", "", "", "", ""],
    ["7", "x", "K", "", "1709294400", "1010", "", "", "", "", ""],
    ["8", "1", "K", "", "1709294400", "32768", "", "", "", "", ""],
    ["9", "1", "K", "", "1709294400", "1010", "", "", "", "", "Sweden"],
    ["10", "1", "K", "", "1709294400"],
    ["11", "1", "K", "", "1709294400", "1010", "", "", "", "", "", "extra"],
]


@pytest.mark.parametrize("cells", TRICKY_CELLS)
def test_the_fast_row_parser_accepts_and_refuses_exactly_as_parse_row(vendor, cells):
    names = [name.lower() for name in COLUMNS]

    def outcome(parse):
        try:
            return parse()
        except weblog_io.RowError as error:
            return str(error)

    def reference():
        if len(cells) > len(names):
            raise weblog_io.RowError(f"{len(cells)} cells for {len(names)} columns")
        return weblog_io.parse_row(vendor, dict(zip(names, (c.strip() for c in cells),
                                                    strict=False)))

    assert outcome(lambda: weblog_io._row_parser(vendor, names)(cells)) == outcome(reference)


def test_a_file_partly_imported_before_and_repeating_a_row_counts_each_row_once(vendor):
    lines = [HEADER] + [f"{n},1,K-{n},,{1709294400 + n},1010,,,,GetKey," for n in range(1, 11)]
    first = webapi_log_import(vendor=vendor, lines=lines[:6])

    second = webapi_log_import(vendor=vendor, lines=[*lines, lines[7]])

    assert (first.inserted, second.read, second.inserted, second.skipped) == (5, 11, 5, 6)
    new = WebApiLog.objects.filter(vendor=vendor, source_id__gt=5)
    assert second.lowest_id == min(new.values_list("pk", flat=True))
    assert WebApiLog.objects.filter(vendor=vendor).count() == 10


def test_a_batch_copied_while_another_import_stores_its_rows_falls_back_to_skipping_them(
        vendor, monkeypatch):
    """The check that a batch's rows are all new, then its COPY, are two statements: rows
    stored in between by a concurrent import make the COPY fail, and the batch is stored
    again skipping them."""
    from django.db import connection
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    lines = [HEADER] + [f"{n},1,K-{n},,{1709294400 + n},1010,,,,GetKey," for n in range(1, 9)]
    webapi_log_import(vendor=vendor, lines=lines[:4])
    monkeypatch.setattr(weblog_io, "_unseen", lambda cursor, batch, bounds: True)

    result = webapi_log_import(vendor=vendor, lines=lines)

    assert (result.inserted, result.skipped) == (5, 3)
    assert sorted(WebApiLog.objects.filter(vendor=vendor)
                  .values_list("source_id", flat=True)) == list(range(1, 9))
