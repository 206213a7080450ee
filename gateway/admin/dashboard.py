"""The server-rendered dashboard (``/admin/...``): login and logout, the dashboard, a decision's
detail page, sobriety (energy, CO2e, tokens, long conversations by service and department), the
charter's acceptances, the access log (admin role) and the one stylesheet. No JavaScript at all."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from gateway.admin import charts
from gateway.admin.auth import COOKIE, SESSION_TTL_S
from gateway.admin.guard import (
    DASHBOARD,
    AcceptanceQuery,
    AccessLogQuery,
    Admin,
    AdminDep,
    Denied,
    PageQuery,
    acceptance_query,
    access_log_query,
    no_record,
    page_query,
)
from gateway.audit import AuditStore
from gateway.audit import query as Q
from policies.catalogue import Catalogue
from policies.labels import (
    ACCESS_ACTION_LABELS_FR,
    ACCESS_CHANNEL_LABELS_FR,
    ACCESS_OUTCOME_LABELS_FR,
    FINDING_CATEGORY_LABELS_FR,
    FINDING_TYPE_LABELS_FR,
    IMPACT_STATUS_LABELS_FR,
    NOTICE_LABELS_FR,
    PARAM_LABELS_FR,
    ROLE_LABELS_FR,
    finding_type_fr,
    rule_fr,
)
from policies.vocabulary import CATEGORY_LABELS_FR, DECISION_LABELS_FR, DECISION_PLURALS_FR

HERE = Path(__file__).parent
DEFAULT_DAYS = 30
ACCESS_LOG_PAGE = 100
MAX_LOGIN_BODY = 4096
#: how long the filters' choices (distinct departments, services, types) are reused between views
CHOICES_TTL_S = 60.0

router = APIRouter(prefix="/admin")


# -- what the pages say -------------------------------------------------------------------------

def _utc_offset(local: datetime) -> str:
    """``UTC+1`` / ``UTC+2`` (``UTC+5:30`` for a zone with minutes)."""
    off = local.utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    return f"UTC{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def _as_datetime(ts) -> datetime:
    return datetime.fromisoformat(ts) if isinstance(ts, str) else ts


def fmt_ts(ts) -> str:
    """A stored (UTC) time as read in Paris, with its zone: ``02/03/2026 09:00:00 UTC+1``."""
    if ts is None:
        return ""
    local = Q.paris(_as_datetime(ts))
    return f"{local:%d/%m/%Y %H:%M:%S} {_utc_offset(local)}"


def when(ts) -> Markup:
    """``fmt_ts`` in a ``<time>`` element carrying the UTC instant (also shown on hover)."""
    if ts is None:
        return Markup("")
    utc = Q.norm_ts(_as_datetime(ts))
    return Markup('<time datetime="{}" title="{} UTC">{}</time>').format(
        Q.iso(utc), utc.strftime("%Y-%m-%d %H:%M:%S"), fmt_ts(utc))


def type_fr(code: str) -> Markup:
    """A detected type's label; the code on hover (for the DSN)."""
    return Markup('<span class="code-label" title="{}">{}</span>').format(code, finding_type_fr(code))


def rules_fr(codes) -> Markup:
    return Markup(", ").join(Markup('<span class="code-label" title="{}">{}</span>').format(c, rule_fr(c))
                             for c in codes or [])


