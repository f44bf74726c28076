"""Reading a vendor's Web API log for the detector.

Training and scoring read the log with `log_chunks`: the rows of one vendor and time range
(plain SELECTs that PostgreSQL prunes to the months' partitions they touch), in (time, id)
order through a server-side cursor, handed over `CHUNK` rows at a time as LogChunks whose
strings are codes into vocabularies shared by the whole read. The detector featurises them
block by block (detection/stream.py), so neither the rows nor a Python object per row are ever
held whole: memory follows the windows, not the rows, and training keeps a bounded sample of
those (detection/sample.py). A key's rows form key windows only if
the key succeeds somewhere in the range, so `known_key_hashes` asks the database for those
keys first (one DISTINCT over the same range).

`log_frame` reads a range whole into a LogFrame (every column, strings dictionary-encoded on
the way), and `log_rows` as tuples: for small reads and tests."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import operator
import queue
import threading
from array import array
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
from django.db import connections, transaction
from django.db.models import CharField, F, FloatField, Func, Max, QuerySet

from apps.accounts.models import Vendor
from apps.usage.models import WebApiLog

if TYPE_CHECKING:  # the detection package imports torch: only inside the functions
    from apps.anomalies.detection import LogChunk, TrainingWindows

FIELDS = ("id", "product_id", "key", "ip", "time", "state", "machine_code", "friendly_name",
          "floating_expires", "method", "country")
STRINGS = {"key": 2, "ip": 3, "machine": 6, "friendly": 7, "method": 9, "country": 10}
# What the features read, in LogChunk's order: id, product, key, ip, time, state, machine, country.
CHUNK_FIELDS = ("id", "product_id", "key", "ip", "time", "state", "machine_code", "country")
CHUNK = 20_000
COLUMN_GETTERS = [operator.itemgetter(i) for i in range(len(CHUNK_FIELDS))]

Row = tuple


class UnixTime(Func):
    """A timestamp as float seconds since 1970, computed by PostgreSQL: reading a float costs
    a fraction of parsing a datetime, and it is the same float as datetime.timestamp() (both
    round the exact microseconds to the nearest double)."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"
    output_field = FloatField()


