"""Plumbing every page of the app shares: templates, static files, /healthz, headers, error pages.

A write that fails because the disk is full answers 507 with a message that says so (JSON for the
API, a page for people); nothing already saved is touched and the app keeps serving. A request body
larger than ``$APP_MAX_BODY_BYTES`` answers 413 the same way, before more of it is read. HEAD is
answered wherever GET is, OPTIONS and a method a path does not have name the path's methods in
``Allow``.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import i18n, site

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
#: What a JSON client is told when a write fails because the app's disk is full (a page says it
#: in the app's language: ``error.storage_full`` in app/locale/).
STORAGE_FULL = (
    "The app's storage is full, so this was not saved. Everything saved before is still here: "
    "delete something you no longer need, or ask the app's owner for more space."
)
#: The largest request body read when ``$APP_MAX_BODY_BYTES`` is not set (1 MiB).
DEFAULT_MAX_BODY_BYTES = 1_048_576


class Problem(BaseModel):
    """What an error answer says, for the OpenAPI document."""

    detail: str


#: Answers any operation that reads a JSON body may give, besides 422, for the OpenAPI document.
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not valid JSON text (UTF-8)"},
    413: {"model": Problem, "description": "The body is larger than the app accepts"},
}
#: Answers an operation that writes may give as well.
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **BODY_ERRORS,
    507: {"model": Problem, "description": "The app's storage is full; nothing was saved"},
}


def data_dir() -> Path:
    """Where the app keeps its data: ``$DATA_DIR`` (``/data`` in the container) or ``./data``."""
    return Path(os.environ.get("DATA_DIR") or "data")


def make_temp_folder() -> None:
    """Create ``$TMPDIR`` when it is set and missing (the container sets it to /data/tmp).

    Uploaded form parts larger than 1 MiB are spooled to a temporary file; /tmp is a 64 MiB
    tmpfs (memory) in the container, so the Dockerfile points ``$TMPDIR`` at the data volume,
    which holds the uploads anyway and is what the upload quota and a full disk are about.
    """
    folder = os.environ.get("TMPDIR", "")
    if not folder:
        return
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # tempfile falls back to /tmp, and says nothing: the app still runs
    tempfile.tempdir = None  # ask again, in case the folder was missing when first asked


def max_body_bytes() -> int:
    """The largest request body the app reads: ``$APP_MAX_BODY_BYTES`` (from appforge) or 1 MiB."""
    text = os.environ.get("APP_MAX_BODY_BYTES", "").strip()
    if not text:
        return DEFAULT_MAX_BODY_BYTES
    if not text.isdigit():
        raise ValueError(f"APP_MAX_BODY_BYTES must be a whole number of bytes, not {text!r}")
    return int(text)


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
    env.globals["t"] = i18n.markup
    env.globals["css_url"] = f"/static/css/app.css?v={_static_version()}"
    return Jinja2Templates(env=env)


templates = create_templates()


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, context or {}, status_code=status_code, headers=headers
    )


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


def _size(count: int, bytes_word: str = "bytes") -> str:
    """``1048576`` -> ``"1 MiB"``; sizes that are not whole KiB or MiB stay in bytes."""
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} {bytes_word}"


class BodyTooLarge(StarletteHTTPException):
    """A request body went past the limit (raised while it is read, answered 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than this app accepts ({_size(limit)}).")
        self.limit = limit


class BodyLimit:
    """Refuses request bodies larger than ``limit`` bytes with 413, reading no more than that.

    A declared Content-Length over the limit is answered at once, before any of the body is read;
    a body without one (chunked) is counted as it arrives and cut off at the limit.
    """

    def __init__(self, app: ASGIApp, limit: int | None = None) -> None:
        self.app = app
        self.limit = max_body_bytes() if limit is None else limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await _answer(scope, receive, send, BodyTooLarge(self.limit))
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge as exc:
            # Usually the app's own handler has answered already; this covers code that did not.
            if not started:
                await _answer(scope, receive, send, exc)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class HttpMethods:
    """HEAD wherever GET is (uptime monitors use HEAD), OPTIONS and 405 with a true ``Allow``.

    FastAPI's routes answer HEAD and OPTIONS with 405, and a 405 names the methods of the one route
    it found, not of the path. Here the methods of every route on the path are gathered instead.
    Paths under a mount (static files) answer for themselves.
    """

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    def allowed(self, scope: Scope) -> set[str] | None:
        """The methods the request's path answers, or None when routing should decide."""
        methods: set[str] = set()
        for route in self.router.routes:
            if route.matches(scope)[0] is Match.NONE:
                continue
            if isinstance(route, Mount):
                return None
            # Asked method by method: an included router matches for the routes inside it.
            methods.update(
                method
                for method in _METHODS
                if route.matches({**scope, "method": method})[0] is Match.FULL
            )
        if not methods:
            return None
        if "GET" in methods:
            methods.add("HEAD")
        return methods | {"OPTIONS"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = self.allowed(scope) if scope["type"] == "http" else None
        if allowed is None:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        allow = {"Allow": ", ".join(sorted(allowed))}
        if method == "OPTIONS":
            await Response(status_code=204, headers=allow)(scope, receive, send)
        elif method not in allowed:
            error = StarletteHTTPException(405, "Method Not Allowed", headers=allow)
            await _answer(scope, receive, send, error)
        elif method == "HEAD":
            await self.app({**scope, "method": "GET"}, receive, _without_body(send))
        else:
            await self.app(scope, receive, send)


def _without_body(send: Send) -> Send:
    """``send`` for a HEAD answered as a GET: the same status and headers, an empty body."""

    async def send_headers(message: Message) -> None:
        if message["type"] == "http.response.body":
            if not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await send(message)

    return send_headers


async def _answer(scope: Scope, receive: Receive, send: Send, exc: StarletteHTTPException) -> None:
    """Answer ``exc`` from a middleware as the app's error handler would."""
    response = await _error_page(Request(scope, receive), exc)
    await response(scope, receive, send)


class QuietHealthChecks(logging.Filter):
    """Keeps the container's health probe (every ten seconds) out of the access log."""

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
    context: dict[str, Any] = {"status": exc.status_code}
    if isinstance(exc, BodyTooLarge):
        context["message"] = i18n.t("error.too_large", size=_size(exc.limit, i18n.t("units.bytes")))
    return render(request, "error.html", context, status_code=exc.status_code, headers=exc.headers)


#: Postgres' SQLSTATE for a full disk (disk_full), read off psycopg's errors without importing it.
POSTGRES_DISK_FULL = "53100"


def storage_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the database's share of it) is full."""
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
            "database or disk is full" in str(exc)
        )
    if getattr(exc, "sqlstate", None) == POSTGRES_DISK_FULL:
        return True
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


async def storage_full_answer(request: Request, exc: Exception) -> Response:
    if not storage_full(exc):
        raise exc
    logging.getLogger("uvicorn.error").warning("a write was refused: the disk is full (%s)", exc)
    if wants_html(request):
        context = {"status": 507, "message": i18n.t("error.storage_full")}
        return render(request, "error.html", context, status_code=507)
    return JSONResponse({"detail": STORAGE_FULL}, status_code=507)


def install(app: FastAPI) -> None:
    """Give ``app`` what every generated app has: static files, /healthz, headers, error pages."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The last one added runs first: headers go on every answer, the body limit comes before
    # anything reads a body.
    app.add_middleware(HttpMethods, router=app.router)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(StarletteHTTPException, _error_page)
    app.add_exception_handler(sqlite3.OperationalError, storage_full_answer)
    app.add_exception_handler(OSError, storage_full_answer)
    access_log = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QuietHealthChecks) for f in access_log.filters):
        access_log.addFilter(QuietHealthChecks())

    @app.get("/healthz", tags=["health"], summary="Health check")
    def healthz() -> dict[str, str]:
        """Answers 200 while the app is up; the container's HEALTHCHECK calls it."""
        return {"status": "ok"}
