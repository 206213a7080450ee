"""Audit tables (SQLAlchemy Core). Changes go through an Alembic migration in ``migrations/``."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
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
    Column("host", String(255)),  # browser path: the destination host (migration 0006)
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
    Column("finding_counts", JSON),  # exact count per type; ``findings`` is bounded
    Column("prompt_parts", Integer, nullable=False),
    Column("prompt_chars", Integer, nullable=False),
    Column("status_code", Integer),
    Column("upstream_status", Integer),
    Column("upstream_error", String(64)),
    Column("inspect_ms", Float),
    Column("upstream_ms", Float),
    Column("total_ms", Float),
    # browser path, a tunnelled connection: bytes each way (migration 0006; total_ms is its duration)
    Column("bytes_up", BigInteger),
    Column("bytes_down", BigInteger),
    Column("error", Text),
    # sobriety (migration 0008): messages in the request and a notice given with the answer (core fields);
    # the provider's token counts and the energy / CO2e estimate of the answer (outcome fields)
    Column("prompt_messages", Integer),
    Column("notice", String(32)),  # long_conversation
    Column("input_tokens", Integer),
    Column("output_tokens", Integer),
    Column("energy_wh", Float),
    Column("gco2e_g", Float),
    Column("impact_status", String(16)),  # estimated | unknown_model | no_usage
    Column("impact_method", String(32)),  # "ecologits 0.11.3"
    # Integrity (migration 0002): see gateway/audit/chain.py.
    Column("prev_hash", String(64)),
    Column("record_hash", String(64)),
    Column("outcome_hash", String(64)),
)

#: One row per purge: the chain resumes after ``through_seq`` from ``last_hash``.
audit_anchors = Table(
    "audit_anchors",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("through_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("purged", Integer, nullable=False),
    Column("older_than", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("mac", String(64)),  # HMAC of the anchor with the audit key, when one is configured
)

#: Every read of the audit data (API, dashboard, command line): who, when, what.
admin_access_log = Table(
    "admin_access_log",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False, index=True),
    Column("user_id", String(128)),
    Column("role", String(16)),
    Column("channel", String(16), nullable=False),  # api | dashboard | cli
    Column("action", String(64), nullable=False),
    Column("params", JSON, nullable=False),
    Column("outcome", String(16), nullable=False),  # ok | denied | unauthenticated | invalid
    Column("client_addr", String(64)),
    Column("prev_hash", String(64)),  # hash chain of the access log (migration 0005)
    Column("row_hash", String(64)),
)

#: The dashboard's login sessions (migration 0007), shared by every instance on the store. Only the
#: SHA-256 of the session id is kept; ``credential`` is a digest of the token the session was opened
#: with, so that a rotated token ends it. Not hash-chained: credentials, not audit data.
admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("credential", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

#: The institution's charter accepted (migration 0008): who (``subject``: ``client:ID`` or ``adresse:IP``),
#: when, which version, through which ingress and how; one row per subject and version.
charter_acceptances = Table(
    "charter_acceptances",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False, index=True),
    Column("subject", String(200), nullable=False),
    Column("client_id", String(128)),
    Column("department", String(128)),
    Column("client_addr", String(64)),
    Column("version", String(64), nullable=False),
    Column("channel", String(16), nullable=False),  # api | browser
    Column("method", String(16), nullable=False),  # header | endpoint | page
    Column("audit_id", String(36)),  # the audit record of the request that accepted
    UniqueConstraint("subject", "version", name="uq_charter_subject_version"),
)

#: One row rewritten by the readiness probe (``AuditStore.ping``): proves the store takes writes.
readiness_probe = Table(
    "readiness_probe",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ts", DateTime(timezone=True), nullable=False),
)

#: Browser path: the warnings acknowledged with « Continuer » (migration 0010), per client and service
#: until ``expires_at``. State beside the records, not in the chain (the acknowledgement is a record).
browser_acks = Table(
    "browser_acks",
    metadata,
    Column("client", String(128), nullable=False),  # gateway.proxy.acks.client_key: hashed credential or address
    Column("service_id", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("client", "service_id"),
    Index("ix_browser_acks_expires_at", "expires_at"),
)
