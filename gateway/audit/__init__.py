"""The audit store: one record per request, committed before the response is sent."""

from gateway.audit.store import AuditError, AuditStore

__all__ = ["AuditError", "AuditStore"]