def _unix(value: dt.datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _log(vendor: Vendor, since: dt.datetime | None, until: dt.datetime | None
         ) -> QuerySet[WebApiLog]:
    rows = WebApiLog.objects.for_vendor(vendor)
    if since is not None:
        rows = rows.filter(time__gte=since)
    if until is not None:
        rows = rows.filter(time__lt=until)
    return rows.order_by()


def _rows(vendor: Vendor, since: dt.datetime | None, until: dt.datetime | None):
    return _log(vendor, since, until).values_list(*FIELDS).iterator(chunk_size=CHUNK)


def log_rows(*, vendor: Vendor, since: dt.datetime | None = None,
             until: dt.datetime | None = None) -> Iterator[Row]:
    """The vendor's log rows with `since <= time < until`, in LogFrame.from_rows order
    (id, product_id, key, ip, unix time, state, machine code, friendly name, floating expiry
    in unix seconds or None, method, country)."""
    for (pk, product_id, key, ip, time, state, machine_code, friendly_name, floating_expires,
         method, country) in _rows(vendor, since, until):
        yield (pk, product_id, key, ip or "", time.timestamp(), state, machine_code,
               friendly_name, _unix(floating_expires), method, country)


def log_frame(*, vendor: Vendor, since: dt.datetime | None = None,
              until: dt.datetime | None = None):
    """The same rows as `log_rows`, as a LogFrame built column by column."""
    from apps.anomalies.detection import LogFrame

    ids, products, states = array("q"), array("q"), array("l")
    times, expires = array("d"), array("d")
    index: dict[str, dict[str, int]] = {name: {} for name in STRINGS}
    codes = {name: array("l") for name in STRINGS}
    for row in _rows(vendor, since, until):
        ids.append(row[0])
        products.append(-1 if row[1] is None else row[1])
        times.append(row[4].timestamp())
        states.append(row[5])
        expires.append(np.nan if row[8] is None else row[8].timestamp())
        for name, position in STRINGS.items():
            seen = index[name]
            codes[name].append(seen.setdefault(row[position] or "", len(seen)))
    return LogFrame(
        ids=np.array(ids, dtype=np.int64), product_id=np.array(products, dtype=np.int64),
        time=np.array(times, dtype=np.float64), state=np.array(states, dtype=np.int32),
        floating_expires=np.array(expires, dtype=np.float64),
        codes={name: np.array(c, dtype=np.int32) for name, c in codes.items()},
        vocabs={name: np.array(list(seen), dtype=object) for name, seen in index.items()})


def log_chunks(*, vendor: Vendor, since: dt.datetime | None = None,
               until: dt.datetime | None = None, chunk: int = CHUNK) -> Iterator[LogChunk]:
    """The vendor's rows with `since <= time < until` in (time, id) order, as LogChunks of
    `chunk` rows sharing one vocabulary per string column (detection.LogChunk)."""
    from apps.anomalies.detection import LogChunk

    vocabs = {name: _Vocabulary() for name in ("key", "ip", "machine", "country")}
    for batch in _batches(_log(vendor, since, until).order_by("time", "id"), chunk):
        # Column by column (zip(*batch) takes six times as long over 20,000 tuples).
        ids, products, keys, ips, times, states, machines, countries = (
            list(map(column, batch)) for column in COLUMN_GETTERS)
        del batch
        if None in products:
            products = [-1 if p is None else p for p in products]
        yield LogChunk(
            ids=np.array(ids, dtype=np.int64), product_id=np.array(products, dtype=np.int64),
            time=np.array(times, dtype=np.float64), state=np.array(states, dtype=np.int32),
            codes={"key": vocabs["key"].encode(keys), "ip": vocabs["ip"].encode(ips),
                   "machine": vocabs["machine"].encode(machines),
                   "country": vocabs["country"].encode(countries)},
            vocabs={name: vocab.values for name, vocab in vocabs.items()})


def _batches(log: QuerySet[WebApiLog], chunk: int) -> Iterator[list[tuple]]:
    """The CHUNK_FIELDS of the rows, time in Unix seconds, `chunk` rows at a time. On
    PostgreSQL straight from a server-side cursor, in the binary format (Django's iterator
    costs as much as the fetch itself here and has nothing to convert; binary rows load a
    quarter faster than text), elsewhere through Django's iterator."""
    connection = connections[log.db]
    if connection.vendor != "postgresql":
        rows = log.values_list(*CHUNK_FIELDS).iterator(chunk_size=chunk)
        while batch := list(itertools.islice(rows, chunk)):
            yield [(*row[:4], row[4].timestamp(), *row[5:]) for row in batch]
        return
    # abbrev(): the address as text exactly as Django reads an inet (binary inet would be an
    # ipaddress object).
    sql, params = log.annotate(
        unix=UnixTime("time"), address=Func("ip", function="abbrev", output_field=CharField())
    ).values_list(*[{"time": "unix", "ip": "address"}.get(f, f) for f in CHUNK_FIELDS]
                  ).query.sql_with_params()
    # In a transaction, the server-side cursor streams; outside one (autocommit: training)
    # Django declares it WITH HOLD, and PostgreSQL would first run the whole query and store
    # every row of the month in a temporary file. Nothing is written: no lock is held.
    with (transaction.atomic(using=log.db), connection.chunked_cursor() as cursor,
          connection.wrap_database_errors):
        cursor.cursor.execute(sql, params, binary=True)
        yield from _fetched_ahead(lambda: cursor.fetchmany(chunk))


def _fetched_ahead(fetch: Callable[[], list], depth: int = 2) -> Iterator[list]:
    """The batches `fetch` returns until an empty one, fetched ahead by a thread (at most
    `depth` waiting): the database produces the next batch while this one is worked on,
    instead of each waiting for the other. The thread only ever fetches from the cursor."""
    batches: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.is_set():
                batch = fetch()
                batches.put(batch)
                if not batch:
                    return
        except BaseException as error:  # raised again in the reading thread
            batches.put(error)

    thread = threading.Thread(target=run, name="anomaly-log-reader", daemon=True)
    thread.start()
    try:
        while batch := batches.get():
            if isinstance(batch, BaseException):
                raise batch
            yield batch
    finally:
        stop.set()
        while thread.is_alive():  # a reader that stopped early: unblock the thread's put
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.1)
        thread.join()


