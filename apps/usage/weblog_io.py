"""The Web API log in and out: the vendor's filtered view of it, its CSV export rows, and the
streaming CSV import (Cryptolens' export format, also used to move logs between installs).

The CSV columns are Cryptolens': `Id,ProductId,Key,IP,Time,State,MachineCode,FriendlyName,
FloatingExpires,Method,Country`, times in Unix seconds. Country is an ISO 3166 alpha-2 code,
filled from the GeoIP database when one is configured (GEOIP_DATABASE), else empty.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import operator
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import BigIntegerField, Min, Q
from django.db.models.functions import Coalesce, Mod

from apps.accounts.models import Vendor
from apps.core.csvexport import safe_cell
from apps.usage.models import WebApiLog
from apps.usage.partitions import weblog_partitions_for
from apps.usage.sessions import floating_sessions_rewind

COLUMNS = ["Id", "ProductId", "Key", "IP", "Time", "State", "MachineCode", "FriendlyName",
           "FloatingExpires", "Method", "Country"]
REQUIRED_COLUMNS = ("id", "state", "time")
IMPORT_METHOD = "import"
COPY_FIELDS = ("source_id", "vendor_id", "time", "product_id", "key", "ip", "state", "machine_code",
               "friendly_name", "floating_expires", "method", "user_agent", "country")
TIME = COPY_FIELDS.index("time")
BATCH_SIZE = 5000
MAX_BIGINT = 2**63 - 1
MAX_STATE = 32767  # a smallint on PostgreSQL

FLOATING_STATES = (2014, 2015, 2024, 6011)
# State groups of the log browser. The third digit of a state is 1 for success, 2 for failure.
STATE_GROUPS: dict[str, tuple[str, Q]] = {
    "success": ("Success", Q(state_detail__gte=10, state_detail__lt=20)),
    "failure": ("Failure", Q(state_detail__gte=20, state_detail__lt=30)),
    "activation": ("Activation (20xx)", Q(state__gte=2000, state__lt=2100)),
    "deactivation": ("Deactivation (60xx)", Q(state__gte=6000, state__lt=6100)),
    "floating": ("Floating (2014, 2015, 2024, 6011)", Q(state__in=FLOATING_STATES)),
    "validation": ("Validation (10xx)", Q(state__gte=1000, state__lt=1100)),
    "key_creation": ("Key creation (30xx)", Q(state__gte=3000, state__lt=3100)),
}


# --- Reading: the browser's filters and the export rows. ---


def webapi_log_search(*, vendor: Vendor, product_id: int | None = None, key: str = "",
                      machine_code: str = "", friendly_name: str = "", state_group: str = "",
                      ip: str = "", country: str = "", since: dt.datetime | None = None,
                      until: dt.datetime | None = None):
    """The vendor's log rows matching every given filter, newest first (`until` exclusive)."""
    rows = WebApiLog.objects.for_vendor(vendor)
    exact = {"product_id": product_id, "key": key, "machine_code": machine_code, "ip": ip,
             "country": country}
    rows = rows.filter(**{name: value for name, value in exact.items()
                          if value not in (None, "")})
    if friendly_name:
        rows = rows.filter(friendly_name__icontains=friendly_name)
    if since is not None:
        rows = rows.filter(time__gte=since)
    if until is not None:
        rows = rows.filter(time__lt=until)
    if state_group in STATE_GROUPS:
        rows = rows.annotate(state_detail=Mod("state", 100)).filter(STATE_GROUPS[state_group][1])
    return rows.order_by("-id")


def _unix(value: dt.datetime | None) -> int | str:
    return int(value.timestamp()) if value is not None else ""


