"""The admin JSON API (``/admin/api/...``): decisions, one decision, statistics, CSV / JSONL
exports, the access log, the configuration in force and its reload. Bearer token, or the dashboard's
session cookie (export links)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from gateway.admin.guard import (
    API,
    AcceptanceQuery,
    AccessLogQuery,
    AdminDep,
    Denied,
    PageQuery,
    acceptance_query,
    access_log_query,
    known,
    no_record,
    page_query,
)
from gateway.audit import AuditStore
from gateway.audit import query as Q
from policies.catalogue import Catalogue
from policies.vocabulary import CATEGORY_LABELS_FR, DECISION_LABELS_FR

router = APIRouter(prefix="/admin/api")


def error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def refusal(exc: Denied) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="gardefou-admin"'} if exc.status == 401 else None
    return error(exc.status, exc.code, exc.message, headers)


# -- query strings ------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatsQuery:
    filters: Q.Filters
    group_by: str
    limit: int | None


def stats_query(raw: dict[str, str]) -> StatsQuery:
    known(raw, (*Q.FILTER_KEYS, "group_by", "limit"))
    filters = Q.parse_filters(raw)
    limit = Q.parse_limit(raw["limit"]) if raw.get("limit") else None
    group_by = raw.get("group_by", "day")
    if group_by not in Q.GROUP_BY:
        raise Q.FilterError(f"Paramètre « group_by » invalide : valeurs possibles {', '.join(Q.GROUP_BY)}.")
    return StatsQuery(filters, group_by, limit)


def export_query(raw: dict[str, str]) -> Q.Filters:
    known(raw, Q.FILTER_KEYS)
    return Q.parse_filters(raw)


def access_export_query(raw: dict[str, str]) -> Q.AccessFilters:
    known(raw, Q.ACCESS_FILTER_KEYS)
    return Q.parse_access_filters(raw)


def no_query(raw: dict[str, str]) -> None:
    known(raw, ())


# -- routes -------------------------------------------------------------------------------------

@router.get("/decisions")
async def decisions(request: Request, admin: AdminDep):
    q: PageQuery = (await admin.guard(request, API, "decisions.list", "audit.read", page_query)).query
    rows, nxt = await anyio.to_thread.run_sync(Q.page, admin.store, q.filters, q.limit, q.cursor)
    return {"items": [Q.to_json(r) for r in rows], "next_cursor": nxt, "limit": q.limit,
            "filters": q.filters.as_params()}


@router.get("/decisions/{record_id}")
async def decision(request: Request, record_id: str, admin: AdminDep):
    await admin.guard(request, API, "decisions.get", "audit.read", no_query, logged={"id": record_id})
    rec = await anyio.to_thread.run_sync(admin.store.get, record_id)
    if rec is None:
        return error(404, "not_found", no_record(record_id))
    return Q.to_json(rec)


def group_label(group_by: str, key: str | None, catalogue: Catalogue) -> str:
    """A stats group's key as the DPO reads it (the key itself stays the machine's)."""
    if key is None:
        return "(non renseigné)"
    if group_by == "decision":
        return DECISION_LABELS_FR.get(key, key)
    if group_by == "category":
        return CATEGORY_LABELS_FR.get(key, key)
    if group_by == "service":
        service = catalogue.get(key)
        return service.name if service else f"{key} (hors catalogue)"
    return key


@router.get("/stats")
async def stats(request: Request, admin: AdminDep):
    q: StatsQuery = (await admin.guard(request, API, "stats", "audit.read", stats_query)).query
    res = await anyio.to_thread.run_sync(Q.stats, admin.store, q.filters, q.group_by, q.limit)
    for g in res["groups"]:
        g["label"] = group_label(q.group_by, g["key"], admin.catalogue)
    # every count is split by decision: ``refuse`` (technical) is never added to ``block`` (charter)
    res["decision_labels"] = DECISION_LABELS_FR
    return res


@router.get("/access-log")
async def access_log(request: Request, admin: AdminDep):
    access = await admin.guard(request, API, "access_log.list", "access_log.read", access_log_query)
    q: AccessLogQuery = access.query
    rows, nxt = await anyio.to_thread.run_sync(Q.access_page, admin.store, q.filters, q.limit, q.cursor)
    return {"items": [{**r, "ts": Q.iso(r["ts"])} for r in rows], "next_cursor": nxt, "limit": q.limit,
            "filters": q.filters.as_params()}


@router.get("/access-log.csv")
async def access_log_csv(request: Request, admin: AdminDep) -> StreamingResponse:
    """The access log as CSV; this export is itself written to the access log first, like any read."""
    access = await admin.guard(request, API, "access_log.export", "access_log.read", access_export_query)
    return await _stream(Q.export_access_csv(admin.store, access.query), "text/csv; charset=utf-8",
                         "gardefou-journal-acces", "csv")


@router.get("/charter-acceptances")
async def charter_acceptances(request: Request, admin: AdminDep):
    """Who accepted which version of the institution's charter (and the version in force)."""
    q: AcceptanceQuery = (await admin.guard(request, API, "acceptances.list", "audit.read", acceptance_query)).query
    rows, nxt = await anyio.to_thread.run_sync(Q.acceptance_page, admin.store, q.filters, q.limit, q.cursor)
    charter = admin.charter
    return {"charter": {"version": charter.version, "title": charter.title, "url": charter.url} if charter else None,
            "items": [Q.acceptance_json(r) for r in rows], "next_cursor": nxt, "limit": q.limit,
            "filters": q.filters.as_params()}


