"""The admin listener: JSON API and server-rendered dashboard over the audit store.

Every read of the audit data (and every refused attempt) is written to ``admin_access_log`` before
any data is returned; if that write fails, nothing is returned (503).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.admin import charts
from gateway.admin.auth import COOKIE, SESSION_TTL_S, Authenticator, Principal
from gateway.audit import AuditError, AuditStore
from gateway.audit import query as Q
from gateway.config import Config
from gateway.limits import SlidingWindow
from policies.vocabulary import CATEGORY_LABELS_FR, DECISION_LABELS_FR, DECISION_PLURALS_FR

log = logging.getLogger("gardefou.admin")

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
PERMISSION_FR = {
    "audit.read": "consulter le journal d'audit",
    "access_log.read": "consulter le journal des accès (réservé au rôle admin)",
}
DEFAULT_DAYS = 30
MSG_401 = "Authentification requise : en-tête « Authorization: Bearer <jeton> » absent ou jeton invalide."
MSG_503 = "Journal des accès indisponible : par sécurité, aucune donnée d'audit n'est communiquée."


class Denied(Exception):
    def __init__(self, status: int, code: str, message: str, who: Principal | None = None):
        self.status, self.code, self.message, self.who = status, code, message, who


def _err(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


MSG_429 = "Trop de tentatives d'authentification depuis cette adresse : réessayez dans une minute."


def _same_origin(request: Request) -> bool:
    """A form post from this listener's own pages. Browsers say where a request comes from in
    ``Sec-Fetch-Site``; older ones in ``Origin`` (``null`` under this site's no-referrer policy, so
    only a real origin is compared) or ``Referer``. A client that sends none of them is no browser."""
    from urllib.parse import urlsplit

    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == host
    referer = request.headers.get("referer")
    return referer is None or urlsplit(referer).netloc == host


def _safe_params(params: dict) -> dict:
    """What the access log keeps of a query: known parameter names, values cut to 64 characters."""
    return {str(k)[:32]: str(v)[:64] for k, v in list(params.items())[:20]}


class Admin:
    def __init__(self, config: Config, store: AuditStore, config_path: str | Path | None):
        self.config = config
        self.store = store
        self.failures = SlidingWindow(limit=10, window=60.0, max_keys=10_000)  # failed credentials per address
        self.auth = Authenticator(config, config_path)
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
            trim_blocks=True, lstrip_blocks=True,
        )
        self.templates.globals.update(
            decision_fr=DECISION_LABELS_FR, decision_plural_fr=DECISION_PLURALS_FR, category_fr=CATEGORY_LABELS_FR, fmt_ts=fmt_ts,
            categories=Q.CATEGORIES, decisions=Q.DECISIONS,
        )

    # -- access control + access log ---------------------------------------------------------
    def identify(self, request: Request, channel: str) -> Principal | None:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            return self.auth.check_token(token.strip()) if scheme.lower() == "bearer" else None
        if channel == "dashboard" or request.cookies.get(COOKIE):
            return self.auth.session(request.cookies.get(COOKIE))
        return None

    async def log(self, request: Request, who: Principal | None, channel: str, action: str, params: dict,
                  outcome: str) -> None:
        addr = request.client.host if request.client else None
        try:
            await anyio.to_thread.run_sync(lambda: self.store.log_access(
                user_id=who.user_id if who else None, role=who.role if who else None, channel=channel,
                action=action, params=_safe_params(params), outcome=outcome, client_addr=addr,
            ))
        except AuditError as exc:
            log.error("access log write failed: %s", exc)
            raise Denied(503, "access_log_unavailable", MSG_503) from None

    async def authorize(self, request: Request, channel: str, action: str, permission: str,
                        params: dict) -> Principal:
        who = self.identify(request, channel)
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

    def render(self, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(self.templates.get_template(name).render(**ctx), status_code=status)


def fmt_ts(ts) -> str:
    if ts is None:
        return ""
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    return Q.norm_ts(ts).strftime("%Y-%m-%d %H:%M:%S")


def _query_params(request: Request, allowed: tuple[str, ...]) -> dict[str, str]:
    params = dict(request.query_params)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise Q.FilterError(f"Paramètre inconnu : « {unknown[0]} ». Paramètres acceptés : {', '.join(allowed)}.")
    return params


def create_admin_app(config: Config, store: AuditStore | None = None,
                     config_path: str | Path | None = None) -> FastAPI:
    own_store = store is None
    if store is None:
        store = AuditStore(config.audit.url)
        store.migrate()
    admin = Admin(config, store, config_path)
    app = FastAPI(title="Garde-fou — revue d'audit", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.admin = admin
    if own_store:
        app.router.on_shutdown.append(store.dispose)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        resp = await call_next(request)
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.exception_handler(Denied)
    async def denied(request: Request, exc: Denied):
        if request.url.path.startswith("/admin/api/"):
            headers = {"WWW-Authenticate": 'Bearer realm="gardefou-admin"'} if exc.status == 401 else None
            return _err(exc.status, exc.code, exc.message, headers)
        if exc.status == 401:
            return RedirectResponse("/admin/login", status_code=303)
        return admin.render("error.html", status=exc.status, message=exc.message, who=exc.who)

    # -- JSON API ----------------------------------------------------------------------------
    async def api_guard(request: Request, action: str, permission: str, allowed: tuple[str, ...]):
        raw = dict(request.query_params)
        who = await admin.authorize(request, "api", action, permission, raw)
        try:
            params = _query_params(request, allowed)
            filters = Q.parse_filters(params)
        except Q.FilterError as exc:
            await admin.log(request, who, "api", action, raw, "invalid")
            raise Denied(400, "invalid_parameter", str(exc)) from None
        return who, params, filters

    list_params = (*Q.FILTER_KEYS, "limit", "cursor")

    @app.get("/admin/api/decisions")
    async def decisions(request: Request):
        who, params, filters = await api_guard(request, "decisions.list", "audit.read", list_params)
        try:
            limit, cursor = Q.parse_limit(params.get("limit")), Q.decode_cursor(params.get("cursor"))
        except Q.FilterError as exc:
            await admin.log(request, who, "api", "decisions.list", params, "invalid")
            raise Denied(400, "invalid_parameter", str(exc)) from None
        await admin.log(request, who, "api", "decisions.list", params, "ok")
        rows, nxt = await anyio.to_thread.run_sync(Q.page, store, filters, limit, cursor)
        return {"items": [Q.to_json(r) for r in rows], "next_cursor": nxt, "limit": limit,
                "filters": filters.as_params()}

    @app.get("/admin/api/decisions/{record_id}")
    async def decision(request: Request, record_id: str):
        who, _, _ = await api_guard(request, "decisions.get", "audit.read", ())
        await admin.log(request, who, "api", "decisions.get", {"id": record_id}, "ok")
        rec = await anyio.to_thread.run_sync(store.get, record_id)
        if rec is None:
            return _err(404, "not_found", f"Aucun enregistrement d'audit avec l'identifiant « {record_id} ».")
        return Q.to_json(rec)

    @app.get("/admin/api/stats")
    async def stats(request: Request):
        who, params, filters = await api_guard(request, "stats", "audit.read", (*Q.FILTER_KEYS, "group_by", "limit"))
        try:
            limit = Q.parse_limit(params.get("limit"), default=0) if params.get("limit") else None
            group_by = params.get("group_by", "day")
            if group_by not in Q.GROUP_BY:
                raise Q.FilterError(f"Paramètre « group_by » invalide : valeurs possibles {', '.join(Q.GROUP_BY)}.")
        except Q.FilterError as exc:
            await admin.log(request, who, "api", "stats", params, "invalid")
            raise Denied(400, "invalid_parameter", str(exc)) from None
        await admin.log(request, who, "api", "stats", params, "ok")
        return await anyio.to_thread.run_sync(Q.stats, store, filters, group_by, limit)

    def _export(kind: str):
        async def export(request: Request):
            who, params, filters = await api_guard(request, f"export.{kind}", "audit.read", Q.FILTER_KEYS)
            await admin.log(request, who, "api", f"export.{kind}", params, "ok")
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            headers = {"Content-Disposition": f'attachment; filename="gardefou-audit-{stamp}.{kind}"'}
            if kind == "csv":
                return StreamingResponse(Q.export_csv(store, filters), media_type="text/csv; charset=utf-8",
                                         headers=headers)
            return StreamingResponse(Q.export_jsonl(store, filters), media_type="application/x-ndjson",
                                     headers=headers)
        return export

    app.get("/admin/api/export.csv")(_export("csv"))
    app.get("/admin/api/export.jsonl")(_export("jsonl"))

    @app.get("/admin/api/access-log")
    async def access_log(request: Request):
        raw = dict(request.query_params)
        who = await admin.authorize(request, "api", "access_log.list", "access_log.read", raw)
        try:
            params = _query_params(request, ("limit", "cursor"))
            limit, cursor = Q.parse_limit(params.get("limit")), Q.decode_cursor(params.get("cursor"))
        except Q.FilterError as exc:
            await admin.log(request, who, "api", "access_log.list", raw, "invalid")
            raise Denied(400, "invalid_parameter", str(exc)) from None
        await admin.log(request, who, "api", "access_log.list", params, "ok")
        rows = await anyio.to_thread.run_sync(lambda: store.access_log(limit + 1, cursor))
        nxt = Q.encode_cursor(rows[limit - 1]["seq"]) if len(rows) > limit else None
        return {"items": [{**r, "ts": Q.iso(r["ts"])} for r in rows[:limit]], "next_cursor": nxt, "limit": limit}

    # -- dashboard ---------------------------------------------------------------------------
    @app.get("/admin", include_in_schema=False)
    async def admin_root():
        return RedirectResponse("/admin/", status_code=307)

    @app.get("/admin/login", response_class=HTMLResponse)
    async def login_form(request: Request):
        return admin.render("login.html", error=None, who=None)

    @app.post("/admin/login")
    async def login(request: Request):
        if not _same_origin(request):  # login CSRF: a foreign page must not log a browser in
            return admin.render("login.html", status=403, error="Origine de la requête refusée.", who=None)
        raw_body = b""
        async for chunk in request.stream():
            raw_body += chunk
            if len(raw_body) > 4096:
                return admin.render("login.html", status=413, error="Requête trop volumineuse.", who=None)
        body = raw_body.decode("utf-8", "replace")
        token = (parse_qs(body).get("token") or [""])[0].strip()
        who = admin.auth.check_token(token)
        if who is None:
            await admin.unauthenticated(request, "dashboard", "login")
            return admin.render("login.html", status=401, error="Jeton invalide.", who=None)
        await admin.log(request, who, "dashboard", "login", {}, "ok")
        resp = RedirectResponse("/admin/", status_code=303)
        resp.set_cookie(COOKIE, admin.auth.open_session(who), max_age=SESSION_TTL_S, path="/admin",
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return resp

    @app.post("/admin/logout")
    async def logout(request: Request):
        admin.auth.close_session(request.cookies.get(COOKIE))
        resp = RedirectResponse("/admin/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/admin")
        return resp

    @app.get("/admin/static/{name}")
    async def static(name: str):
        if name != "admin.css":
            return Response(status_code=404)
        return Response((HERE / "static" / name).read_bytes(), media_type="text/css",
                        headers={"Cache-Control": "private, max-age=300"})

    @app.get("/admin/", response_class=HTMLResponse)
    async def dashboard(request: Request):
        raw = dict(request.query_params)
        if not raw and admin.identify(request, "dashboard"):  # default view: the last 30 days (a year of records is not scanned on every visit)
            since = (datetime.now(UTC) - timedelta(days=DEFAULT_DAYS - 1)).date().isoformat()
            return RedirectResponse("/admin/?" + urlencode({"since": since}), status_code=303)
        who = await admin.authorize(request, "dashboard", "dashboard", "audit.read", raw)
        error, filters = None, Q.Filters()
        limit, cursor = 50, None
        try:
            params = _query_params(request, list_params)
            filters = Q.parse_filters(params)
            limit, cursor = Q.parse_limit(params.get("limit")), Q.decode_cursor(params.get("cursor"))
        except Q.FilterError as exc:
            error = str(exc)
        await admin.log(request, who, "dashboard", "dashboard", raw, "invalid" if error else "ok")

        def load() -> dict:
            blocks = Q.Filters(**{**filters.__dict__, "decision": "block"})
            rows, nxt = Q.page(store, filters, limit, cursor)
            return {
                "by_day": Q.stats(store, filters, "day"),
                "services": Q.stats(store, filters, "service", 8),
                "categories": Q.stats(store, filters, "category"),
                "departments": Q.stats(store, filters, "department", 8),
                "blocks": Q.page(store, blocks, 8)[0] if filters.decision in (None, "block") else [],
                "rows": rows,
                "next_cursor": nxt,
            }

        data = await anyio.to_thread.run_sync(load)
        fparams = filters.as_params()
        form = {k: raw.get(k, "") for k in Q.FILTER_KEYS}
        nxt_link = "?" + urlencode({**raw, "cursor": data["next_cursor"]}) if data["next_cursor"] else None
        return admin.render(
            "dashboard.html", who=who, error=error, form=form, data=data,
            volume_svg=charts.volume_by_day(data["by_day"]["groups"]),
            services_svg=charts.hbars(data["services"]["groups"], "Services d'IA"),
            categories_svg=charts.hbars(data["categories"]["groups"], "Catégories",
                                        labels=CATEGORY_LABELS_FR),
            departments_svg=charts.hbars(data["departments"]["groups"], "Départements"),
            export_qs=urlencode(fparams), next_link=nxt_link, first_page=cursor is not None,
            first_link="?" + urlencode({k: v for k, v in raw.items() if k != "cursor"}),
        )

    @app.get("/admin/decisions/{record_id}", response_class=HTMLResponse)
    async def detail(request: Request, record_id: str):
        who = await admin.authorize(request, "dashboard", "decisions.get", "audit.read", {"id": record_id})
        await admin.log(request, who, "dashboard", "decisions.get", {"id": record_id}, "ok")
        rec = await anyio.to_thread.run_sync(store.get, record_id)
        if rec is None:
            return admin.render("error.html", status=404, who=who,
                                message=f"Aucun enregistrement d'audit avec l'identifiant « {record_id} ».")
        return admin.render("detail.html", who=who, rec=rec, rec_json=Q.to_json(rec))

    @app.get("/admin/access-log", response_class=HTMLResponse)
    async def access_log_page(request: Request):
        raw = dict(request.query_params)
        who = await admin.authorize(request, "dashboard", "access_log.list", "access_log.read", raw)
        try:
            cursor = Q.decode_cursor(raw.get("cursor"))
        except Q.FilterError:
            cursor = None
        await admin.log(request, who, "dashboard", "access_log.list", raw, "ok")
        rows = await anyio.to_thread.run_sync(lambda: store.access_log(101, cursor))
        nxt = "?" + urlencode({"cursor": Q.encode_cursor(rows[99]["seq"])}) if len(rows) > 100 else None
        return admin.render("access_log.html", who=who, rows=rows[:100], next_link=nxt)

    return app