def fr_num(value, decimals: int = 0) -> str:
    """A number as French readers write it: ``12 345,6789`` (narrow no-break space, decimal comma)."""
    if value is None:
        return "—"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def split_codes(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def param_fr(key: str, value: str) -> str:
    """One logged query parameter as the access-log page shows it: « décision : bloquée »."""
    label = {"decision": DECISION_LABELS_FR, "category": CATEGORY_LABELS_FR,
             "outcome": ACCESS_OUTCOME_LABELS_FR, "action": ACCESS_ACTION_LABELS_FR}.get(key, {}).get(value)
    if key == "finding_type":
        label = finding_type_fr(value)
    return f"{PARAM_LABELS_FR.get(key, key)} : {label or value}"


templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
    trim_blocks=True, lstrip_blocks=True,
)
templates.globals.update(
    decision_fr=DECISION_LABELS_FR, decision_plural_fr=DECISION_PLURALS_FR, category_fr=CATEGORY_LABELS_FR,
    finding_category_fr=FINDING_CATEGORY_LABELS_FR, outcome_fr=ACCESS_OUTCOME_LABELS_FR,
    action_fr=ACCESS_ACTION_LABELS_FR, channel_fr=ACCESS_CHANNEL_LABELS_FR, role_fr=ROLE_LABELS_FR,
    fmt_ts=fmt_ts, when=when, type_fr=type_fr, rules_fr=rules_fr, split_codes=split_codes, param_fr=param_fr,
    fr_num=fr_num, impact_fr=IMPACT_STATUS_LABELS_FR, notice_fr=NOTICE_LABELS_FR,
    channel_accept_fr=Q.ACCEPTANCE_CHANNELS_FR, method_accept_fr=Q.ACCEPTANCE_METHODS_FR,
    categories=Q.CATEGORIES, decisions=Q.DECISIONS, outcomes=Q.ACCESS_OUTCOMES,
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
    opened = await anyio.to_thread.run_sync(admin.auth.open_session, token)  # stored in the audit store
    if opened is None:  # the token was replaced between the two checks
        return _login_page(401, "Jeton invalide.")
    resp = RedirectResponse("/admin/", status_code=303)
    resp.set_cookie(COOKIE, opened[1], max_age=SESSION_TTL_S, path="/admin",
                    httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


@router.post("/logout")
async def logout(request: Request, admin: AdminDep):
    await anyio.to_thread.run_sync(admin.auth.close_session, request.cookies.get(COOKIE))
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

#: the dashboard reads the dates typed in its form as Paris dates (the API: UTC)
dashboard_query = functools.partial(page_query, tz=Q.PARIS)


def _cached(admin: Admin, name: str, load: Callable[[], Any]) -> Any:
    """``load()``, reused for :data:`CHOICES_TTL_S` (distinct values read the whole table)."""
    now = time.monotonic()
    hit = admin.cache.get(name)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = load()
    admin.cache[name] = (now + CHOICES_TTL_S, value)
    return value


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def _options(values: list[str], label: Callable[[str], str], current: str | None) -> list[Choice] | None:
    """A select list's options, the current value always among them; None: too many, type it instead."""
    if len(values) > Q.MAX_CHOICES:
        return None
    if current and current not in values:
        values = [*values, current]
    return [Choice(v, label(v)) for v in values]


def _service_label(catalogue: Catalogue) -> Callable[[str], str]:
    def label(sid: str) -> str:
        service = catalogue.get(sid)
        return f"{sid} — {service.name}" if service else f"{sid} (hors catalogue)"
    return label


def _filter_choices(admin: Admin, stored: dict[str, list[str]], form: dict[str, str]) -> dict[str, Any]:
    """The select lists of the dashboard's form: services from the catalogue (and any other one
    recorded), departments and detected types from the records (every known type as well)."""
    catalogue = admin.catalogue
    services = sorted(catalogue.services, key=lambda sid: catalogue.services[sid].name.casefold())
    services += [s for s in stored["services"] if s not in catalogue.services]
    types = sorted(set(FINDING_TYPE_LABELS_FR) | set(stored["finding_types"]),
                   key=lambda code: finding_type_fr(code).casefold())
    return {
        "services": _options(services, _service_label(catalogue), form.get("service")),
        "departments": _options(stored["departments"], str, form.get("department")),
        "finding_types": _options(types, finding_type_fr, form.get("finding_type")),
    }


def _load(store: AuditStore, q: PageQuery) -> dict:
    """Everything the dashboard shows, read in one worker thread."""
    # the latest blocks are the charter's only: technical refusals (``refuse``) are never listed there
    blocks = Q.Filters(**{**q.filters.__dict__, "decision": "block"})
    rows, nxt = Q.page(store, q.filters, q.limit, q.cursor)
    return {
        "by_day": Q.stats(store, q.filters, "day", tz=Q.PARIS),
        "services": Q.stats(store, q.filters, "service", 8),
        "categories": Q.stats(store, q.filters, "category"),
        "departments": Q.stats(store, q.filters, "department", 8),
        "blocks": Q.page(store, blocks, 8)[0] if q.filters.decision in (None, "block") else [],
        "rows": rows,
        "next_cursor": nxt,
    }


def _is_date(value: str) -> bool:
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def _view(raw: dict[str, str], q: PageQuery, data: dict) -> dict:
    """The dashboard template's context: the form as typed, the charts, the links."""
    nxt = data["next_cursor"]
    return {
        "form": {k: raw.get(k, "") for k in Q.FILTER_KEYS},
        "date_inputs": {k: not raw.get(k) or _is_date(raw[k]) for k in ("since", "until")},
        "data": data,
        "volume_svg": charts.volume_by_day(data["by_day"]["groups"]),
        "services_svg": charts.hbars(data["services"]["groups"], "Services d'IA"),
        "categories_svg": charts.hbars(data["categories"]["groups"], "Catégories", labels=CATEGORY_LABELS_FR),
        "departments_svg": charts.hbars(data["departments"]["groups"], "Départements"),
        "export_qs": urlencode(q.filters.as_params()),
        "sobriety_qs": urlencode({k: v for k, v in raw.items() if k in ("since", "until", "service", "department") and v}),
        "next_link": "?" + urlencode({**raw, "cursor": nxt}) if nxt else None,
        "first_page": q.cursor is not None,
        "first_link": "?" + urlencode({k: v for k, v in raw.items() if k != "cursor"}),
    }


@router.get("/")
async def dashboard(request: Request, admin: AdminDep):
    raw = dict(request.query_params)
    # default view: the last 30 days, Paris days (a year of records is not scanned on every visit)
    if not raw and await admin.identify(request, DASHBOARD):
        since = (datetime.now(Q.PARIS) - timedelta(days=DEFAULT_DAYS - 1)).date().isoformat()
        return RedirectResponse("/admin/?" + urlencode({"since": since}), status_code=303)
    # a bad filter is shown on the page (with the rest of the query), not refused
    access = await admin.guard(request, DASHBOARD, "dashboard", "audit.read", dashboard_query, lenient=True)
    data = await anyio.to_thread.run_sync(_load, admin.store, access.query)
    stored = await anyio.to_thread.run_sync(_cached, admin, "choices", functools.partial(Q.choices, admin.store))
    view = _view(raw, access.query, data)
    return render("dashboard.html", who=access.who, error=access.error, choices=_filter_choices(admin, stored, view["form"]),
                  **view)


@router.get("/decisions/{record_id}")
async def detail(request: Request, record_id: str, admin: AdminDep):
    access = await admin.guard(request, DASHBOARD, "decisions.get", "audit.read", logged={"id": record_id})
    rec = await anyio.to_thread.run_sync(admin.store.get, record_id)
    if rec is None:
        return render("error.html", status=404, who=access.who, message=no_record(record_id))
    service = admin.catalogue.get(rec["service_id"])
    return render("detail.html", who=access.who, rec=rec, rec_json=Q.to_json(rec),
                  service_name=service.name if service else None)


# -- sobriety -----------------------------------------------------------------------------------

def _load_sobriety(store: AuditStore, filters: Q.Filters) -> dict:
    return {"services": Q.stats(store, filters, "service"), "departments": Q.stats(store, filters, "department")}


def _group_label(label: Callable[[str], str]) -> Callable[[str | None], str]:
    return lambda key: label(key) if key else "(non renseigné)"


@router.get("/sobriete")
async def sobriety_page(request: Request, admin: AdminDep):
    """Energy, CO2e, tokens and long conversations, by service and by department (the filters of the
    dashboard; Paris dates)."""
    raw = dict(request.query_params)
    access = await admin.guard(request, DASHBOARD, "sobriety", "audit.read", dashboard_query, lenient=True)
    q: PageQuery = access.query
    data = await anyio.to_thread.run_sync(_load_sobriety, admin.store, q.filters)
    stored = await anyio.to_thread.run_sync(_cached, admin, "choices", functools.partial(Q.choices, admin.store))
    form = {k: raw.get(k, "") for k in Q.FILTER_KEYS}
    from gateway.sobriety import DEFAULT_PROVIDERS

    estimated = sorted({*DEFAULT_PROVIDERS, *admin.sobriety.services} & set(admin.catalogue.services))
    return render("sobriety.html", who=access.who, error=access.error, data=data, form=form,
                  choices=_filter_choices(admin, stored, form),
                  date_inputs={k: not raw.get(k) or _is_date(raw[k]) for k in ("since", "until")},
                  service_label=_group_label(_service_label(admin.catalogue)), department_label=_group_label(str),
                  impacts_on=admin.sobriety.impacts,
                  estimated_services=[_service_label(admin.catalogue)(s) for s in estimated],
                  long=admin.sobriety.long_conversation)


# -- the charter's acceptances --------------------------------------------------------------------

charter_page_query = functools.partial(acceptance_query, tz=Q.PARIS)


@router.get("/charte")
async def charter_page(request: Request, admin: AdminDep):
    """The charter in force and who accepted which version, newest first."""
    raw = dict(request.query_params)
    access = await admin.guard(request, DASHBOARD, "acceptances.list", "audit.read", charter_page_query, lenient=True)
    q: AcceptanceQuery = access.query
    rows, nxt = await anyio.to_thread.run_sync(Q.acceptance_page, admin.store, q.filters, q.limit, q.cursor)
    form = {k: raw.get(k, "") for k in Q.ACCEPTANCE_FILTER_KEYS}
    kept = {k: v for k, v in raw.items() if k != "cursor"}
    return render(
        "acceptances.html", who=access.who, error=access.error, charter=admin.charter, rows=rows, form=form,
        date_inputs={k: not raw.get(k) or _is_date(raw[k]) for k in ("since", "until")},
        next_link="?" + urlencode({**kept, "cursor": nxt}) if nxt else None,
        first_link="?" + urlencode(kept) if q.cursor is not None else None,
        export_qs=urlencode(q.filters.as_params()),
    )


# -- access log ---------------------------------------------------------------------------------

def _action_label(action: str) -> str:
    return ACCESS_ACTION_LABELS_FR.get(action, action)


#: the access log page: Paris dates, 100 rows a page unless ``limit`` says otherwise
access_page_query = functools.partial(access_log_query, tz=Q.PARIS, default_limit=ACCESS_LOG_PAGE)


@router.get("/access-log")
async def access_log_page(request: Request, admin: AdminDep):
    raw = dict(request.query_params)
    access = await admin.guard(request, DASHBOARD, "access_log.list", "access_log.read", access_page_query,
                               lenient=True)
    q: AccessLogQuery = access.query
    rows, nxt = await anyio.to_thread.run_sync(Q.access_page, admin.store, q.filters, q.limit, q.cursor)
    stored = await anyio.to_thread.run_sync(_cached, admin, "access_choices",
                                            functools.partial(Q.access_choices, admin.store))
    form = {k: raw.get(k, "") for k in Q.ACCESS_FILTER_KEYS}
    actions = sorted(set(stored["actions"]) | set(ACCESS_ACTION_LABELS_FR), key=lambda a: _action_label(a).casefold())
    choices = {
        "users": _options(stored["users"], str, form["user"]),
        "actions": _options(actions, _action_label, form["action"]),
    }
    kept = {k: v for k, v in raw.items() if k != "cursor"}
    return render(
        "access_log.html", who=access.who, error=access.error, rows=rows, form=form, choices=choices,
        date_inputs={k: not raw.get(k) or _is_date(raw[k]) for k in ("since", "until")},
        next_link="?" + urlencode({**kept, "cursor": nxt}) if nxt else None,
        first_link="?" + urlencode(kept) if q.cursor is not None else None,
        export_qs=urlencode(q.filters.as_params()),
    )
