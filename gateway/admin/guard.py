"""The one way to the audit data on the admin listener: who is asking, whether their role may,
whether the query is valid, and the access-log entry, written before any data is returned.

Every read of the audit data (and every refused attempt) is written to ``admin_access_log`` first;
if that write fails, nothing is returned (503).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from fastapi import Depends, Request

from gateway.admin.auth import COOKIE, Authenticator, Principal
from gateway.audit import AuditError, AuditStore
from gateway.audit import query as Q
from gateway.config import CharterConfig, Config, SobrietyConfig
from gateway.limits import SlidingWindow
from policies.catalogue import Catalogue
from policies.discovery import Discovery

if TYPE_CHECKING:
    from gateway.live import Live

log = logging.getLogger("gardefou.admin")

#: The access log's channels.
API, DASHBOARD = "api", "dashboard"

PERMISSION_FR = {
    "audit.read": "consulter le journal d'audit",
    "access_log.read": "consulter le journal des accès (réservé au rôle admin)",
    "config.read": "consulter la configuration en service",
    "config.reload": "recharger la configuration (réservé au rôle admin)",
    "catalogue.draft": "préparer une fiche catalogue (rôles DPO et admin)",
}
MSG_401 = "Authentification requise : en-tête « Authorization: Bearer <jeton> » absent ou jeton invalide."
MSG_429 = "Trop de tentatives d'authentification depuis cette adresse : réessayez dans une minute."
MSG_503 = "Journal des accès indisponible : par sécurité, aucune donnée d'audit n'est communiquée."
MSG_STORE_503 = "Journal d'audit indisponible : la base d'audit ne répond pas. Réessayez dans quelques instants."


def no_record(record_id: str) -> str:
    return f"Aucun enregistrement d'audit avec l'identifiant « {record_id} »."


class Denied(Exception):
    """A refusal: answered as JSON under ``/admin/api/``, as a page elsewhere (see ``app.py``)."""

    def __init__(self, status: int, code: str, message: str, who: Principal | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.who = status, code, message, who


# -- query strings ------------------------------------------------------------------------------

#: Reads a query string (as a dict) into what a route needs; raises ``Q.FilterError`` (French message).
Parse = Callable[[dict[str, str]], Any]


class Invalid(Q.FilterError):
    """A refused query, with what was read of it before the bad value (the dashboard goes on with it)."""

    def __init__(self, message: str, kept: Any):
        super().__init__(message)
        self.kept = kept


def known(raw: dict[str, str], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise Q.FilterError(f"Paramètre inconnu : « {unknown[0]} ». Paramètres acceptés : {', '.join(allowed)}.")


PAGE_PARAMS = (*Q.FILTER_KEYS, "limit", "cursor")


@dataclass(frozen=True)
class PageQuery:
    filters: Q.Filters = Q.Filters()
    limit: int = 50
    cursor: int | None = None


def page_query(raw: dict[str, str], tz: tzinfo = UTC) -> PageQuery:
    """A list of decisions: filters, then limit and cursor (the API's and the dashboard's; the dashboard
    reads dates without an offset in Europe/Paris, the API in UTC)."""
    query = PageQuery()
    try:
        known(raw, PAGE_PARAMS)
        query = replace(query, filters=Q.parse_filters(raw, tz))
        query = replace(query, limit=Q.parse_limit(raw.get("limit")), cursor=Q.decode_cursor(raw.get("cursor")))
    except Q.FilterError as exc:
        raise Invalid(str(exc), query) from None
    return query


@dataclass(frozen=True)
class AccessLogQuery:
    filters: Q.AccessFilters = Q.AccessFilters()
    limit: int = 50
    cursor: int | None = None


ACCESS_LOG_PARAMS = (*Q.ACCESS_FILTER_KEYS, "limit", "cursor")


def access_log_query(raw: dict[str, str], tz: tzinfo = UTC, default_limit: int = 50) -> AccessLogQuery:
    """The access log's filters, limit and cursor (API and dashboard page)."""
    return _paged(AccessLogQuery(limit=default_limit), raw, ACCESS_LOG_PARAMS, Q.parse_access_filters, tz)


@dataclass(frozen=True)
class AcceptanceQuery:
    filters: Q.AcceptanceFilters = Q.AcceptanceFilters()
    limit: int = 100
    cursor: int | None = None


ACCEPTANCE_PARAMS = (*Q.ACCEPTANCE_FILTER_KEYS, "limit", "cursor")


def acceptance_query(raw: dict[str, str], tz: tzinfo = UTC, default_limit: int = 100) -> AcceptanceQuery:
    """The charter acceptances' filters, limit and cursor (API and dashboard page)."""
    return _paged(AcceptanceQuery(limit=default_limit), raw, ACCEPTANCE_PARAMS, Q.parse_acceptance_filters, tz)


def _paged(query, raw: dict[str, str], params: tuple[str, ...], parse_filters, tz: tzinfo):
    """``query`` (its default limit set) with the filters, limit and cursor of ``raw``; ``Invalid``
    (carrying what was read so far) for an unknown key or a bad value."""
    default_limit = query.limit
    try:
        known(raw, params)
        query = replace(query, filters=parse_filters(raw, tz))
        query = replace(query, limit=Q.parse_limit(raw.get("limit"), default_limit),
                        cursor=Q.decode_cursor(raw.get("cursor")))
    except Q.FilterError as exc:
        raise Invalid(str(exc), query) from None
    return query


