"""``create_app(settings)``: the dashboard's FastAPI app, its routes, guard and error pages.

One :class:`Web` object holds what every request shares (settings, store, templates, job
registry, security guard) on ``app.state.web``. AppforgeErrors become a clear error page (or a
JSON body for the JSON endpoints) with the status their kind calls for, never a stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from appforge.config import Settings
from appforge.errors import (
    AppforgeError,
    AppNotFound,
    EngineUnavailable,
    InvalidInput,
    PathOutsideWorkspace,
)
from appforge.store import AppRecord, Store
from appforge.web.jobs import Jobs
from appforge.web.render import STATIC, make_templates, page
from appforge.web.security import Guard


@dataclass
class Web:
    """What every request of one dashboard shares."""

    settings: Settings
    store: Store
    guard: Guard
    jobs: Jobs
    templates: Any
    chat_available: bool
    highlight_css: str

    def nav_apps(self) -> list[AppRecord]:
        from appforge.web.model import with_live_title

        apps = [with_live_title(self.store, a) for a in self.store.list_apps()]
        return sorted(apps, key=lambda a: a.title.lower())


def chat_module() -> Any:
    """``appforge.chat.session`` when this installation has the chat, else None."""
    try:
        from appforge.chat import session
    except ImportError:
        return None
    return session if hasattr(session, "ChatSession") else None


def create_app(settings: Settings) -> FastAPI:
    """The dashboard for the installation ``settings`` describes."""
    from appforge.web import actions, chat, cluster, domains, export, pages
    from appforge.web.files import highlight_css

    app = FastAPI(title="appforge review", docs_url=None, redoc_url=None, openapi_url=None)
    guard = Guard(settings.serve_token, settings.serve_host)
    app.state.web = Web(settings=settings, store=Store(settings.db_path), guard=guard,
                        jobs=Jobs(settings.home), templates=make_templates(),
                        chat_available=chat_module() is not None,
                        highlight_css=highlight_css())
    app.middleware("http")(guard.middleware)
    app.add_exception_handler(AppforgeError, _appforge_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.include_router(chat.router)
    app.include_router(domains.router)
    app.include_router(cluster.router)
    app.include_router(cluster.actions)
    app.include_router(domains.actions)
    app.include_router(export.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def status_for(exc: AppforgeError) -> int:
    explicit = getattr(exc, "status_code", None)
    if isinstance(explicit, int):
        return explicit
    if isinstance(exc, AppNotFound):
        return 404
    if isinstance(exc, PathOutsideWorkspace):
        return 403
    if isinstance(exc, InvalidInput):
        return 400
    if isinstance(exc, EngineUnavailable):
        return 503
    return 500


def _wants_json(request: Request) -> bool:
    return request.url.path.endswith(".json") or request.url.path.startswith("/jobs/")


async def _appforge_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppforgeError)
    status = status_for(exc)
    if _wants_json(request):
        return JSONResponse({"error": str(exc), "hint": exc.hint or ""}, status_code=status)
    return page(request, "error.html", {"status": status, "message": str(exc),
                                        "hint": exc.hint or "", "detail": exc.detail or ""},
                status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _wants_json(request) or not hasattr(request.state, "csrf"):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)
    message = {404: "There is no page here.", 405: "That address does not take this kind of "
               "request."}.get(exc.status_code, str(exc.detail))
    return page(request, "error.html", {"status": exc.status_code, "message": message,
                                        "hint": "", "detail": ""}, status_code=exc.status_code)


async def _bad_request(request: Request, exc: Exception) -> Response:
    """A malformed address or form (``?v=abc``): say which part, as a 400."""
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{e['loc'][-1]}: {e['msg'].lower()}" for e in exc.errors())
    return await _appforge_error(request, InvalidInput(f"bad request: {problems}"))
