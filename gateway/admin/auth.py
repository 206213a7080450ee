"""Admin authentication and roles.

Role matrix (who may do what on the admin listener):

=====================  =====  =====  =====
permission             dpo    rssi   admin
=====================  =====  =====  =====
audit.read             yes    yes    yes     decisions, detail, stats, CSV/JSONL exports, dashboard
access_log.read        no     no     yes     the log of who read the audit data
config.read            yes    yes    yes     the configuration in force (generation, SHA-256, workers)
config.reload          no     no     yes     reload the configuration file (POST /admin/api/reload)
=====================  =====  =====  =====

API clients send ``Authorization: Bearer <token>``. The dashboard uses a login form: the token is
POSTed once, checked, and exchanged for a random session id kept in an ``HttpOnly; SameSite=Strict;
Path=/admin`` cookie (``Secure`` behind HTTPS). The token itself is never stored by the browser, never
appears in a URL (so neither in history nor in proxy logs), and no script can read the cookie; the
dashboard has no JavaScript at all (CSP ``script-src 'none'``). Sessions live in memory (8 h),
so a restart logs everybody out. Only SHA-256 hashes of tokens are kept in the configuration.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.config import AdminUser, Config, hash_key, load_config

ROLE_MATRIX: dict[str, frozenset[str]] = {
    "audit.read": frozenset({"dpo", "rssi", "admin"}),
    "access_log.read": frozenset({"admin"}),
    "config.read": frozenset({"dpo", "rssi", "admin"}),
    "config.reload": frozenset({"admin"}),
}
SESSION_TTL_S = 8 * 3600
COOKIE = "gardefou_admin"


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str

    def can(self, permission: str) -> bool:
        return self.role in ROLE_MATRIX[permission]


class Authenticator:
    """Token and session checks. With ``config_path``, users added by ``gardefou admin add-user``
    are picked up without a restart (the file is re-read when it changes)."""

    def __init__(self, config: Config, config_path: str | Path | None = None):
        self._users = list(config.admins)
        self._path = Path(config_path) if config_path else None
        self._mtime = self._path.stat().st_mtime if self._path and self._path.exists() else None
        self._sessions: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def _reload(self) -> None:
        if not self._path:
            return
        try:
            mtime = self._path.stat().st_mtime
        except OSError:
            return
        if mtime != self._mtime:
            self._mtime = mtime
            try:
                self._users = list(load_config(self._path).admins)
            except Exception:  # a broken file keeps the users already loaded
                pass

    def check_token(self, token: str) -> Principal | None:
        if not token:
            return None
        self._reload()
        digest = hash_key(token)
        found: AdminUser | None = None
        for user in self._users:  # constant-time comparison against every user
            if hmac.compare_digest(user.token_sha256, digest):
                found = user
        return Principal(found.id, found.role) if found else None

    def open_session(self, principal: Principal) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._sessions = {k: v for k, v in self._sessions.items() if v[1] > now}
            self._sessions[hash_key(sid)] = (principal, now + SESSION_TTL_S)
        return sid

    def session(self, sid: str | None) -> Principal | None:
        if not sid:
            return None
        with self._lock:
            entry = self._sessions.get(hash_key(sid))
        if entry is None or entry[1] < time.monotonic():
            return None
        # a user removed from the configuration loses their sessions
        self._reload()
        if not any(u.id == entry[0].user_id and u.role == entry[0].role for u in self._users):
            return None
        return entry[0]

    def close_session(self, sid: str | None) -> None:
        if sid:
            with self._lock:
                self._sessions.pop(hash_key(sid), None)
