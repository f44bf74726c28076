"""One statement on PostgreSQL, prepared, with its commit overlapping the caller's own work.

In autocommit mode a statement's answer comes back only once its transaction has committed,
and a commit waits for the write-ahead log to reach the disk. In libpq's pipeline mode the
statement goes out followed by a flush request and then a Sync: PostgreSQL sends the
statement's row as soon as it has it and commits at the Sync. `run` returns that row and a
`committed` function; the caller builds its answer, then calls `committed`, which returns once
PostgreSQL has confirmed the commit and raises (a Django DatabaseError) when it has not. The
caller must not answer before. Inside a transaction the Sync commits nothing (the transaction
does, later) and `committed` only reads the rest of the pipeline; a transaction Django opened
but psycopg has not begun yet (psycopg sends BEGIN before its first query in it) is begun
here, in the same round trip, so that the statement is part of it.

The statement is prepared once per connection (planning the fast path's statements costs
PostgreSQL more than running them), under a name of this module's. psycopg prepares nothing of
its own (Django leaves its prepare_threshold at None), so it never sends the DEALLOCATE ALL it
sends after a ROLLBACK or DDL when it holds prepared statements; a statement deallocated all
the same (DISCARD ALL, a pooler) is prepared again and the call goes on.

Where Django must see the statement (queries are logged, as with DEBUG or a test capturing
them, or an execute wrapper is installed), it runs through a Django cursor instead, not
prepared, and `committed` does nothing. settings.DB_PREPARED_STATEMENTS False (PgBouncer in
transaction pooling mode before 1.21) prepares nothing."""

from __future__ import annotations

import hashlib
import re
import select
import weakref
from collections.abc import Callable
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import pq

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_INTEGERS = frozenset({20, 21, 23})  # int8, int2, int4 (type oids)
_OK = pq.ExecStatus.COMMAND_OK
_ROWS = pq.ExecStatus.TUPLES_OK
_SYNC = pq.ExecStatus.PIPELINE_SYNC


class Statement:
    """A statement written with %(name)s parameters, each of the SQL type `types` names (libpq
    sends every parameter as text; a parameter used twice is read the same way both times)."""

    def __init__(self, sql: str, types: dict[str, str]) -> None:
        names: list[str] = []

        def numbered(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}::{types[match.group(1)]}"

        self.sql = PLACEHOLDER.sub(lambda m: f"{m.group(0)}::{types[m.group(1)]}", sql)
        self.numbered = PLACEHOLDER.sub(numbered, sql).encode()
        self.names = tuple(names)
        # A statement that changes is another statement, under another name.
        self.name = b"pipeline_" + hashlib.sha256(self.numbered).hexdigest()[:24].encode()


def _done() -> None:
    pass


def run(statement: Statement, params: dict[str, Any]
        ) -> tuple[tuple[Any, ...] | None, Callable[[], None]]:
    """Execute `statement` on the default database: its first row (None: no row) and the
    function that waits for its commit (see the module's text)."""
    db = connections[DEFAULT_DB_ALIAS]
    db.close_if_health_check_failed()
    db.ensure_connection()
    if db.queries_logged or db.execute_wrappers:
        with db.cursor() as cursor:
            cursor.execute(statement.sql, params)
            return cursor.fetchone(), _done
    return _Pipelined(db, settings.DB_PREPARED_STATEMENTS).run(statement, params)


# The statements prepared on each libpq connection (gone with the connection).
_PREPARED: weakref.WeakKeyDictionary[Any, set[bytes]] = weakref.WeakKeyDictionary()


