"""The admin JSON API (``/admin/api/...``): decisions, one decision, statistics, CSV / JSONL
exports and the access log. Bearer token, or the dashboard's session cookie (export links)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from gateway.admin.guard import API, AdminDep, Denied, PageQuery, known, no_record, page_query
from gateway.audit import AuditStore
from gateway.audit import query as Q

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


def access_log_query(raw: dict[str, str]) -> PageQuery:
    known(raw, ("limit", "cursor"))
    return PageQuery(limit=Q.parse_limit(raw.get("limit")), cursor=Q.decode_cursor(raw.get("cursor")))


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


@router.get("/stats")
async def stats(request: Request, admin: AdminDep):
    q: StatsQuery = (await admin.guard(request, API, "stats", "audit.read", stats_query)).query
    return await anyio.to_thread.run_sync(Q.stats, admin.store, q.filters, q.group_by, q.limit)


@router.get("/access-log")
async def access_log(request: Request, admin: AdminDep):
    q: PageQuery = (await admin.guard(request, API, "access_log.list", "access_log.read", access_log_query)).query
    rows = await anyio.to_thread.run_sync(admin.store.access_log, q.limit + 1, q.cursor)
    nxt = Q.encode_cursor(rows[q.limit - 1]["seq"]) if len(rows) > q.limit else None
    return {"items": [{**r, "ts": Q.iso(r["ts"])} for r in rows[:q.limit]], "next_cursor": nxt, "limit": q.limit}


Export = Callable[[AuditStore, Q.Filters], Iterator[str]]
EXPORTS: dict[str, tuple[Export, str]] = {
    "csv": (Q.export_csv, "text/csv; charset=utf-8"),
    "jsonl": (Q.export_jsonl, "application/x-ndjson"),
}


def _export_route(kind: str):
    write, media_type = EXPORTS[kind]

    async def export(request: Request, admin: AdminDep) -> StreamingResponse:
        filters = (await admin.guard(request, API, f"export.{kind}", "audit.read", export_query)).query
        chunks = write(admin.store, filters)
        # the first chunk reads the store before anything is sent: a failure there is still a 503
        first = await anyio.to_thread.run_sync(next, chunks, "")
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        headers = {"Content-Disposition": f'attachment; filename="gardefou-audit-{stamp}.{kind}"'}
        return StreamingResponse(itertools.chain([first], chunks), media_type=media_type, headers=headers)

    return export


for _kind in EXPORTS:
    router.add_api_route(f"/export.{_kind}", _export_route(_kind), methods=["GET"])
