"""Audit store on SQLAlchemy 2: SQLite (WAL) embedded by default, PostgreSQL in production.

Records are hash-chained (see :mod:`gateway.audit.chain`). Appends are serialised so that the chain
follows commit order even with several gateway instances on one PostgreSQL database.
"""

from __future__ import annotations

import functools
import hmac
import inspect
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, delete, event, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway import metrics
from gateway.audit import chain
from gateway.audit.schema import (
    admin_access_log,
    admin_sessions,
    audit_anchors,
    audit_records,
    browser_acks,
    charter_acceptances,
    readiness_probe,
)

# Hot-path statements, built once so SQLAlchemy's compiled cache serves them (values bound per call).
_INSERT = insert(audit_records)
_OUTCOME_ROW = select(audit_records.c.record_hash, *[audit_records.c[k] for k in chain.OUTCOME_FIELDS]).where(
    audit_records.c.id == bindparam("_rid")
)
_OUTCOME_ROW_LOCKED = _OUTCOME_ROW.with_for_update()
_OUTCOME_UPDATE = update(audit_records).where(audit_records.c.id == bindparam("_rid"))

MIGRATIONS = Path(__file__).with_name("migrations")

#: Advisory lock key serialising chain appends on PostgreSQL ("gardefou" in ASCII).
PG_CHAIN_LOCK = 0x6761726465666F75
PG_ACCESS_LOCK = PG_CHAIN_LOCK + 1
#: Advisory lock (two-key form: its own key space) taken around the migrations, per schema: "gard", and
#: hashtext(current_schema()) as the second key.
PG_MIGRATION_LOCK = 0x67617264
#: How long an instance waits for another one's migration before giving up (PostgreSQL lock_timeout;
#: SQLite busy timeout): the first start of a large store may take a while.
MIGRATION_WAIT_S = 600

BATCH = 1000
#: Outcomes written by the outcome thread in one transaction, at most.
OUTCOME_BATCH = 256

log = logging.getLogger("gardefou.audit")


class AuditError(Exception):
    """The audit store failed (could not record, or could not be read): the request must be refused
    (fail closed). Every public method of :class:`AuditStore` raises this and nothing else on a
    database failure; the SQLAlchemy or driver error is chained as ``__cause__``."""


def _store_errors(method):
    """Translate the database errors of an :class:`AuditStore` method into :class:`AuditError`
    (generators included: the errors of every batch read while iterating)."""
    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def generator(self, *args, **kwargs):
            with self._translated():
                yield from method(self, *args, **kwargs)
        return generator

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._translated():
            return method(self, *args, **kwargs)
    return wrapper


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit transactions would not
    # allow BEGIN IMMEDIATE); see _sqlite_begin.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    if options.get("gardefou_exclusive"):
        conn.exec_driver_sql("BEGIN EXCLUSIVE")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("gardefou_immediate") else "BEGIN")


#: PostgreSQL: a held lock or a stuck statement fails the request (503, fail closed) instead of
#: hanging it for as long as the lock is held.
PG_LOCK_TIMEOUT_MS = 5000
PG_STATEMENT_TIMEOUT_MS = 30000


def _pg_timeouts(dbapi_conn, _record) -> None:
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    cur = dbapi_conn.cursor()
    cur.execute(f"SET lock_timeout = {PG_LOCK_TIMEOUT_MS}")
    cur.execute(f"SET statement_timeout = {PG_STATEMENT_TIMEOUT_MS}")
    cur.close()
    dbapi_conn.autocommit = autocommit