def export_rows(rows) -> Iterator[list[Any]]:
    """CSV rows (header first) of a log queryset, read in chunks so memory stays flat."""
    yield COLUMNS
    # A row imported from another log keeps showing the Id it had there.
    rows = rows.annotate(export_id=Coalesce("source_id", "id",
                                            output_field=BigIntegerField()))
    fields = ("export_id", "product_id", "key", "ip", "time", "state", "machine_code",
              "friendly_name", "floating_expires", "method", "country")
    for (pk, product_id, key, ip, time, state, machine_code, friendly_name, floating_expires,
         method, country) in rows.values_list(*fields).iterator(chunk_size=2000):
        yield [pk, "" if product_id is None else product_id, safe_cell(key), ip or "",
               _unix(time), state, safe_cell(machine_code), safe_cell(friendly_name),
               _unix(floating_expires), safe_cell(method), country]


def source_ids(*, vendor: Vendor, ids: Iterable[int], chunk: int = 20_000) -> dict[int, int]:
    """{row id: source Id} for those of the vendor's rows that came from an imported file."""
    wanted = sorted(set(ids))
    found: dict[int, int] = {}
    for start in range(0, len(wanted), chunk):
        found.update(WebApiLog.objects.filter(
            vendor=vendor, id__in=wanted[start:start + chunk], source_id__isnull=False)
            .values_list("id", "source_id"))
    return found


# --- Writing: the streaming import. ---


class RowError(ValueError):
    pass


@dataclass
class ImportResult:
    read: int = 0
    inserted: int = 0
    skipped: int = 0  # the Id was imported before (this file's earlier rows included)
    lowest_id: int | None = None  # of the rows stored: derived report tables re-read from it
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def _unquote(value: str) -> str:
    """Undo the export's spreadsheet-formula guard (a quote before = + - @)."""
    if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@", "\t", "\r"):
        return value[1:]
    return value


def _int(value: str, name: str, *, low: int = 0, high: int = MAX_BIGINT) -> int | None:
    if value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise RowError(f"{name} is not a whole number: {value!r}") from None
    if not low <= number <= high:
        raise RowError(f"{name} is out of range: {value}")
    return number


def _time(value: str, name: str) -> dt.datetime | None:
    if value == "":
        return None
    try:
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise RowError(f"{name} is not a Unix time: {value!r}") from None


def _text(value: str, name: str, max_length: int) -> str:
    value = _unquote(value)
    if len(value) > max_length:
        raise RowError(f"{name} is longer than {max_length} characters")
    return value


@functools.lru_cache(maxsize=65536)
def _valid_ip(value: str) -> bool:
    """Cached: a log repeats its callers' addresses, and parsing one is a third of a row's
    import cost."""
    try:
        validate_ipv46_address(value)
    except ValidationError:
        return False
    return True


def _ip(value: str) -> str | None:
    if value == "":
        return None
    if not _valid_ip(value):
        raise RowError(f"IP is not an IP address: {value!r}")
    return value


def _country(value: str) -> str:
    value = value.upper()
    if value and not (len(value) == 2 and value.isascii() and value.isalpha()):
        raise RowError(f"Country is not a two-letter ISO 3166 code: {value!r}")
    return value


def parse_row(vendor: Vendor, cells: dict[str, str]) -> tuple:
    """One CSV row (lower-cased column names) as the values of COPY_FIELDS, or RowError.
    A tuple, not a model instance: building millions of instances costs more than the
    INSERTs."""
    pk, state, time = (_int(cells.get("id", ""), "Id", low=1),
                       _int(cells.get("state", ""), "State", high=MAX_STATE),
                       _time(cells.get("time", ""), "Time"))
    for value, name in ((pk, "Id"), (state, "State"), (time, "Time")):
        if value is None:
            raise RowError(f"{name} is empty")
    return (pk, vendor.pk, time,
            _int(cells.get("productid", ""), "ProductId", low=-MAX_BIGINT - 1),
            _text(cells.get("key", ""), "Key", 64), _ip(cells.get("ip", "")), state,
            _text(cells.get("machinecode", ""), "MachineCode", 128),
            _text(cells.get("friendlyname", ""), "FriendlyName", 255),
            _time(cells.get("floatingexpires", ""), "FloatingExpires"),
            _text(cells.get("method", ""), "Method", 64) or IMPORT_METHOD, "",
            _country(cells.get("country", "")))


