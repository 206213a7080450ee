"""Audit store on SQLAlchemy 2: SQLite (WAL) embedded by default, PostgreSQL in production.

Records are hash-chained (see :mod:`gateway.audit.chain`). Appends are serialised so that the chain
follows commit order even with several gateway instances on one PostgreSQL database.
"""

from __future__ import annotations

import functools
import hmac
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, delete, event, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.audit import chain
from gateway.audit.schema import admin_access_log, audit_anchors, audit_records, charter_acceptances, readiness_probe

# Hot-path statements, built once so SQLAlchemy's compiled cache serves them (values bound per call).
_INSERT = insert(audit_records)
_HEAD = select(audit_records.c.seq, audit_records.c.record_hash).order_by(audit_records.c.seq.desc()).limit(1)
_OUTCOME_ROW = select(audit_records.c.record_hash, *[audit_records.c[k] for k in chain.OUTCOME_FIELDS]).where(
    audit_records.c.id == bindparam("_rid")
)
_OUTCOME_ROW_LOCKED = _OUTCOME_ROW.with_for_update()
_OUTCOME_UPDATE = update(audit_records).where(audit_records.c.id == bindparam("_rid"))

MIGRATIONS = Path(__file__).with_name("migrations")

#: Advisory lock key serialising chain appends on PostgreSQL ("gardefou" in ASCII).
PG_CHAIN_LOCK = 0x6761726465666F75
PG_ACCESS_LOCK = PG_CHAIN_LOCK + 1

BATCH = 1000


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
    immediate = conn.get_execution_options().get("gardefou_immediate")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, pool_timeout=10)
    event.listen(engine, "connect", _pg_timeouts)
    return engine


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
    def __init__(self, url: str, anchor_key: bytes | None = None):
        self.url = url
        #: key of the purge anchors' HMAC (the audit fingerprint key); None: anchors are unkeyed
        self.anchor_key = anchor_key
        try:
            self.engine = make_engine(url)
        except SQLAlchemyError as exc:
            raise AuditError(type(exc).__name__) from exc
        self.is_pg = self.engine.dialect.name == "postgresql"
        #: what a database failure looks like: SQLAlchemy's errors, and the driver's should one escape
        self._db_errors = (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except self._db_errors as exc:
            raise AuditError(type(exc).__name__) from exc

    @_store_errors
    def migrate(self) -> None:
        """Bring the schema to the latest Alembic revision."""
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

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

    def _lock(self, conn: Connection, key: int = PG_CHAIN_LOCK) -> None:
        if self.is_pg:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def _lock_and_head(self, conn: Connection) -> tuple[int, str]:
        """Take the chain lock, then read the head (PostgreSQL: one round trip, see migration 0002)."""
        if self.is_pg:
            last = conn.execute(text("SELECT head_seq, head_hash FROM gardefou_chain_head(:k)"),
                                {"k": PG_CHAIN_LOCK}).first()
            return (last[0], last[1]) if last is not None else self._anchor_head(conn)
        return self._head(conn)  # SQLite: BEGIN IMMEDIATE already holds the write lock

    def _head(self, conn: Connection) -> tuple[int, str]:
        """(seq, hash) of the chain's last link: the last record, else the last purge anchor."""
        last = conn.execute(_HEAD).first()
        if last is not None:
            return last[0], last[1]
        return self._anchor_head(conn)

    def _anchor_head(self, conn: Connection) -> tuple[int, str]:
        anchor = conn.execute(
            select(audit_anchors.c.through_seq, audit_anchors.c.last_hash)
            .order_by(audit_anchors.c.through_seq.desc()).limit(1)
        ).first()
        return (anchor[0], anchor[1]) if anchor else (0, chain.GENESIS)

    @_store_errors
    def insert(self, record: dict[str, Any]) -> None:
        rec = chain.normalise(record)
        with self._chain_tx() as conn, conn.begin():
            last_seq, prev = self._lock_and_head(conn)
            prev = prev or ""  # a row slipped in without a hash: keep recording, verify reports it
            if not self.is_pg:  # SQLite would reuse seq numbers after a purge emptied the table
                rec["seq"] = last_seq + 1
            rec_hash = chain.record_hash(prev, rec)
            rec.update(prev_hash=prev, record_hash=rec_hash, outcome_hash=chain.outcome_hash(rec_hash, rec))
            conn.execute(_INSERT, rec)

    @_store_errors
    def complete(self, record_id: str, fields: dict[str, Any]) -> None:
        """Add what is known after the response (upstream outcome, latencies); rehash the outcome."""
        unknown = set(fields) - set(chain.OUTCOME_FIELDS)
        if unknown:
            raise ValueError(f"not outcome fields: {sorted(unknown)}")
        fields = chain.normalise(fields)
        with self._chain_tx() as conn, conn.begin():  # SQLite: take the write lock before reading
            stmt = _OUTCOME_ROW_LOCKED if self.is_pg else _OUTCOME_ROW
            row = conn.execute(stmt, {"_rid": record_id}).mappings().first()
            if row is None:
                raise AuditError(f"unknown record {record_id}")
            merged = {**dict(row), **fields}
            fields["outcome_hash"] = chain.outcome_hash(row["record_hash"], merged)
            conn.execute(_OUTCOME_UPDATE, {**fields, "_rid": record_id})

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
        q = select(admin_access_log).order_by(admin_access_log.c.seq.desc()).limit(limit)
        if before is not None:
            q = q.where(admin_access_log.c.seq < before)
        if where is not None:
            q = q.where(where)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    @_store_errors
    def iter_access_log(self, where=None, batch: int | None = None) -> Iterator[dict[str, Any]]:
        """Every matching access-log row, oldest first, in keyset batches (an export's read)."""
        yield from self._keyset(admin_access_log, where, True, batch or BATCH)

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
        q = select(charter_acceptances).order_by(charter_acceptances.c.seq.desc()).limit(limit)
        if before is not None:
            q = q.where(charter_acceptances.c.seq < before)
        if where is not None:
            q = q.where(where)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def dispose(self) -> None:
        self.engine.dispose()
