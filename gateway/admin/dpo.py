"""The DPO's pages and their API (``gateway/dpo``): AI services outside the catalogue (discovery, with
drafted catalogue entries), the register of AI systems and the weekly summary. Every read goes through
the guard like the rest of the audit review (role, query, access-log entry first)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from gateway.admin.dashboard import DEFAULT_DAYS, _is_date, _same_origin, render
from gateway.admin.guard import API, DASHBOARD, Access, AdminDep, Invalid, known
from gateway.audit import query as Q
from gateway.dpo import register as R
from gateway.dpo import weekly as W
from gateway.dpo.discovery import DraftError, hosts_seen, split_host, write_draft
from policies.discovery import KIND_LABELS_FR

api_router = APIRouter(prefix="/admin/api")
pages_router = APIRouter(prefix="/admin")

REGISTER_DAYS = 365
MAX_FORM_BODY = 4096
_DRAFT_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}\.yaml$")


# -- query strings ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PeriodQuery:
    filters: Q.Filters = Q.Filters()
    extra: tuple[tuple[str, str], ...] = ()


def period_query(raw: dict[str, str], tz: tzinfo = UTC, extra: tuple[str, ...] = ()) -> PeriodQuery:
    """``since`` and ``until`` (dates without an offset read in ``tz``), plus the ``extra`` keys as given."""
    query = PeriodQuery()
    try:
        known(raw, ("since", "until", *extra))
        query = PeriodQuery(Q.parse_filters({k: raw[k] for k in ("since", "until") if k in raw}, tz),
                            tuple((k, raw[k]) for k in extra if k in raw))
    except Q.FilterError as exc:
        raise Invalid(str(exc), query) from None
    return query


@dataclass(frozen=True)
class WeekQuery:
    week: W.Week


def week_query(raw: dict[str, str], default: W.Week | None = None) -> WeekQuery:
    fallback = WeekQuery(default or W.Week.last_complete(datetime.now(UTC)))
    try:
        known(raw, ("week",))
        return WeekQuery(W.Week.parse(raw["week"])) if raw.get("week") else fallback
    except (Q.FilterError, W.WeekError) as exc:
        raise Invalid(str(exc), fallback) from None


def _period(filters: Q.Filters) -> R.Period:
    return R.Period(filters.since, filters.until)


def _download(data: bytes, media_type: str, name: str) -> Response:
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- discovery -------------------------------------------------------------------------------------

def _discovery_json(admin, filters: Q.Filters) -> dict[str, Any]:
    view = hosts_seen(admin.store, filters, admin.discovery, admin.catalogue)
    return {
        "filters": filters.as_params(),
        "enabled": admin.discovery is not None,
        "list": admin.discovery.summary() if admin.discovery is not None else None,
        "unknown_service": admin.config.policy.unknown_service,
        "hosts": [h.to_json() for h in view.listed],
        "other_hosts": [h.to_json() for h in view.unlisted],
    }


@api_router.get("/discovery")
async def discovery_api(request: Request, admin: AdminDep):
    """The AI hosts outside the catalogue seen by the browser proxy over the period, most used first."""
    q: PeriodQuery = (await admin.guard(request, API, "discovery", "audit.read", period_query)).query
    return await anyio.to_thread.run_sync(_discovery_json, admin, q.filters)


def _default_since(days: int) -> str:
    return (datetime.now(Q.PARIS) - timedelta(days=days - 1)).date().isoformat()


discovery_page_query = functools.partial(period_query, tz=Q.PARIS, extra=("draft",))


async def _discovery_page(request: Request, admin, access, raw: dict[str, str], status: int = 200,
                          draft_error: str | None = None) -> Response:
    q: PeriodQuery = access.query
    view = await anyio.to_thread.run_sync(hosts_seen, admin.store, q.filters, admin.discovery, admin.catalogue)
    draft = dict(q.extra).get("draft")
    draft_path = Path(admin.config.discovery.drafts_dir) / draft if draft and _DRAFT_NAME.match(draft) else None
    form = {k: raw.get(k, "") for k in ("since", "until")}
    return render("discovery.html", status=status, who=access.who, error=access.error, view=view, form=form,
                  date_inputs={k: not raw.get(k) or _is_date(raw[k]) for k in ("since", "until")},
                  discovery=admin.discovery, kind_fr=KIND_LABELS_FR, can_draft=access.who.can("catalogue.draft"),
                  unknown_service=admin.config.policy.unknown_service, draft_path=draft_path, draft_error=draft_error,
                  drafts_dir=admin.config.discovery.drafts_dir,
                  export_qs=urlencode(q.filters.as_params()), keep=urlencode(form))


@pages_router.get("/discovery")
async def discovery_page(request: Request, admin: AdminDep):
    raw = dict(request.query_params)
    if not raw and await admin.identify(request, DASHBOARD):
        return RedirectResponse("/admin/discovery?" + urlencode({"since": _default_since(DEFAULT_DAYS)}), status_code=303)
    access = await admin.guard(request, DASHBOARD, "discovery", "audit.read", discovery_page_query, lenient=True)
    return await _discovery_page(request, admin, access, raw)


async def _posted_form(request: Request) -> dict[str, str] | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BODY:
            return None
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


@pages_router.post("/discovery/draft")
async def draft(request: Request, admin: AdminDep):
    """Write a draft catalogue entry for one host seen (a file to review; nothing is applied)."""
    form = await _posted_form(request)
    if form is None or not _same_origin(request):  # a foreign page must not make a browser write files
        return render("error.html", status=403, who=await admin.identify(request, DASHBOARD),
                      message="Requête refusée : elle ne vient pas du tableau de bord de Garde-fou.")
    host = form.get("host", "").strip().lower()[:255]
    keep = {k: form[k] for k in ("since", "until") if form.get(k) and _is_date(form[k])}
    access = await admin.guard(request, DASHBOARD, "discovery.draft", "catalogue.draft", logged={"host": host})
    seen = None
    if keep.get("since"):
        period = Q.parse_filters(keep, Q.PARIS)
        view = await anyio.to_thread.run_sync(hosts_seen, admin.store, period, admin.discovery, admin.catalogue)
        seen = next((h for h in view.hosts if h.host == host), None)
    try:
        path = await anyio.to_thread.run_sync(write_draft, admin.config.discovery.drafts_dir, host, seen,
                                              admin.discovery, admin.catalogue, access.who.user_id, datetime.now(UTC))
    except DraftError as exc:
        page_access = Access(access.who, PeriodQuery(Q.parse_filters(keep, Q.PARIS)))
        return await _discovery_page(request, admin, page_access, keep, status=409, draft_error=str(exc))
    return RedirectResponse("/admin/discovery?" + urlencode({**keep, "draft": path.name}), status_code=303)


# -- the register of AI systems --------------------------------------------------------------------

def _register(admin, filters: Q.Filters) -> tuple[list[R.RegisterRow], int]:
    return R.register_rows(admin.store, _period(filters), admin.catalogue)


@api_router.get("/register")
async def register_api(request: Request, admin: AdminDep):
    q: PeriodQuery = (await admin.guard(request, API, "register", "audit.read", period_query)).query
    rows, outside = await anyio.to_thread.run_sync(_register, admin, q.filters)
    return R.to_json(rows, _period(q.filters), outside)


def _register_export(fmt: str):
    async def export(request: Request, admin: AdminDep) -> Response:
        access = await admin.guard(request, API, "register.export", "audit.read", period_query,
                                   logged={**request.query_params, "format": fmt})
        q: PeriodQuery = access.query
        rows, outside = await anyio.to_thread.run_sync(_register, admin, q.filters)
        data = R.render(fmt, rows, _period(q.filters), outside, datetime.now(UTC))
        stamp = datetime.now(Q.PARIS).strftime("%Y%m%d")
        return _download(data, R.MEDIA_TYPES[fmt], f"registre-systemes-ia-{stamp}.{fmt}")
    return export


for _fmt in R.FORMATS:
    api_router.add_api_route(f"/register.{_fmt}", _register_export(_fmt), methods=["GET"])


register_page_query = functools.partial(period_query, tz=Q.PARIS)


@pages_router.get("/register")
async def register_page(request: Request, admin: AdminDep):
    raw = dict(request.query_params)
    if not raw and await admin.identify(request, DASHBOARD):
        return RedirectResponse("/admin/register?" + urlencode({"since": _default_since(REGISTER_DAYS)}), status_code=303)
    access = await admin.guard(request, DASHBOARD, "register", "audit.read", register_page_query, lenient=True)
    q: PeriodQuery = access.query
    rows, outside = await anyio.to_thread.run_sync(_register, admin, q.filters)
    form = {k: raw.get(k, "") for k in ("since", "until")}
    return render("register.html", who=access.who, error=access.error, rows=rows, outside=outside,
                  period=_period(q.filters), form=form, cells=R.cells, as_text=R.as_text, headers=R.HEADERS,
                  date_inputs={k: not raw.get(k) or _is_date(raw[k]) for k in ("since", "until")},
                  export_qs=urlencode(q.filters.as_params()))


# -- the weekly summary -------------------------------------------------------------------------------

def _weekly(admin, week: W.Week) -> W.Weekly:
    return W.weekly(admin.store, week, admin.catalogue, admin.discovery, datetime.now(UTC))


@api_router.get("/weekly")
async def weekly_api(request: Request, admin: AdminDep):
    q: WeekQuery = (await admin.guard(request, API, "weekly", "audit.read", week_query)).query
    return (await anyio.to_thread.run_sync(_weekly, admin, q.week)).to_json()


def _weekly_export(fmt: str):
    async def export(request: Request, admin: AdminDep) -> Response:
        access = await admin.guard(request, API, "weekly.export", "audit.read", week_query,
                                   logged={**request.query_params, "format": fmt})
        summary = await anyio.to_thread.run_sync(_weekly, admin, access.query.week)
        data = W.to_markdown(summary) if fmt == "md" else W.to_html(summary)
        media = "text/markdown; charset=utf-8" if fmt == "md" else "text/html; charset=utf-8"
        return _download(data.encode("utf-8"), media, f"garde-fou-synthese-{summary.week}.{fmt}")
    return export


for _fmt in ("md", "html"):
    api_router.add_api_route(f"/weekly.{_fmt}", _weekly_export(_fmt), methods=["GET"])


@pages_router.get("/weekly")
async def weekly_page(request: Request, admin: AdminDep):
    access = await admin.guard(request, DASHBOARD, "weekly", "audit.read", week_query, lenient=True)
    summary = await anyio.to_thread.run_sync(_weekly, admin, access.query.week)
    current = W.Week.of(datetime.now(Q.PARIS).date())
    nxt = summary.week.shifted(1)
    return render("weekly.html", who=access.who, error=access.error, w=summary, kind_fr=KIND_LABELS_FR,
                  previous_week=summary.week.shifted(-1), next_week=nxt if nxt.monday <= current.monday else None,
                  split_host=split_host)