def acceptance_export_query(raw: dict[str, str]) -> Q.AcceptanceFilters:
    known(raw, Q.ACCEPTANCE_FILTER_KEYS)
    return Q.parse_acceptance_filters(raw)


@router.get("/charter-acceptances.csv")
async def charter_acceptances_csv(request: Request, admin: AdminDep) -> StreamingResponse:
    filters = (await admin.guard(request, API, "acceptances.export", "audit.read", acceptance_export_query)).query
    return await _stream(Q.export_acceptances_csv(admin.store, filters), "text/csv; charset=utf-8",
                         "gardefou-acceptations-charte", "csv")


Export = Callable[[AuditStore, Q.Filters], Iterator[str]]
EXPORTS: dict[str, tuple[Export, str]] = {
    "csv": (Q.export_csv, "text/csv; charset=utf-8"),
    "jsonl": (Q.export_jsonl, "application/x-ndjson"),
}


def _export_route(kind: str):
    write, media_type = EXPORTS[kind]

    async def export(request: Request, admin: AdminDep) -> StreamingResponse:
        filters = (await admin.guard(request, API, f"export.{kind}", "audit.read", export_query)).query
        return await _stream(write(admin.store, filters), media_type, "gardefou-audit", kind)

    return export


async def _stream(chunks: Iterator[str], media_type: str, name: str, ext: str) -> StreamingResponse:
    # the first chunk reads the store before anything is sent: a failure there is still a 503
    first = await anyio.to_thread.run_sync(next, chunks, "")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    headers = {"Content-Disposition": f'attachment; filename="{name}-{stamp}.{ext}"'}
    return StreamingResponse(itertools.chain([first], chunks), media_type=media_type, headers=headers)


for _kind in EXPORTS:
    router.add_api_route(f"/export.{_kind}", _export_route(_kind), methods=["GET"])


# -- the configuration --------------------------------------------------------------------------

MSG_NO_GATEWAY = ("Ce service de revue d'audit ne tourne pas à côté d'une passerelle : il n'a pas de configuration "
                  "à recharger.")


@router.get("/config")
async def config_in_force(request: Request, admin: AdminDep):
    """The configuration in force: its generation, the file's SHA-256, when it was loaded (and, with
    ``--workers``, what every worker runs)."""
    await admin.guard(request, API, "config.get", "config.read", no_query)
    if admin.live is None:
        return error(409, "no_gateway", MSG_NO_GATEWAY)
    return admin.live.status()


@router.post("/reload")
async def reload(request: Request, admin: AdminDep):
    """Read the configuration file again and put it in force for new requests (every worker); a file
    that does not validate changes nothing and the answer says why (``gateway.live``)."""
    access = await admin.guard(request, API, "config.reload", "config.reload", no_query)
    if admin.live is None:
        return error(409, "no_gateway", MSG_NO_GATEWAY)
    result = await admin.live.reload_everywhere(f"admin API, {access.who.user_id}")
    status, body = result.answer()
    return JSONResponse(body, status_code=status)