_PARSED = ("id", "productid", "key", "ip", "time", "state", "machinecode", "friendlyname",
           "floatingexpires", "method", "country")
_QUOTE = "'"


def _row_parser(vendor: Vendor, names: list[str]) -> Callable[[list[str]], tuple]:
    """parse_row for one file's columns, about twice as fast: the cells are picked by
    position, and a row is checked inline. Any doubt (an empty or malformed value, a quoted
    text, a long one) goes to parse_row, which decides and words the error: the two accept
    the same rows and give the same values."""
    width = len(names)
    position = {name: index for index, name in enumerate(names)}  # the last one wins
    pick = operator.itemgetter(*(position.get(name, width) for name in _PARSED))
    pad = [""] * (width + 1)  # a short row's missing cells, and the absent columns', are ""
    vendor_id = vendor.pk
    epoch = dt.datetime.fromtimestamp(0, tz=dt.UTC)
    second = dt.timedelta(seconds=1)
    valid_ip = _valid_ip

    def slow(cells: list[str]) -> tuple:
        return parse_row(vendor, dict(zip(names, (c.strip() for c in cells), strict=False)))

    def parse(cells: list[str]) -> tuple:
        if len(cells) > width:
            raise RowError(f"{len(cells)} cells for {width} columns")
        (pk, product, key, ip, time, state, machine, friendly, expires, method,
         country) = map(str.strip, pick(cells + pad))
        try:
            pk_value, state_value = int(pk), int(state)
            # Whole seconds: exact as a timedelta; anything else as parse_row does it.
            when = epoch + int(time) * second if time.isdigit() else None
            expiry = (None if expires == "" else
                      epoch + int(expires) * second if expires.isdigit() else 0)
            product_value = None if product == "" else int(product)
        except (ValueError, OverflowError):
            return slow(cells)
        if (when is None or expiry == 0 or not 1 <= pk_value <= MAX_BIGINT
                or not 0 <= state_value <= MAX_STATE
                or not (product_value is None or -MAX_BIGINT - 1 <= product_value <= MAX_BIGINT)
                or len(key) > 64 or len(machine) > 128 or len(friendly) > 255
                or len(method) > 64 or _QUOTE in (key[:1], machine[:1], friendly[:1], method[:1])
                or (ip and not valid_ip(ip))
                or (country and not (len(country) == 2 and country.isascii()
                                     and country.isalpha()))):
            return slow(cells)
        return (pk_value, vendor_id, when, product_value, key, ip or None, state_value,
                machine, friendly, expiry, method or IMPORT_METHOD, "", country.upper())

    return parse


def _save_batch(batch: list[tuple], result: ImportResult) -> None:
    vendor_id = batch[0][1]
    # A row is identified by its source Id and time, as the unique constraint says.
    present = set(WebApiLog.objects.filter(vendor_id=vendor_id,
                                           source_id__in=[row[0] for row in batch])
                  .values_list("source_id", "time"))
    fresh: dict[tuple[int, dt.datetime], WebApiLog] = {}
    for row in batch:
        identity = (row[0], row[TIME])
        if identity not in present and identity not in fresh:
            fresh[identity] = WebApiLog(**dict(zip(COPY_FIELDS, row, strict=True)))
    with transaction.atomic():
        # ignore_conflicts: a row written meanwhile by a concurrent import is skipped, not fatal.
        WebApiLog.objects.bulk_create(fresh.values(), ignore_conflicts=True)
    stored = WebApiLog.objects.filter(vendor_id=vendor_id, source_id__in=[pk for pk, _ in fresh])
    _note_lowest(result, stored.aggregate(low=Min("id"))["low"])
    result.inserted += len(fresh)
    result.skipped += len(batch) - len(fresh)


