"""Audit tables (SQLAlchemy Core). Changes go through an Alembic migration in ``migrations/``."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
SeqType = BigInteger().with_variant(Integer(), "sqlite")

audit_records = Table(
    "audit_records",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("ts", DateTime(timezone=True), nullable=False, index=True),
    Column("client_id", String(128)),
    Column("department", String(128)),
    Column("client_addr", String(64)),
    Column("api", String(16), nullable=False),
    Column("endpoint", String(64), nullable=False),
    Column("service_id", String(64), index=True),
    Column("model", String(128)),
    Column("decision", String(8), nullable=False, index=True),
    Column("forwarded", Boolean, nullable=False),
    Column("rule_ids", JSON, nullable=False),
    Column("reasons", JSON, nullable=False),
    # ",personal,health," - delimited so that LIKE '%,health,%' filters portably.
    Column("categories", String(256), nullable=False),
    Column("finding_types", String(1024), nullable=False),
    # [{"type", "category", "part", "start", "end", "score"[, "fp"]}] - never a raw value.
    Column("findings", JSON, nullable=False),
    Column("prompt_parts", Integer, nullable=False),
    Column("prompt_chars", Integer, nullable=False),
    Column("status_code", Integer),
    Column("upstream_status", Integer),
    Column("upstream_error", String(64)),
    Column("inspect_ms", Float),
    Column("upstream_ms", Float),
    Column("total_ms", Float),
    Column("error", Text),
)
