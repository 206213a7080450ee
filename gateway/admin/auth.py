"""Admin authentication and roles.

Role matrix (who may do what on the admin listener):

=====================  =====  =====  =====
permission             dpo    rssi   admin
=====================  =====  =====  =====
audit.read             yes    yes    yes     decisions, detail, stats, CSV/JSONL exports, dashboard
access_log.read        no     no     yes     the log of who read the audit data
config.read            yes    yes    yes     the configuration in force (generation, SHA-256, workers)
config.reload          no     no     yes     reload the configuration file (POST /admin/api/reload)
catalogue.draft        yes    no     yes     write a draft catalogue entry (discovery page) to review
=====================  =====  =====  =====

API clients send ``Authorization: Bearer <token>``. The dashboard uses a login form: the token is
POSTed once, checked, and exchanged for a random session id kept in an ``HttpOnly; SameSite=Strict;
Path=/admin`` cookie (``Secure`` behind HTTPS). The token itself is never stored by the browser, never
appears in a URL (so neither in history nor in proxy logs), and no script can read the cookie; the
dashboard has no JavaScript at all (CSP ``script-src 'none'``). Sessions (8 h from the login) are
rows of the audit store's ``admin_sessions`` table (migration 0007), kept by the SHA-256 of their id:
a restart keeps them and every instance on the store accepts them; logging out deletes the row. A
session ends with its user: removed from the configuration, given another role, or given a new token
(``gardefou admin rotate-token``). Only SHA-256 hashes of tokens are kept in the configuration.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.audit import AuditStore
from gateway.config import AdminUser, Config, hash_key, load_config

ROLE_MATRIX: dict[str, frozenset[str]] = {
    "audit.read": frozenset({"dpo", "rssi", "admin"}),
    "access_log.read": frozenset({"admin"}),
    "config.read": frozenset({"dpo", "rssi", "admin"}),
    "config.reload": frozenset({"admin"}),
    "catalogue.draft": frozenset({"dpo", "admin"}),
}
SESSION_TTL_S = 8 * 3600
COOKIE = "gardefou_admin"


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str

    def can(self, permission: str) -> bool:
        return self.role in ROLE_MATRIX[permission]


def _credential(user: AdminUser) -> str:
    """What a session remembers of the token it was opened with (a digest of its digest)."""
    return hash_key("session:" + user.token_sha256)


class Authenticator:
    """Token and session checks. With ``config_path``, users added, removed or given a new token by
    ``gardefou admin ...`` are picked up without a restart (the file is re-read when it changes).
    Sessions are stored in ``store``; its methods raise :class:`~gateway.audit.AuditError` when the
    store fails (the request is then refused, 503)."""

    def __init__(self, config: Config, store: AuditStore, config_path: str | Path | None = None):
        self._users = list(config.admins)
        self._store = store
        self._path = Path(config_path) if config_path else None
        self._stamp = self._stamp_of(self._path)

    @staticmethod
    def _stamp_of(path: Path | None) -> tuple[int, int, int] | None:
        """What tells a changed file (an atomic replace changes the inode, an edit the time or size)."""
        try:
            st = path.stat() if path else None
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_ino, st.st_size) if st else None

    def _reload(self) -> None:
        if not self._path:
            return
        stamp = self._stamp_of(self._path)
        if stamp is not None and stamp != self._stamp:
            self._stamp = stamp
            try:
                self._users = list(load_config(self._path).admins)
            except Exception:  # a broken file keeps the users already loaded
                pass

    def _user(self, token: str) -> AdminUser | None:
        if not token:
            return None
        self._reload()
        digest = hash_key(token)
        found: AdminUser | None = None
        for user in self._users:  # constant-time comparison against every user
            if hmac.compare_digest(user.token_sha256, digest):
                found = user
        return found

    def check_token(self, token: str) -> Principal | None:
        user = self._user(token)
        return Principal(user.id, user.role) if user else None

    def open_session(self, token: str) -> tuple[Principal, str] | None:
        """Check ``token`` and open a session for its user: (who, session id), or None."""
        user = self._user(token)
        if user is None:
            return None
        sid = secrets.token_urlsafe(32)
        self._store.open_session(hash_key(sid), user.id, user.role, _credential(user),
                                 datetime.now(UTC) + timedelta(seconds=SESSION_TTL_S))
        return Principal(user.id, user.role), sid

    def session(self, sid: str | None) -> Principal | None:
        if not sid:
            return None
        row = self._store.find_session(hash_key(sid))  # None once expired
        if row is None:
            return None
        # a user removed from the configuration, given another role or a new token loses their sessions
        self._reload()
        for user in self._users:
            if user.id == row["user_id"] and user.role == row["role"] \
                    and hmac.compare_digest(_credential(user), row["credential"]):
                return Principal(user.id, user.role)
        return None

    def close_session(self, sid: str | None) -> None:
        if sid:
            self._store.close_session(hash_key(sid))