def make_engine(url: str, pool_size: int = 10, max_overflow: int = 10, pool_timeout: float = 10) -> Engine:
    """The engine of the store; the pool's size applies to PostgreSQL (``audit.pool_size``,
    ``audit.max_overflow``, ``audit.pool_timeout_s``)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True,
                           pool_timeout=pool_timeout)
    event.listen(engine, "connect", _pg_timeouts)
    return engine


class _Pending:
    """A record waiting in ``AuditStore.insert`` for the transaction that commits it."""

    __slots__ = ("rec", "done", "error")

    def __init__(self, rec: dict[str, Any]):
        self.rec: dict[str, Any] = rec
        self.done = False
        self.error: Exception | None = None


@dataclass
class ChainProblem:
    seq: int
    id: str | None
    kind: str  # changed | outcome_changed | unlinked | before_anchor
    message: str


@dataclass
class VerifyResult:
    checked: int
    head_seq: int | None
    head_hash: str
    anchor_seq: int | None
    problem: ChainProblem | None = None
    purged_expect: bool = False  # the noted record was purged since: nothing left to compare

    @property
    def ok(self) -> bool:
        return self.problem is None


class AuditStore:
    def __init__(self, url: str, anchor_key: bytes | None = None, *, pool_size: int = 10, max_overflow: int = 10,
                 pool_timeout: float = 10):
        self.url = url
        #: key of the purge anchors' HMAC (the audit fingerprint key); None: anchors are unkeyed
        self.anchor_key = anchor_key
        try:
            self.engine = make_engine(url, pool_size, max_overflow, pool_timeout)
        except SQLAlchemyError as exc:
            raise AuditError(type(exc).__name__) from exc
        self.is_pg = self.engine.dialect.name == "postgresql"
        self._outcomes: queue.SimpleQueue[_Outcome | None] = queue.SimpleQueue()
        self._outcome_thread: threading.Thread | None = None
        self._outcome_lock = threading.Lock()
        self._outcomes_pending = 0
        self._outcomes_idle = threading.Condition(self._outcome_lock)
        #: what a database failure looks like: SQLAlchemy's errors, and the driver's should one escape
        self._db_errors = (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error)
        #: the hot path's INSERT and UPDATE, rendered once per column set (``_rendered``)
        self._rendered_cache: dict[tuple[str, tuple[str, ...]], tuple[str, list[str] | None, dict[str, Any]]] = {}
        #: the outcome row's read: (SQL, positional names or None), then its columns' result processors
        self._outcome_select: tuple[str, list[str] | None] | None = None
        self._outcome_processors: list[tuple[str, Any]] | None = None
        #: group commit (``insert``): records waiting for a writer, and the writer's lock; SQLite's
        #: other writes of this process on the hot path (outcomes) take the same lock
        self._queue_lock = threading.Lock()
        self._queued: list[_Pending] = []
        self._writer_lock = threading.Lock()
        #: transactions committed by ``insert`` (fewer than the records under load)
        self.commits = 0

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except self._db_errors as exc:
            raise AuditError(type(exc).__name__) from exc

    @_store_errors
    def migrate(self) -> None:
        """Bring the schema to the latest Alembic revision, under a lock: instances started at the same
        time on one store migrate one after the other (the later ones find the schema up to date).

        PostgreSQL: a transaction-scoped advisory lock per schema, taken before Alembic reads the
        schema's version (DDL is transactional: the next holder sees all of it or none). SQLite:
        ``BEGIN EXCLUSIVE``, the database's own write lock, for the whole upgrade."""
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.connect() as conn:
            if self.is_pg:
                conn.begin()
                conn.execute(text(f"SET LOCAL lock_timeout = {MIGRATION_WAIT_S * 1000}"))
                conn.execute(text("SET LOCAL statement_timeout = 0"))  # a migration may rewrite a large table
                conn.execute(text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema()))"),
                             {"k": PG_MIGRATION_LOCK})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                conn.commit()
                return
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute(f"PRAGMA busy_timeout={MIGRATION_WAIT_S * 1000}")  # wait for the other's upgrade
            try:
                conn.execution_options(gardefou_exclusive=True).begin()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                conn.commit()
            finally:
                raw.execute("PRAGMA busy_timeout=10000")

    def ping(self) -> bool:
        """True when the store answers and takes a write (a row of ``readiness_probe`` rewritten and
        committed: a locked, read-only or full database fails it)."""
        try:
            with self._chain_tx() as conn, conn.begin():
                conn.execute(select(audit_records.c.seq).limit(1))
                now = datetime.now(UTC)
                if conn.execute(update(readiness_probe).where(readiness_probe.c.id == 1).values(ts=now)).rowcount == 0:
                    conn.execute(insert(readiness_probe).values(id=1, ts=now))
            return True
        except self._db_errors:
            return False

    # -- writes ------------------------------------------------------------------------------
    def _chain_tx(self):
        """A transaction holding the chain lock until commit (one writer appends at a time)."""
        conn = self.engine.connect()
        if not self.is_pg:
            conn = conn.execution_options(gardefou_immediate=True)
        return conn

    def _local_writer(self):
        """SQLite: this process's writer lock (``insert``'s), so that the outcome writes and the
        record appends of one process queue on it rather than in SQLite's sleeping busy handler.
        PostgreSQL: nothing (outcomes lock their own rows, not the chain)."""
        return nullcontext() if self.is_pg else self._writer_lock

    def _lock(self, conn: Connection, key: int = PG_CHAIN_LOCK) -> None:
        if self.is_pg:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def insert(self, record: dict[str, Any]) -> None:
        """Append one record to the chain and commit it; return once it is committed.

        Group commit: the threads inserting at the same moment queue their records and the first to
        take the writer lock writes every record queued so far in one transaction (one chain-head
        read, one commit); the others find theirs committed when they get the lock. Alone, a thread
        writes its own record at once (no added wait); under load, one commit serves many requests,
        and the threads of this process wait on a lock that wakes them at once instead of SQLite's
        busy handler, which sleeps 1, 2, 5... ms between tries. A batch that fails is written again
        one record at a time, so one bad record fails its own request only."""
        pending = _Pending(chain.normalise(record))
        with self._queue_lock:
            self._queued.append(pending)
        with self._writer_lock:
            if not pending.done:
                with self._queue_lock:
                    batch, self._queued = self._queued, []
                self._commit(batch)
        if not pending.done:  # the thread that took it died mid-write: never report it committed
            raise AuditError("record not written")
        if pending.error is not None:
            if isinstance(pending.error, self._db_errors):
                raise AuditError(type(pending.error).__name__) from pending.error
            raise pending.error

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            self._write(batch)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for one in batch:
                    try:
                        self._write([one])
                    except Exception as exc_one:
                        one.error = exc_one
        for one in batch:
            one.done = True

    def _write(self, batch: list[_Pending]) -> None:
        """Append ``batch`` in one transaction. The hot path of every request: the driver's own
        connection and cursor, with the INSERT rendered once per column set by SQLAlchemy and each
        value converted by its column type's bind processor (what ``Connection.execute`` would do,
        without its per-statement machinery: about half of the insert's CPU)."""
        with self._driver_transaction() as cur:
            last_seq, prev = self._lock_and_head(cur)
            prev = prev or ""  # a row slipped in without a hash: keep recording, verify reports it
            for one in batch:
                rec = dict(one.rec)  # a failed batch is written again from the records as given
                if not self.is_pg:  # SQLite would reuse seq numbers after a purge emptied the table
                    last_seq += 1
                    rec["seq"] = last_seq
                rec_hash = chain.record_hash(prev, rec)
                rec.update(prev_hash=prev, record_hash=rec_hash, outcome_hash=chain.outcome_hash(rec_hash, rec))
                sql, names, procs = self._rendered("insert", tuple(rec))
                values = {k: (procs[k](v) if procs[k] is not None else v) for k, v in rec.items()}
                cur.execute(sql, [values[k] for k in names] if names is not None else values)
                prev = rec_hash
        self.commits += 1
        metrics.AUDIT_BATCH.observe(len(batch))

    def _rendered(self, kind: str, keys: tuple[str, ...]) -> tuple[str, list[str] | None, dict[str, Any]]:
        """(SQL, positional parameter names or None, bind processor per parameter) of the record's
        ``insert`` or its ``outcome`` UPDATE (``WHERE id = :_rid``) for these columns, rendered once."""
        hit = self._rendered_cache.get((kind, keys))
        if hit is None:
            dialect = self.engine.dialect
            compiled = (_INSERT if kind == "insert" else _OUTCOME_UPDATE).compile(dialect=dialect, column_keys=list(keys))
            names = list(compiled.positiontup or ()) if compiled.positional else None
            columns = {k: k for k in keys} | ({} if kind == "insert" else {"_rid": "id"})
            procs = {k: audit_records.c[c].type.dialect_impl(dialect).bind_processor(dialect) for k, c in columns.items()}
            hit = self._rendered_cache[(kind, keys)] = (compiled.string, names, procs)
        return hit

    def _lock_and_head(self, cur) -> tuple[int, str]:
        """Take the chain lock and read the head, (seq, hash) of the chain's last link: the last record,
        else the last purge anchor. SQLite holds the write lock already (``_driver_transaction``);
        PostgreSQL takes the chain's advisory lock and reads the head in one round trip (migration 0002)."""
        if self.is_pg:
            cur.execute("SELECT head_seq, head_hash FROM gardefou_chain_head(%s)", (PG_CHAIN_LOCK,))
            row = cur.fetchone()
        else:
            cur.execute(f"SELECT seq, record_hash FROM {audit_records.name} ORDER BY seq DESC LIMIT 1")
            row = cur.fetchone()
        if row is not None and row[0] is not None:
            return row[0], row[1]
        cur.execute(f"SELECT through_seq, last_hash FROM {audit_anchors.name} ORDER BY through_seq DESC LIMIT 1")
        anchor = cur.fetchone()
        return (anchor[0], anchor[1]) if anchor else (0, chain.GENESIS)

    @_store_errors
    def complete(self, record_id: str, fields: dict[str, Any]) -> None:
        """Add what is known after the response (upstream outcome, latencies); rehash the outcome."""
        fields = _outcome_fields(fields)
        with self._local_writer():  # SQLite: this process's write lock first
            missing = self._write_outcome_batch([(record_id, fields)])
        if missing:
            raise AuditError(f"unknown record {record_id}")

    def _write_outcome_batch(self, items: list[tuple[str, dict[str, Any]]]) -> list[str]:
        """Rewrite the outcome fields of these records and their outcome hashes, in one transaction;
        returns the ids not found. Like ``_write``, on the driver's own connection: each record's
        outcome row read (locked, on PostgreSQL), its values converted by their column types' result
        processors, then the UPDATE, both rendered once by SQLAlchemy (``_outcome_row_sql``,
        ``_rendered``)."""
        select_sql, select_names = self._outcome_row_sql()
        missing: list[str] = []
        with self._driver_transaction() as cur:
            for record_id, fields in items:
                cur.execute(select_sql, [record_id] if select_names is not None else {"_rid": record_id})
                row = cur.fetchone()
                if row is None:
                    missing.append(record_id)
                    continue
                processors = self._outcome_row_processors(cur.description)
                stored = {k: (p(v) if p is not None else v) for (k, p), v in zip(processors, row)}
                merged = {**stored, **fields}
                values = {**fields, "outcome_hash": chain.outcome_hash(stored["record_hash"], merged),
                          "_rid": record_id}
                sql, names, binds = self._rendered("outcome", (*fields, "outcome_hash"))
                params = {k: (binds[k](v) if binds[k] is not None else v) for k, v in values.items()}
                cur.execute(sql, [params[k] for k in names] if names is not None else params)
        return missing

    @contextmanager
    def _driver_transaction(self) -> Iterator[Any]:
        """A write transaction on the driver's own connection, for the hot path: its cursor (on SQLite,
        with the database's write lock taken first, ``BEGIN IMMEDIATE``), committed at the end, rolled
        back on any error; the connection goes back to the pool."""
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            try:
                if not self.is_pg:
                    cur.execute("BEGIN IMMEDIATE")
                yield cur
            finally:
                cur.close()
            raw.commit()
        except BaseException:
            try:
                raw.rollback()
            except Exception:  # the connection is gone: the pool discards it
                pass
            raise
        finally:
            raw.close()  # back to the pool

    def _outcome_row_sql(self) -> tuple[str, list[str] | None]:
        """(SQL, positional names or None) of the outcome row's read."""
        if self._outcome_select is None:
            compiled = (_OUTCOME_ROW_LOCKED if self.is_pg else _OUTCOME_ROW).compile(dialect=self.engine.dialect)
            self._outcome_select = (compiled.string, list(compiled.positiontup or ()) if compiled.positional else None)
        return self._outcome_select

    def _outcome_row_processors(self, description) -> list[tuple[str, Any]]:
        """(column, result processor) per column of the outcome row's read, from the driver's type codes
        of its first answer (the processors of PostgreSQL's numbers depend on them)."""
        if self._outcome_processors is None:
            dialect = self.engine.dialect
            self._outcome_processors = [
                (k, audit_records.c[k].type.dialect_impl(dialect).result_processor(dialect, d[1]))
                for k, d in zip(("record_hash", *chain.OUTCOME_FIELDS), description)]
        return self._outcome_processors

    def complete_later(self, record_id: str, fields: dict[str, Any],
                       finish: Callable[[dict[str, Any]], None] | None = None) -> None:
        """``complete``, written by the store's outcome thread: the request's own thread does not wait.

        The decision record was committed before the request was forwarded; its outcome (known once
        the answer has been relayed) is queued and written with the others waiting, in one
        transaction. ``finish``, if given, completes the fields on that thread first (the token
        counts and energy estimate: CPU off the request's path). ``flush`` waits for the queue;
        ``dispose`` flushes first. A failed batch is logged (the records stay, without their
        outcome), as a failed ``complete`` is."""
        if finish is None:
            fields = _outcome_fields(fields)
        with self._outcome_lock:
            self._outcomes_pending += 1
            if self._outcome_thread is None or not self._outcome_thread.is_alive():
                self._outcome_thread = threading.Thread(target=self._write_outcomes, name="gardefou-outcomes",
                                                        daemon=True)
                self._outcome_thread.start()
        self._outcomes.put((record_id, fields, finish))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued outcome is written (or failed); False on timeout."""
        with self._outcome_lock:
            return self._outcomes_idle.wait_for(lambda: self._outcomes_pending == 0, timeout)

    def _write_outcomes(self) -> None:
        while True:
            item = self._outcomes.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < OUTCOME_BATCH:
                try:
                    more = self._outcomes.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._outcomes.put(None)  # stop after this batch
                    break
                batch.append(more)
            ready: list[tuple[str, dict[str, Any]]] = []
            for rid, fields, finish in batch:
                try:
                    if finish is not None:
                        finish(fields)
                        fields = _outcome_fields(fields)
                    ready.append((rid, fields))
                except Exception:
                    log.exception("could not complete the outcome of %s", rid)
            try:
                with self._translated(), self._local_writer():
                    missing = self._write_outcome_batch(ready)
                for rid in missing:
                    log.error("could not record the outcome of %s: unknown record", rid)
            except Exception as exc:  # the records stay, without their outcome: say so loudly
                log.error("could not record the outcome of %d request(s) (%s): %s", len(batch), type(exc).__name__,
                          ", ".join(rid for rid, _, _ in batch[:5]))
            finally:
                with self._outcome_lock:
                    self._outcomes_pending -= len(batch)
                    if self._outcomes_pending == 0:
                        self._outcomes_idle.notify_all()

    @_store_errors
    def purge(self, older_than: datetime, actor: str, batch: int = 5000) -> tuple[int, int | None]:
        """Delete the records older than ``older_than`` (a chain prefix) and anchor the rest.

        Deletes every record before the first one at or after the cut-off, so the remaining chain is
        contiguous. Works in batches, each in its own short transaction holding the chain lock (so the
        gateway's appends wait milliseconds, not the whole purge) and storing its own anchor.
        Returns (number purged, last purged seq).
        """
        cutoff = chain.norm_ts(older_than)
        with self.engine.connect() as conn:
            bound = conn.execute(
                select(func.min(audit_records.c.seq)).where(audit_records.c.ts >= cutoff)
            ).scalar_one_or_none()
            if bound is None:  # everything is older: stop at what exists now, not at later appends
                last = conn.execute(select(func.max(audit_records.c.seq))).scalar_one_or_none()
                if last is None:
                    return 0, None
                bound = last + 1
        total, through = 0, None
        while True:
            with self._chain_tx() as conn, conn.begin():
                self._lock(conn)
                rows = conn.execute(
                    select(audit_records.c.seq, audit_records.c.record_hash)
                    .where(audit_records.c.seq < bound).order_by(audit_records.c.seq).limit(batch)
                ).all()
                if not rows:
                    return total, through
                through, last_hash = rows[-1]
                anchor = {"ts": chain.norm_ts(datetime.now(UTC)), "through_seq": through,
                          "last_hash": last_hash or chain.GENESIS, "purged": len(rows), "older_than": cutoff,
                          "actor": actor}
                if self.anchor_key:
                    anchor["mac"] = chain.anchor_mac(self.anchor_key, anchor)
                conn.execute(insert(audit_anchors).values(**anchor))
                conn.execute(delete(audit_records).where(audit_records.c.seq <= through))
                total += len(rows)

    # -- integrity ---------------------------------------------------------------------------
    @_store_errors
    def verify(self, expect: tuple[int, str] | None = None) -> VerifyResult:
        """Walk the chain in ``seq`` order; stop at the first record changed, deleted or inserted.

        ``expect`` is a (seq, hash) pair printed by an earlier verify and kept outside the database:
        that record must still be in the chain with that hash (detects the deletion of the latest
        records and a chain recomputed from some point on)."""
        with self.engine.connect() as conn:
            anchors = conn.execute(select(audit_anchors).order_by(audit_anchors.c.seq)).mappings().all()
        anchor = max(anchors, key=lambda a: a["through_seq"]) if anchors else None
        if self.anchor_key:  # keyed: an anchor written without the key is a forgery
            for a in anchors:
                if not a["mac"] or not hmac.compare_digest(a["mac"], chain.anchor_mac(self.anchor_key, dict(a))):
                    res = VerifyResult(checked=0, head_seq=None, head_hash="", anchor_seq=a["through_seq"])
                    res.problem = ChainProblem(a["through_seq"], None, "anchor_forged",
                                               f"purge anchor seq={a['seq']} (through record seq={a['through_seq']}) "
                                               "is not signed with the audit key: records may have been deleted "
                                               "and the anchor forged")
                    return res
        prev = anchor["last_hash"] if anchor else chain.GENESIS
        anchor_seq = anchor["through_seq"] if anchor else None
        res = VerifyResult(checked=0, head_seq=None, head_hash=prev, anchor_seq=anchor_seq)
        prev_seq = anchor_seq
        for rec in self.iter_records(ascending=True):
            seq, rid = rec["seq"], rec["id"]
            where = f"record seq={seq} id={rid}"
            if anchor_seq is not None and seq <= anchor_seq:
                res.problem = ChainProblem(seq, rid, "before_anchor",
                                           f"{where}: present although purged up to seq={anchor_seq} (inserted)")
                return res
            expected = chain.record_hash(rec["prev_hash"] or "", rec)
            if rec["record_hash"] != expected:
                res.problem = ChainProblem(seq, rid, "changed",
                                           f"{where}: content does not match its hash (changed, or inserted "
                                           "outside Garde-fou)")
                return res
            if rec["prev_hash"] != prev:
                after = f"seq={prev_seq}" if prev_seq is not None else "the start of the chain"
                res.problem = ChainProblem(seq, rid, "unlinked",
                                           f"{where}: does not link to the record before it ({after}): "
                                           "a record was deleted or inserted in between")
                return res
            if rec["outcome_hash"] != chain.outcome_hash(rec["record_hash"], rec):
                res.problem = ChainProblem(seq, rid, "outcome_changed",
                                           f"{where}: outcome fields do not match the outcome hash (changed)")
                return res
            prev, prev_seq = rec["record_hash"], seq
            res.checked += 1
            res.head_seq, res.head_hash = seq, prev
            if expect and seq == expect[0]:
                if rec["record_hash"] != expect[1]:
                    res.problem = ChainProblem(seq, rid, "rewritten",
                                               f"{where}: hash differs from the one noted for seq={seq} "
                                               "(the chain was recomputed from this point or earlier)")
                    return res
                expect = None
        if expect and (anchor_seq is None or expect[0] > anchor_seq):
            res.problem = ChainProblem(expect[0], None, "missing",
                                       f"record seq={expect[0]}: noted earlier but no longer in the chain "
                                       f"(head is seq={res.head_seq}): records were deleted")
        elif expect:
            res.purged_expect = True
        return res

    # -- reads -------------------------------------------------------------------------------
    @contextmanager
    @_store_errors
    def reading(self) -> Iterator[Connection]:
        """A connection for the read queries of :mod:`gateway.audit.query`: a failure in the
        ``with`` block comes out as :class:`AuditError`, like every other method's."""
        with self.engine.connect() as conn:
            yield conn

    @_store_errors
    def iter_records(self, where=None, ascending: bool = True, batch: int | None = None) -> Iterator[dict[str, Any]]:
        """Every matching record, read in keyset batches (never the whole table in memory)."""
        yield from self._keyset(audit_records, where, ascending, batch or BATCH)

    def _keyset(self, table, where, ascending: bool, batch: int) -> Iterator[dict[str, Any]]:
        """The rows of ``table`` matching ``where`` in ``seq`` order, ``batch`` rows per read."""
        last = None
        while True:
            q = select(table)
            if where is not None:
                q = q.where(where)
            if last is not None:
                q = q.where(table.c.seq > last if ascending else table.c.seq < last)
            q = q.order_by(table.c.seq.asc() if ascending else table.c.seq.desc()).limit(batch)
            with self.engine.connect() as conn:
                rows = [dict(r) for r in conn.execute(q).mappings()]
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1]["seq"]

    @_store_errors
    def get(self, record_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(audit_records).where(audit_records.c.id == record_id)).mappings().first()
        return dict(row) if row else None

    @_store_errors
    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit_records).order_by(audit_records.c.seq.desc()).limit(limit)).mappings()
            return [dict(r) for r in rows]

    # -- access log --------------------------------------------------------------------------
    @_store_errors
    def log_access(
        self, *, user_id: str | None, role: str | None, channel: str, action: str, params: dict,
        outcome: str = "ok", client_addr: str | None = None,
    ) -> None:
        row = {"ts": chain.norm_ts(datetime.now(UTC)), "user_id": user_id, "role": role, "channel": channel,
               "action": action, "params": params, "outcome": outcome, "client_addr": client_addr}
        with self._chain_tx() as conn, conn.begin():
            self._lock(conn, PG_ACCESS_LOCK)  # appends serialised, like the records' chain (its own key)
            last = conn.execute(select(admin_access_log.c.row_hash).order_by(admin_access_log.c.seq.desc())
                                .limit(1)).scalar_one_or_none()
            prev = last or chain.GENESIS
            conn.execute(insert(admin_access_log).values(**row, prev_hash=prev, row_hash=chain.access_hash(prev, row)))

    @_store_errors
    def verify_access_log(self) -> ChainProblem | None:
        """Walk the access log's chain: the first row changed, deleted or inserted, or None."""
        prev, prev_seq = chain.GENESIS, None
        with self.engine.connect() as conn:
            for row in conn.execute(select(admin_access_log).order_by(admin_access_log.c.seq)).mappings():
                where = f"access-log row seq={row['seq']}"
                if row["row_hash"] != chain.access_hash(row["prev_hash"] or "", dict(row)):
                    return ChainProblem(row["seq"], None, "access_changed", f"{where}: content does not match its hash")
                if row["prev_hash"] != prev:
                    after = f"seq={prev_seq}" if prev_seq is not None else "the start of the log"
                    return ChainProblem(row["seq"], None, "access_unlinked",
                                        f"{where}: does not link to the row before it ({after}): a row was deleted")
                prev, prev_seq = row["row_hash"], row["seq"]
        return None

    @_store_errors
    def access_log(self, limit: int = 100, before: int | None = None, where=None) -> list[dict[str, Any]]:
        """The newest access-log rows (before ``seq`` ``before``, matching ``where``)."""
        return self._newest(admin_access_log, limit, before, where)

    @_store_errors
    def iter_access_log(self, where=None, batch: int | None = None) -> Iterator[dict[str, Any]]:
        """Every matching access-log row, oldest first, in keyset batches (an export's read)."""
        yield from self._keyset(admin_access_log, where, True, batch or BATCH)

    # -- browser path: warnings acknowledged (state beside the records, not in the chain) ---------
    @_store_errors
    def grant_ack(self, client: str, service_id: str, expires_at: datetime) -> None:
        """``client`` acknowledged ``service_id``'s warning until ``expires_at`` (a later grant replaces an
        earlier one); the expired rows are deleted on the way."""
        from sqlalchemy.dialects import postgresql, sqlite

        until = chain.norm_ts(expires_at)
        dialect_insert = postgresql.insert if self.is_pg else sqlite.insert
        stmt = dialect_insert(browser_acks).values(client=client, service_id=service_id, expires_at=until)
        stmt = stmt.on_conflict_do_update(index_elements=["client", "service_id"], set_={"expires_at": until})
        with self.engine.begin() as conn:
            conn.execute(delete(browser_acks).where(browser_acks.c.expires_at <= chain.norm_ts(datetime.now(UTC))))
            conn.execute(stmt)

    @_store_errors
    def ack_expiry(self, client: str, service_id: str) -> datetime | None:
        """Until when ``client``'s acknowledgement of ``service_id`` holds (None: there is none)."""
        with self.engine.connect() as conn:
            until = conn.execute(select(browser_acks.c.expires_at).where(
                browser_acks.c.client == client, browser_acks.c.service_id == service_id)).scalar_one_or_none()
        return chain.norm_ts(until) if until is not None else None

    # -- admin sessions ----------------------------------------------------------------------
    @_store_errors
    def open_session(self, id_hash: str, user_id: str, role: str, credential: str, expires_at: datetime) -> None:
        """Store a dashboard session (by the hash of its id); sessions already expired are deleted."""
        now = chain.norm_ts(datetime.now(UTC))
        with self.engine.begin() as conn:
            conn.execute(delete(admin_sessions).where(admin_sessions.c.expires_at <= now))
            conn.execute(insert(admin_sessions).values(id_hash=id_hash, user_id=user_id, role=role,
                                                       credential=credential, created_at=now,
                                                       expires_at=chain.norm_ts(expires_at)))

    @_store_errors
    def find_session(self, id_hash: str) -> dict[str, Any] | None:
        """The session stored under ``id_hash`` if it has not expired, else None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(admin_sessions).where(admin_sessions.c.id_hash == id_hash)).mappings().first()
        if row is None or chain.norm_ts(row["expires_at"]) <= datetime.now(UTC):
            return None
        return dict(row)

    @_store_errors
    def close_session(self, id_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(admin_sessions).where(admin_sessions.c.id_hash == id_hash))

    # -- the charter's acceptances -----------------------------------------------------------------
    @_store_errors
    def record_acceptance(self, row: dict[str, Any]) -> bool:
        """Record that ``row["subject"]`` accepted ``row["version"]`` of the charter; False when it
        already had (the first acceptance is kept)."""
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = postgresql if self.is_pg else sqlite
        stmt = dialect.insert(charter_acceptances).values({**row, "ts": chain.norm_ts(row.get("ts") or datetime.now(UTC))})
        with self.engine.begin() as conn:
            stmt = stmt.on_conflict_do_nothing(index_elements=["subject", "version"]).returning(charter_acceptances.c.seq)
            return conn.execute(stmt).first() is not None  # no row back: it was there already

    @_store_errors
    def has_accepted(self, subject: str, version: str) -> bool:
        q = select(charter_acceptances.c.seq).where(charter_acceptances.c.subject == subject,
                                                    charter_acceptances.c.version == version).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(q).first() is not None

    @_store_errors
    def acceptances(self, limit: int = 100, before: int | None = None, where=None) -> list[dict[str, Any]]:
        """The newest acceptances (before ``seq`` ``before``, matching ``where``)."""
        return self._newest(charter_acceptances, limit, before, where)

    def _newest(self, table, limit: int, before: int | None, where) -> list[dict[str, Any]]:
        """A page of a ``seq``-keyed table, newest first (keyset: rows before ``seq`` ``before``)."""
        q = select(table).order_by(table.c.seq.desc()).limit(limit)
        if before is not None:
            q = q.where(table.c.seq < before)
        if where is not None:
            q = q.where(where)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def dispose(self) -> None:
        """Write the queued outcomes, stop the outcome thread, close the connections."""
        thread = self._outcome_thread
        if thread is not None and thread.is_alive():
            self.flush()
            self._outcomes.put(None)
            thread.join(10)
        self._outcome_thread = None
        self.engine.dispose()


#: a queued outcome: record id, fields, what completes them on the outcome thread (or None)
_Outcome = tuple[str, dict[str, Any], Callable[[dict[str, Any]], None] | None]


def _outcome_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(chain.OUTCOME_FIELDS)
    if unknown:
        raise ValueError(f"not outcome fields: {sorted(unknown)}")
    return chain.normalise(fields)