class _Vocabulary:
    """Dictionary encoding of one string column across the chunks of a read: code = position
    in `values`, in order of first appearance; None reads as ""."""

    def __init__(self) -> None:
        self.index: dict[str | None, int] = {}
        self.values: list[str] = []

    def encode(self, strings: list[str | None]) -> np.ndarray:
        # One C-level pass for the strings seen before (nearly all of them, after the first
        # chunks), a Python one only over the new ones.
        codes = list(map(self.index.get, strings))
        if None in codes:
            for i, code in enumerate(codes):
                if code is None:
                    codes[i] = self._add(strings[i])
        return np.array(codes, dtype=np.int32)

    def _add(self, value: str | None) -> int:
        text = value or ""
        code = self.index.get(text)
        if code is None:
            code = self.index[text] = len(self.values)
            self.values.append(text)
        self.index[value] = code
        return code


def known_key_hashes(*, vendor: Vendor, since: dt.datetime | None = None,
                     until: dt.datetime | None = None) -> np.ndarray:
    """Sorted entity hashes of the (product, key) pairs with a successful call (state x1x)
    in the range: the keys whose rows make key windows."""
    from apps.anomalies.detection import key_hashes

    pairs = list(_log(vendor, since, until).annotate(outcome=F("state") % 100)
                 .filter(outcome__gte=10, outcome__lt=20)
                 .values_list("product_id", "key").distinct())
    return np.unique(key_hashes([-1 if p is None else p for p, _ in pairs],
                                [k or "" for _, k in pairs]))


def log_end(*, vendor: Vendor) -> dt.datetime | None:
    """Just after the vendor's newest row: the end of a read that must see the same rows in
    its two queries (the known keys, then the rows) while new ones keep arriving."""
    latest = latest_log_time(vendor=vendor)
    return None if latest is None else latest + dt.timedelta(microseconds=1)


def log_training_windows(*, vendor: Vendor, since: dt.datetime | None,
                         until: dt.datetime | None, window_seconds: int,
                         max_windows: int | None = None, seed: int = 0) -> TrainingWindows:
    """The training windows of the vendor's rows in the range, featurised as they stream in
    (detection.TrainingWindows): at most `max_windows` of them kept (the detector's default
    when None), a sample drawn with `seed` beyond that."""
    from apps.anomalies.detection import DetectorConfig, TrainingWindows

    return TrainingWindows.from_chunks(
        log_chunks(vendor=vendor, since=since, until=until),
        known_keys=known_key_hashes(vendor=vendor, since=since, until=until),
        window_seconds=window_seconds,
        max_windows=DetectorConfig.max_windows if max_windows is None else max_windows,
        seed=seed)


def latest_log_time(*, vendor: Vendor) -> dt.datetime | None:
    return WebApiLog.objects.for_vendor(vendor).aggregate(latest=Max("time"))["latest"]


def training_since(*, vendor: Vendor, days: int) -> dt.datetime | None:
    """Start of the training period: `days` before the vendor's newest log row (not before
    now, so that an imported historic log trains on its own last month)."""
    return training_period(vendor=vendor, days=days)[0]


def training_period(*, vendor: Vendor, days: int
                    ) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(training_since, log_end): the last `days` of the vendor's log, (None, None) without
    a log."""
    latest = latest_log_time(vendor=vendor)
    if latest is None:
        return None, None
    return latest - dt.timedelta(days=days), latest + dt.timedelta(microseconds=1)
