"""Plumbing every page of the app shares: templates, static files, /healthz, headers, error pages.

A write that fails because the disk is full answers 507 with a message that says so (JSON for the
API, a page for people); nothing already saved is touched and the app keeps serving.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import site

APP_DIR = Path(__file__).resolve().parent
STATIC_DIR = APP_DIR.parent / "static"
TEMPLATES_DIR = APP_DIR / "templates"

#: Pages use no scripts, inline styles or third-party hosts, so the policy can be strict.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
    "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
#: FastAPI's interactive docs load their scripts from a CDN, so they keep the browser defaults.
_DOCS_PATHS = ("/docs", "/redoc")
#: What people are told when a write fails because the app's disk is full.
STORAGE_FULL = (
    "The app's storage is full, so this was not saved. Everything saved before is still here: "
    "delete something you no longer need, or ask the app's owner for more space."
)


def data_dir() -> Path:
    """Where the app keeps its data: ``$DATA_DIR`` (``/data`` in the container) or ``./data``."""
    return Path(os.environ.get("DATA_DIR") or "data")


def _static_version() -> str:
    """A short hash of the stylesheet, so browsers fetch it again when it changes."""
    css = STATIC_DIR / "css" / "app.css"
    return hashlib.sha256(css.read_bytes()).hexdigest()[:10] if css.is_file() else "0"


def create_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["site"] = site
    env.globals["css_url"] = f"/static/css/app.css?v={_static_version()}"
    return Jinja2Templates(env=env)


templates = create_templates()


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code)


class SecurityHeaders:
    """Adds the usual hardening headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_docs = scope["path"].startswith(_DOCS_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                if not is_docs:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class QuietHealthChecks(logging.Filter):
    """Keeps the container's health probe (every two seconds) out of the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "/healthz" not in record.getMessage()


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


async def _error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not wants_html(request) or exc.status_code < 400:
        return await http_exception_handler(request, exc)
    return render(request, "error.html", {"status": exc.status_code}, status_code=exc.status_code)


def storage_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the database's share of it) is full."""
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
            "database or disk is full" in str(exc)
        )
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


async def _storage_full_answer(request: Request, exc: Exception) -> Response:
    if not storage_full(exc):
        raise exc
    logging.getLogger("uvicorn.error").warning("a write was refused: the disk is full (%s)", exc)
    if wants_html(request):
        context = {"status": 507, "message": STORAGE_FULL}
        return render(request, "error.html", context, status_code=507)
    return JSONResponse({"detail": STORAGE_FULL}, status_code=507)


def install(app: FastAPI) -> None:
    """Give ``app`` what every generated app has: static files, /healthz, headers, error pages."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(StarletteHTTPException, _error_page)
    app.add_exception_handler(sqlite3.OperationalError, _storage_full_answer)
    app.add_exception_handler(OSError, _storage_full_answer)
    access_log = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QuietHealthChecks) for f in access_log.filters):
        access_log.addFilter(QuietHealthChecks())

    @app.get("/healthz", tags=["health"], summary="Health check")
    def healthz() -> dict[str, str]:
        """Answers 200 while the app is up; the container's HEALTHCHECK calls it."""
        return {"status": "ok"}
