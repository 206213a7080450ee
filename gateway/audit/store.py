"""Audit store on SQLAlchemy 2: SQLite (WAL) embedded by default, PostgreSQL in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.audit.schema import audit_records

_INSERT = insert(audit_records)  # compiled once, values bound per call

MIGRATIONS = Path(__file__).with_name("migrations")


class AuditError(Exception):
    """The audit store could not record: the request must be refused (fail closed)."""


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


class AuditStore:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)

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
        """True when the store answers and is writable."""
        try:
            with self.engine.begin() as conn:
                conn.execute(text("SELECT 1"))
                conn.execute(select(audit_records.c.seq).limit(1))
            return True
        except SQLAlchemyError:
            return False

    def insert(self, record: dict[str, Any]) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(_INSERT, record)
        except SQLAlchemyError as exc:
            raise AuditError(type(exc).__name__) from exc

    def complete(self, record_id: str, fields: dict[str, Any]) -> None:
        """Add what is known after the response (upstream outcome, latencies)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(update(audit_records).where(audit_records.c.id == record_id).values(**fields))
        except SQLAlchemyError as exc:
            raise AuditError(type(exc).__name__) from exc

    def get(self, record_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(audit_records).where(audit_records.c.id == record_id)).mappings().first()
        return dict(row) if row else None

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit_records).order_by(audit_records.c.seq.desc()).limit(limit)).mappings()
            return [dict(r) for r in rows]

    def dispose(self) -> None:
        self.engine.dispose()