# -- the guard ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Access:
    """A granted read: who, what their query asks, and (lenient guard only) why part of it was refused."""

    who: Principal
    query: Any = None
    error: str | None = None


class Admin:
    """What the admin routes share: the audit store, the authenticator, the failed-login limiter and,
    beside a gateway, its configuration in force (``live``: the reload)."""

    def __init__(self, config: Config, store: AuditStore, config_path: str | Path | None, live: Live | None = None):
        self.store = store
        self.live = live
        self._config = config
        self._catalogue = config.catalogue()
        self._discovery = config.discovery_list()
        self.auth = Authenticator(config, store, config_path)
        #: short-lived values shared by the dashboard's views (the filters' choices): name -> (expiry, value)
        self.cache: dict[str, tuple[float, Any]] = {}
        self.failures = SlidingWindow(limit=10, window=60.0, max_keys=10_000)  # failed credentials per address

    # beside a gateway, what a reload changes: its configuration in force
    @property
    def config(self) -> Config:
        return self.live.config if self.live is not None else self._config

    @property
    def catalogue(self) -> Catalogue:
        """Service names for the filters and labels."""
        return self.live.pipeline.catalogue if self.live is not None else self._catalogue

    @property
    def discovery(self) -> Discovery | None:
        """The AI hosts recognised outside the catalogue (None: discovery off)."""
        return self.live.pipeline.discovery if self.live is not None else self._discovery

    @property
    def charter(self) -> CharterConfig | None:
        """The charter's version in force, beside its acceptances."""
        return self.config.charter

    @property
    def sobriety(self) -> SobrietyConfig:
        return self.config.sobriety

    async def guard(self, request: Request, channel: str, action: str, permission: str, parse: Parse | None = None,
                    *, logged: dict | None = None, lenient: bool = False) -> Access:
        """Authorise, read the query string, write the access-log entry; raise :class:`Denied` otherwise.

        Without ``parse`` the query string is ignored. A query ``parse`` refuses is logged as sent
        (outcome ``invalid``) and answered 400, unless ``lenient``: then the request goes on with what
        :class:`Invalid` kept, and the message. The other entries log ``logged`` (default: the query string).
        """
        raw = dict(request.query_params)
        logged = raw if logged is None else logged
        who = await self.authorize(request, channel, action, permission, logged)
        try:
            query = parse(raw) if parse else None
        except Q.FilterError as exc:
            await self.log(request, who, channel, action, raw, "invalid")
            if lenient and isinstance(exc, Invalid):
                return Access(who, exc.kept, str(exc))
            raise Denied(400, "invalid_parameter", str(exc)) from None
        await self.log(request, who, channel, action, logged, "ok")
        return Access(who, query)

    async def identify(self, request: Request, channel: str) -> Principal | None:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            return self.auth.check_token(token.strip()) if scheme.lower() == "bearer" else None
        sid = request.cookies.get(COOKIE)
        if sid:  # the dashboard's session cookie (a row of the audit store), also on the export links
            return await anyio.to_thread.run_sync(self.auth.session, sid)
        return None

    async def authorize(self, request: Request, channel: str, action: str, permission: str,
                        params: dict) -> Principal:
        who = await self.identify(request, channel)
        if who is None:
            await self.unauthenticated(request, channel, action)
            raise Denied(401, "unauthenticated", MSG_401)
        if not who.can(permission):
            await self.log(request, who, channel, action, params, "denied")
            raise Denied(403, "forbidden", f"Votre rôle ({who.role}) ne permet pas de {PERMISSION_FR[permission]}.",
                         who)
        return who

    async def unauthenticated(self, request: Request, channel: str, action: str) -> None:
        """Record a failed authentication: the route only (a query string can hold a token), and
        refuse with 429 once an address has tried too many wrong credentials."""
        addr = (request.client.host if request.client else None) or ""
        if self.failures.retry_after(addr) is not None:
            raise Denied(429, "too_many_requests", MSG_429)
        if request.headers.get("authorization") or request.cookies.get(COOKIE) or action == "login":
            self.failures.hit(addr)  # a credential was tried: a guess counts, a bare visit does not
        await self.log(request, None, channel, action, {}, "unauthenticated")

    async def log(self, request: Request, who: Principal | None, channel: str, action: str, params: dict,
                  outcome: str) -> None:
        """Write the access-log entry; if it cannot be written, nothing is returned (503)."""
        entry = {
            "user_id": who.user_id if who else None, "role": who.role if who else None, "channel": channel,
            "action": action, "params": _safe_params(params), "outcome": outcome,
            "client_addr": request.client.host if request.client else None,
        }
        try:
            await anyio.to_thread.run_sync(lambda: self.store.log_access(**entry))
        except AuditError as exc:
            log.error("access log write failed: %s", exc)
            raise Denied(503, "access_log_unavailable", MSG_503) from None


def _safe_params(params: dict) -> dict:
    """What the access log keeps of a query: known parameter names, values cut to 64 characters."""
    return {str(k)[:32]: str(v)[:64] for k, v in list(params.items())[:20]}


def admin_of(request: Request) -> Admin:
    return request.app.state.admin


#: The routes' dependency on the listener's shared state.
AdminDep = Annotated[Admin, Depends(admin_of)]
