"""The server-rendered dashboard (``/admin/...``): login and logout, the dashboard, a decision's
detail page, the access log (admin role) and the one stylesheet. No JavaScript at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.admin import charts
from gateway.admin.auth import COOKIE, SESSION_TTL_S
from gateway.admin.guard import DASHBOARD, AdminDep, Denied, PageQuery, no_record, page_query
from gateway.audit import AuditStore
from gateway.audit import query as Q
from policies.vocabulary import CATEGORY_LABELS_FR, DECISION_LABELS_FR, DECISION_PLURALS_FR

HERE = Path(__file__).parent
DEFAULT_DAYS = 30
ACCESS_LOG_PAGE = 100
MAX_LOGIN_BODY = 4096

router = APIRouter(prefix="/admin")


def fmt_ts(ts) -> str:
    if ts is None:
        return ""
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    return Q.norm_ts(ts).strftime("%Y-%m-%d %H:%M:%S")


templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
    trim_blocks=True, lstrip_blocks=True,
)
templates.globals.update(
    decision_fr=DECISION_LABELS_FR, decision_plural_fr=DECISION_PLURALS_FR, category_fr=CATEGORY_LABELS_FR,
    fmt_ts=fmt_ts, categories=Q.CATEGORIES, decisions=Q.DECISIONS,
)


def render(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**ctx), status_code=status)


def refusal(exc: Denied) -> Response:
    if exc.status == 401:
        return RedirectResponse("/admin/login", status_code=303)
    return render("error.html", status=exc.status, message=exc.message, who=exc.who)


# -- login / logout -----------------------------------------------------------------------------

def _same_origin(request: Request) -> bool:
    """A form post from this listener's own pages. Browsers say where a request comes from in
    ``Sec-Fetch-Site``; older ones in ``Origin`` (``null`` under this site's no-referrer policy, so
    only a real origin is compared) or ``Referer``. A client that sends none of them is no browser."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == host
    referer = request.headers.get("referer")
    return referer is None or urlsplit(referer).netloc == host


async def _posted_token(request: Request) -> str | None:
    """The token of the login form; None when the body is over ``MAX_LOGIN_BODY`` bytes."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_LOGIN_BODY:
            return None
    return (parse_qs(body.decode("utf-8", "replace")).get("token") or [""])[0].strip()


def _login_page(status: int = 200, error: str | None = None) -> HTMLResponse:
    return render("login.html", status=status, error=error, who=None)


@router.get("")
async def admin_root():
    return RedirectResponse("/admin/", status_code=307)


@router.get("/login")
async def login_form():
    return _login_page()


@router.post("/login")
async def login(request: Request, admin: AdminDep):
    if not _same_origin(request):  # login CSRF: a foreign page must not log a browser in
        return _login_page(403, "Origine de la requête refusée.")
    token = await _posted_token(request)
    if token is None:
        return _login_page(413, "Requête trop volumineuse.")
    who = admin.auth.check_token(token)
    if who is None:
        await admin.unauthenticated(request, DASHBOARD, "login")
        return _login_page(401, "Jeton invalide.")
    await admin.log(request, who, DASHBOARD, "login", {}, "ok")
    resp = RedirectResponse("/admin/", status_code=303)
    resp.set_cookie(COOKIE, admin.auth.open_session(who), max_age=SESSION_TTL_S, path="/admin",
                    httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


@router.post("/logout")
async def logout(request: Request, admin: AdminDep):
    admin.auth.close_session(request.cookies.get(COOKIE))
    resp = RedirectResponse("/admin/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/admin")
    return resp


@router.get("/static/{name}")
async def static(name: str):
    if name != "admin.css":
        return Response(status_code=404)
    return Response((HERE / "static" / name).read_bytes(), media_type="text/css",
                    headers={"Cache-Control": "private, max-age=300"})


# -- dashboard ----------------------------------------------------------------------------------

def _load(store: AuditStore, q: PageQuery) -> dict:
    """Everything the dashboard shows, read in one worker thread."""
    blocks = Q.Filters(**{**q.filters.__dict__, "decision": "block"})
    rows, nxt = Q.page(store, q.filters, q.limit, q.cursor)
    return {
        "by_day": Q.stats(store, q.filters, "day"),
        "services": Q.stats(store, q.filters, "service", 8),
        "categories": Q.stats(store, q.filters, "category"),
        "departments": Q.stats(store, q.filters, "department", 8),
        "blocks": Q.page(store, blocks, 8)[0] if q.filters.decision in (None, "block") else [],
        "rows": rows,
        "next_cursor": nxt,
    }


def _view(raw: dict[str, str], q: PageQuery, data: dict) -> dict:
    """The dashboard template's context: the form as typed, the charts, the links."""
    nxt = data["next_cursor"]
    return {
        "form": {k: raw.get(k, "") for k in Q.FILTER_KEYS},
        "data": data,
        "volume_svg": charts.volume_by_day(data["by_day"]["groups"]),
        "services_svg": charts.hbars(data["services"]["groups"], "Services d'IA"),
        "categories_svg": charts.hbars(data["categories"]["groups"], "Catégories", labels=CATEGORY_LABELS_FR),
        "departments_svg": charts.hbars(data["departments"]["groups"], "Départements"),
        "export_qs": urlencode(q.filters.as_params()),
        "next_link": "?" + urlencode({**raw, "cursor": nxt}) if nxt else None,
        "first_page": q.cursor is not None,
        "first_link": "?" + urlencode({k: v for k, v in raw.items() if k != "cursor"}),
    }


@router.get("/")
async def dashboard(request: Request, admin: AdminDep):
    raw = dict(request.query_params)
    # default view: the last 30 days (a year of records is not scanned on every visit)
    if not raw and admin.identify(request, DASHBOARD):
        since = (datetime.now(UTC) - timedelta(days=DEFAULT_DAYS - 1)).date().isoformat()
        return RedirectResponse("/admin/?" + urlencode({"since": since}), status_code=303)
    # a bad filter is shown on the page (with the rest of the query), not refused
    access = await admin.guard(request, DASHBOARD, "dashboard", "audit.read", page_query, lenient=True)
    data = await anyio.to_thread.run_sync(_load, admin.store, access.query)
    return render("dashboard.html", who=access.who, error=access.error, **_view(raw, access.query, data))


@router.get("/decisions/{record_id}")
async def detail(request: Request, record_id: str, admin: AdminDep):
    access = await admin.guard(request, DASHBOARD, "decisions.get", "audit.read", logged={"id": record_id})
    rec = await anyio.to_thread.run_sync(admin.store.get, record_id)
    if rec is None:
        return render("error.html", status=404, who=access.who, message=no_record(record_id))
    return render("detail.html", who=access.who, rec=rec, rec_json=Q.to_json(rec))


def _cursor_or_start(raw: dict[str, str]) -> int | None:
    """The access log page's cursor; a bad one shows the first page."""
    try:
        return Q.decode_cursor(raw.get("cursor"))
    except Q.FilterError:
        return None


@router.get("/access-log")
async def access_log_page(request: Request, admin: AdminDep):
    access = await admin.guard(request, DASHBOARD, "access_log.list", "access_log.read", _cursor_or_start)
    rows = await anyio.to_thread.run_sync(admin.store.access_log, ACCESS_LOG_PAGE + 1, access.query)
    more = len(rows) > ACCESS_LOG_PAGE
    nxt = "?" + urlencode({"cursor": Q.encode_cursor(rows[ACCESS_LOG_PAGE - 1]["seq"])}) if more else None
    return render("access_log.html", who=access.who, rows=rows[:ACCESS_LOG_PAGE], next_link=nxt)
