"""Warnings acknowledged on the browser path: « Continuer » holds for a client and a service for
``proxy.ack_minutes``.

Kept in this process's memory: after a restart people acknowledge again (the safe side), and several
gateway processes do not share acknowledgements. The button carries a token bound to the client and
the service (HMAC with a key drawn at start-up, valid ``TOKEN_SECONDS``), so another site cannot
acknowledge on someone's behalf by posting the form for them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

TOKEN_SECONDS = 15 * 60
MAX_ENTRIES = 100_000


def client_key(credential: str | None, address: str | None) -> str:
    """Who acknowledged: the proxy credential presented (hashed, never kept as is), else the address."""
    if credential:
        return "cred:" + hashlib.sha256(credential.encode()).hexdigest()[:32]
    return f"addr:{address or '?'}"


class Acknowledgements:
    def __init__(self, minutes: int):
        self.ttl = minutes * 60
        self._until: dict[tuple[str, str], float] = {}
        self._key = secrets.token_bytes(32)

    def holds(self, who: str, service_id: str | None) -> bool:
        if service_id is None:
            return False
        until = self._until.get((who, service_id))
        return until is not None and until > time.monotonic()

    def grant(self, who: str, service_id: str) -> None:
        now = time.monotonic()
        if len(self._until) >= MAX_ENTRIES:
            self._until = {k: v for k, v in self._until.items() if v > now}
            if len(self._until) >= MAX_ENTRIES:  # still full: forgetting is the safe side
                self._until.clear()
        self._until[(who, service_id)] = now + self.ttl

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