def _note_lowest(result: ImportResult, low: int | None) -> None:
    if low is not None and (result.lowest_id is None or low < result.lowest_id):
        result.lowest_id = low


def _save_batch_postgresql(batch: list[tuple], result: ImportResult) -> None:
    """Store a batch by COPY, several times faster than a multi-row INSERT built by the ORM,
    which matters for millions of rows. A row is skipped when the vendor has one with its
    source Id and time already (the unique constraint): each vendor's imported rows are its
    own. A batch none of whose rows can be present (a fresh import: no stored row in its
    range of Ids and times, no repeat within it) is copied straight into the log; any other
    goes through a scratch table and INSERT ... ON CONFLICT DO NOTHING, which costs the
    database about a third more per row."""
    # Before the insert's transaction: creating a partition takes locks that must not wait
    # for the batch's commit.
    weblog_partitions_for(_months(batch))
    with transaction.atomic(), connection.cursor() as cursor:
        stored = None
        bounds = _bounds(batch)
        if _unseen(cursor, batch, bounds):
            try:
                with transaction.atomic():  # a savepoint: the fallback runs in this transaction
                    stored = _copy_into_log(cursor, batch, bounds)
            except IntegrityError:  # a concurrent import stored some of these rows meanwhile
                pass
        inserted, low = stored or _insert_new(cursor, batch)
    _note_lowest(result, low)
    result.inserted += inserted
    result.skipped += len(batch) - inserted


_TABLE = WebApiLog._meta.db_table
_COLUMNS = ", ".join(COPY_FIELDS)
# The rows a batch could collide with, by the unique index (vendor, source Id, time).
_RANGE = (f"FROM {_TABLE} WHERE vendor_id = %s AND source_id BETWEEN %s AND %s "
          "AND time BETWEEN %s AND %s")


def _months(batch: list[tuple]) -> list[dt.datetime]:
    """A moment in each month the batch's rows fall in (mostly one: a log is in time order)."""
    times = [row[TIME] for row in batch]
    low, high = min(times), max(times)
    if (low.year, low.month) == (high.year, high.month):
        return [low]
    return [dt.datetime(year, month, 1, tzinfo=dt.UTC)
            for year, month in {(moment.year, moment.month) for moment in times}]


def _bounds(batch: list[tuple]) -> list[Any]:
    ids, times = [row[0] for row in batch], [row[TIME] for row in batch]
    return [batch[0][1], min(ids), max(ids), min(times), max(times)]


def _unseen(cursor, batch: list[tuple], bounds: list[Any]) -> bool:
    if len({(row[0], row[TIME]) for row in batch}) < len(batch):
        return False
    cursor.execute(f"SELECT EXISTS (SELECT 1 {_RANGE})", bounds)
    return not cursor.fetchone()[0]


def _copy(cursor, table: str, batch: list[tuple]) -> None:
    """COPY the batch's rows into `table`'s COPY_FIELDS columns."""
    # Django's error classes (IntegrityError) for the driver's: COPY goes to the driver itself.
    with connection.wrap_database_errors, \
            cursor.cursor.copy(f"COPY {table} ({_COLUMNS}) FROM STDIN") as copy:
        for row in batch:
            copy.write_row(row)


def _copy_into_log(cursor, batch: list[tuple], bounds: list[Any]) -> tuple[int, int | None]:
    _copy(cursor, _TABLE, batch)
    # The range held none of the vendor's rows before: its lowest id is this batch's.
    cursor.execute(f"SELECT MIN(id) {_RANGE}", bounds)
    return len(batch), cursor.fetchone()[0]


