"""Warnings acknowledged on the browser path: « Continuer » holds for a client and a service for
``proxy.ack_minutes``.

Kept in the audit database (table ``browser_acks``, migration 0010: client, service, expiry), so an
acknowledgement survives a restart and holds in every gateway process on that database; this
process keeps what it has read or granted in memory until it expires, and a lookup that found
nothing for ``MISS_SECONDS`` (an acknowledgement made through another process is seen within that
time). A store that cannot be read counts as no acknowledgement (the warning is shown again); one
that cannot be written refuses the acknowledgement (the ingress answers 503).

The button carries a token bound to the client and the service (an HMAC, valid ``TOKEN_SECONDS``),
so another site cannot acknowledge on someone's behalf by posting the form for them. Its key is
derived from the audit key (``audit.fingerprint_key_env``) when one is configured, so that every
process checks the tokens of the others; without it, it is drawn at start-up (a page shown before a
restart asks to reload).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Protocol

import anyio

from gateway.audit import AuditError

log = logging.getLogger("gardefou.proxy")

TOKEN_SECONDS = 15 * 60
MISS_SECONDS = 5.0
MAX_ENTRIES = 100_000


class AckStore(Protocol):
    """What acknowledgements need of the audit store (``AuditStore``, ``MemoryStore`` in tests)."""

    def grant_ack(self, client: str, service_id: str, expires_at: datetime) -> None: ...

    def ack_expiry(self, client: str, service_id: str) -> datetime | None: ...


def client_key(credential: str | None, address: str | None) -> str:
    """Who acknowledged: the proxy credential presented (hashed, never kept as is), else the address."""
    if credential:
        return "cred:" + hashlib.sha256(credential.encode()).hexdigest()[:32]
    return f"addr:{address or '?'}"


def token_key(audit_key: bytes | None) -> bytes:
    """The key of the buttons' tokens: derived from the audit key, else drawn for this process."""
    if audit_key:
        return hmac.new(audit_key, b"gardefou browser acknowledgement token", hashlib.sha256).digest()
    return secrets.token_bytes(32)


class Acknowledgements:
    def __init__(self, minutes: int, store: AckStore | None = None, key: bytes | None = None):
        self.ttl = minutes * 60
        #: where acknowledgements are kept (None: this process's memory only)
        self.store = store
        self._until: dict[tuple[str, str], float] = {}  # (who, service) -> expiry, epoch seconds
        self._missed: dict[tuple[str, str], float] = {}  # (who, service) -> when the store had none (monotonic)
        self._key = key or secrets.token_bytes(32)

    async def holds(self, who: str, service_id: str | None) -> bool:
        if service_id is None:
            return False
        entry = (who, service_id)
        until = self._until.get(entry)
        if until is not None and until > time.time():
            return True
        missed = self._missed.get(entry)
        if self.store is None or (missed is not None and time.monotonic() - missed < MISS_SECONDS):
            return False
        try:
            expires = await anyio.to_thread.run_sync(self.store.ack_expiry, who, service_id)
        except AuditError as exc:
            log.warning("acknowledgements unreadable (%s): the warning is shown again", exc)
            return False
        if expires is not None and expires.timestamp() > time.time():
            _bounded(self._until)[entry] = expires.timestamp()
            return True
        _bounded(self._missed)[entry] = time.monotonic()
        return False

    async def grant(self, who: str, service_id: str) -> None:
        """Record the acknowledgement (raises ``AuditError`` when the store cannot keep it)."""
        until = time.time() + self.ttl
        if self.store is not None:
            await anyio.to_thread.run_sync(self.store.grant_ack, who, service_id, datetime.fromtimestamp(until, UTC))
        self._missed.pop((who, service_id), None)
        _bounded(self._until)[(who, service_id)] = until

    def token(self, who: str, service_id: str) -> str:
        expires = int(time.time()) + TOKEN_SECONDS
        return f"{expires}.{self._mac(who, service_id, expires)}"

    def check(self, token: str, who: str, service_id: str) -> bool:
        expires_s, _, mac = token.partition(".")
        if not expires_s.isdigit() or int(expires_s) < time.time():
            return False
        return hmac.compare_digest(mac, self._mac(who, service_id, int(expires_s)))

    def _mac(self, who: str, service_id: str, expires: int) -> str:
        return hmac.new(self._key, f"{who}\0{service_id}\0{expires}".encode(), hashlib.sha256).hexdigest()


def _bounded(cache: dict) -> dict:
    """``cache``, emptied when full (forgetting is the safe side: the store is asked again)."""
    if len(cache) >= MAX_ENTRIES:
        cache.clear()
    return cache
