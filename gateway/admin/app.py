"""The admin listener: the JSON API (:mod:`gateway.admin.api`) and the dashboard
(:mod:`gateway.admin.dashboard`) over the audit store, behind one guard (:mod:`gateway.admin.guard`).

Every read of the audit data (and every refused attempt) is written to ``admin_access_log`` before
any data is returned; if that write fails, nothing is returned (503). A failing audit store is a
503 too, in French, never a stack trace.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import Response

from gateway import metrics
from gateway.admin import api, dashboard, dpo
from gateway.admin.guard import MSG_STORE_503, Admin, Denied
from gateway.audit import AuditError, AuditStore
from gateway.config import Config

if TYPE_CHECKING:
    from gateway.live import Live

log = logging.getLogger("gardefou.admin")

CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


async def security_headers(request: Request, call_next) -> Response:
    resp = await call_next(request)
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


async def denied(request: Request, exc: Denied) -> Response:
    """JSON for the API, a page (or the login form) for the dashboard."""
    if request.url.path.startswith(api.router.prefix + "/"):
        return api.refusal(exc)
    return dashboard.refusal(exc)


async def store_failed(request: Request, exc: AuditError) -> Response:
    log.error("audit store failed on %s: %s", request.url.path, exc)
    return await denied(request, Denied(503, "audit_store_unavailable", MSG_STORE_503))


def create_admin_app(config: Config, store: AuditStore | None = None,
                     config_path: str | Path | None = None, live: Live | None = None) -> FastAPI:
    """The admin listener. ``live``: the gateway's configuration in force, beside which it runs (the
    reload and the configuration routes answer 409 without it)."""
    own_store = store is None
    if store is None:
        store = AuditStore(config.audit.url, **config.audit.store_options())
        store.migrate()
    app = FastAPI(title="Garde-fou — revue d'audit", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.admin = Admin(config, store, config_path, live)
    if own_store:
        app.router.on_shutdown.append(store.dispose)
    app.middleware("http")(security_headers)
    app.add_exception_handler(Denied, denied)  # type: ignore[arg-type]  # Starlette types handlers on Exception
    app.add_exception_handler(AuditError, store_failed)  # type: ignore[arg-type]
    app.include_router(api.router)
    app.include_router(dashboard.router)
    app.include_router(dpo.api_router)
    app.include_router(dpo.pages_router)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        """Counts and timings for the DSN's monitoring (no personal data, not an audited read)."""
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)
    return app