def _insert_new(cursor, batch: list[tuple]) -> tuple[int, int | None]:
    # Only the copied columns: the table's own id comes from its sequence on INSERT.
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS weblog_import AS "  # noqa: S608
                   f"SELECT {_COLUMNS} FROM {_TABLE} WITH NO DATA")
    cursor.execute("TRUNCATE weblog_import")
    _copy(cursor, "weblog_import", batch)
    # Only names from the model go into this SQL; the values went by COPY.
    insert = f"INSERT INTO {_TABLE} ({_COLUMNS}) SELECT {_COLUMNS} FROM weblog_import"  # noqa: S608
    cursor.execute(f"WITH stored AS ({insert} ON CONFLICT (vendor_id, source_id, time) "  # noqa: S608
                   "WHERE source_id IS NOT NULL DO NOTHING RETURNING id) "
                   "SELECT COUNT(*), MIN(id) FROM stored")
    inserted, low = cursor.fetchone()
    return inserted, low


def _records(reader, result: ImportResult) -> Iterator[list[str]]:
    """The reader's records; one the csv module cannot parse (a NUL byte, say) is rejected."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            result.read += 1
            result.rejected.append((reader.line_num, f"unreadable CSV: {error}"))


def webapi_log_import(*, vendor: Vendor, lines: Iterable[str],
                      batch_size: int = BATCH_SIZE) -> ImportResult:
    """Load a log CSV into `vendor`'s log in batches, each row's Id kept as its source Id.

    Idempotent per vendor, Id and time: rows this vendor imported before are skipped;
    another vendor's rows, and the vendor's own calls, never collide with them. Malformed rows are
    rejected with their line number and never stop the import. Product and key are stored as
    given; they need not exist (a log also records calls with mistyped or guessed keys)."""
    reader = csv.reader(lines)
    header = next(reader, None)
    names = [name.strip().lower() for name in header or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise RowError(f"the header lacks the column(s) {', '.join(missing)}")
    save = _save_batch_postgresql if connection.vendor == "postgresql" else _save_batch
    result = ImportResult()
    with _batch_writer(save, result) as put:
        _read_batches(reader, names, vendor, result, batch_size, put)
    if result.inserted and result.lowest_id is not None:
        # The new rows' ids come from the table's sequence, above what the floating sessions
        # have read; should one be below (a concurrent writer), it is read again too.
        floating_sessions_rewind(vendor=vendor, before_id=result.lowest_id)
    return result


def _read_batches(reader, names: list[str], vendor: Vendor, result: ImportResult,
                  batch_size: int, put: Callable[[list[tuple]], None]) -> None:
    batch: list[tuple] = []
    parse = _row_parser(vendor, names)
    for cells in _records(reader, result):
        if not "".join(cells).strip():  # a blank line, or one of blank cells
            continue
        result.read += 1
        try:
            batch.append(parse(cells))
        except RowError as error:
            result.rejected.append((reader.line_num, str(error)))
        if len(batch) >= batch_size:
            put(batch)
            batch = []
    if batch:
        put(batch)


@contextmanager
def _batch_writer(save: Callable[[list[tuple], ImportResult], None],
                  result: ImportResult) -> Iterator[Callable[[list[tuple]], None]]:
    """Where parsed batches go. On PostgreSQL in autocommit (the command, a bulk load) a
    writer thread with its own connection stores each batch while this thread parses the
    next one: parsing is Python's work, storing mostly the database's, so on two cores the
    import takes about the longer of the two instead of their sum. Each batch is still its
    own transaction, stored in file order. Inside a transaction (a test, a caller's atomic
    block) batches are stored in place: another connection would not see that transaction."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield lambda batch: save(batch, result)
        return
    batches: queue.Queue[list[tuple] | None] = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def write() -> None:
        try:
            while (batch := batches.get()) is not None:
                if not failure:
                    save(batch, result)
        except BaseException as error:
            failure.append(error)
            while batches.get() is not None:  # drain, so the reader never blocks
                pass
        finally:
            connections.close_all()  # this thread's own connection

    def put(batch: list[tuple]) -> None:
        if failure:
            raise failure[0]
        batches.put(batch)

    writer = threading.Thread(target=write, name="weblog-import-writer", daemon=True)
    writer.start()
    try:
        yield put
    finally:
        batches.put(None)
        writer.join()
    if failure:
        raise failure[0]