class _Pipelined:
    def __init__(self, db: BaseDatabaseWrapper, prepare: bool) -> None:
        self.db = db
        self.prepare = prepare
        self.pgconn = db.connection.pgconn
        self.encoding = db.connection.info.encoding
        self.settled = False

    def run(self, statement: Statement, params: dict[str, Any]
            ) -> tuple[tuple[Any, ...] | None, Callable[[], None]]:
        values = [self._text(params[name]) for name in statement.names]
        prepared = _PREPARED.setdefault(self.pgconn, set())
        with self.db.wrap_database_errors:
            try:
                result = self._exchange(statement, values, prepared)
            except psycopg.errors.InvalidSqlStatementName:
                # Deallocated meanwhile (DISCARD ALL, a pooler). Outside a transaction
                # nothing ran: again, preparing; inside one, the transaction is lost anyway.
                prepared.clear()
                if self.pgconn.transaction_status != pq.TransactionStatus.IDLE:
                    raise
                result = self._exchange(statement, values, prepared)
        return self._row(result), self.committed

    def _exchange(self, statement: Statement, values: list[bytes | None],
                  prepared: set[bytes]) -> pq.abc.PGresult:
        """Send the statement and read its result, leaving the Sync's answer to read."""
        pgconn = self.pgconn
        preparing = self.prepare and statement.name not in prepared
        # In a Django transaction whose BEGIN psycopg has not sent yet (it sends it before
        # its own first query), the statement must not run on its own: it begins the
        # transaction the way psycopg would (isolation level and all).
        connection = self.db.connection
        begin = (connection._get_tx_start_command()
                 if not connection.autocommit
                 and pgconn.transaction_status == pq.TransactionStatus.IDLE else None)
        self.settled = False
        pgconn.enter_pipeline_mode()
        try:
            if begin is not None:
                pgconn.send_query_params(begin, None)
            if preparing:
                pgconn.send_prepare(statement.name, statement.numbered)
            if self.prepare:
                pgconn.send_query_prepared(statement.name, values)
            else:
                pgconn.send_query_params(statement.numbered, values)
            pgconn.send_flush_request()  # the row now, not at the Sync
            pgconn.pipeline_sync()
            while pgconn.flush():
                self._wait(select.POLLOUT)
            if begin is not None:
                self._result(_OK)
            if preparing:
                self._result(_OK)
                prepared.add(statement.name)
            return self._result(_ROWS)
        except BaseException:
            self._abandon()
            raise

    def committed(self) -> None:
        """Wait for the Sync's answer: outside a transaction, the statement has committed."""
        if self.settled:
            return
        self.settled = True
        with self.db.wrap_database_errors:
            try:
                self._to_sync()
            except BaseException:
                self._abandon()
                raise

    def _result(self, expected: pq.ExecStatus) -> pq.abc.PGresult:
        """The next statement's result. On an error the pipeline is read to its end (outside
        a transaction, the statement's own is rolled back at the Sync) and the error raised."""
        result = self._next()
        if result is None or result.status != expected:
            error = self._error(result)
            self._to_sync()
            raise error
        if self._next() is not None:  # each statement's results end with None
            raise InterfaceError("fast path: a statement gave more than one result")
        return result

    def _to_sync(self) -> None:
        """Read what is left up to the Sync's answer and leave pipeline mode; raise the first
        error met on the way (a commit that failed)."""
        error = None
        while True:
            result = self._next()
            if result is None:
                continue
            if result.status == _SYNC:
                break
            if result.status == pq.ExecStatus.FATAL_ERROR and error is None:
                error = self._error(result)
        self.pgconn.exit_pipeline_mode()
        self.settled = True
        if error is not None:
            raise error

    def _abandon(self) -> None:
        """After an error: a pipeline read to its end is left as it is (the connection is
        usable); one left half-read (a lost connection, an interruption) leaves the
        connection in an unknown state, so it is closed (the next query opens another)."""
        self.settled = True
        if self.pgconn.pipeline_status != pq.PipelineStatus.OFF:
            self.db.close()

    def _next(self) -> pq.abc.PGresult | None:
        pgconn = self.pgconn
        while pgconn.is_busy():
            self._wait(select.POLLIN)
            pgconn.consume_input()
        return pgconn.get_result()

    def _wait(self, event: int) -> None:
        poller = select.poll()
        poller.register(self.pgconn.socket, event | select.POLLERR | select.POLLHUP)
        poller.poll()

    def _text(self, value: Any) -> bytes | None:
        if value is None:
            return None
        if isinstance(value, bool):
            return b"t" if value else b"f"
        return str(value).encode(self.encoding)

    def _row(self, result: pq.abc.PGresult) -> tuple[Any, ...] | None:
        if not result.ntuples:
            return None
        values: list[Any] = []
        for column in range(result.nfields):
            text = result.get_value(0, column)
            if text is None:
                values.append(None)
            elif result.ftype(column) in _INTEGERS:
                values.append(int(text))
            else:
                values.append(text.decode(self.encoding))
        return tuple(values)

    def _error(self, result: pq.abc.PGresult | None) -> psycopg.Error:
        if result is None:
            return psycopg.InterfaceError("fast path: no result from PostgreSQL")
        message = result.error_message.decode(self.encoding, "replace").strip()
        if result.status != pq.ExecStatus.FATAL_ERROR:
            status = pq.ExecStatus(result.status).name
            return psycopg.InterfaceError(f"fast path: unexpected {status} {message}")
        sqlstate = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
        try:
            return psycopg.errors.lookup(sqlstate)(message)
        except KeyError:
            return psycopg.DatabaseError(message)
