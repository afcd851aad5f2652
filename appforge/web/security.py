"""Keeping the dashboard to its owner: bind check, token login, CSRF tokens, security headers.

The dashboard can redeploy and destroy apps, so it is bound to loopback unless configured, and
anywhere else it asks for a token (``Authorization: Bearer`` or a login form that sets an HttpOnly,
SameSite=Strict cookie). Bound to loopback without a token it still refuses requests whose Host
header is not a loopback name, so a web page cannot reach it through DNS rebinding. Every POST
carries a CSRF token bound to a per-browser cookie. Pages are served with a CSP that allows no
inline script and no framing.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from appforge.errors import AppforgeError, InvalidInput

AUTH_COOKIE = "appforge_auth"
CSRF_COOKIE = "appforge_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MIN_TOKEN_CHARS = 16
#: Paths anyone may fetch: the login page and the dashboard's own CSS and JS.
OPEN_PREFIXES = ("/login", "/static/")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class Forbidden(AppforgeError):
    """A request the dashboard refuses: a missing or wrong CSRF token, a foreign Host header."""

    status_code = 403


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str, what: str = "the dashboard") -> None:
    """Refuse to serve ``what`` (the dashboard, the MCP server) on a non-loopback address
    without a token (or with a guessable one)."""
    if not is_loopback(host) and not token:
        raise InvalidInput(
            f"refusing to serve {what} on {host} without a token: anyone who can reach "
            "that address could redeploy or destroy your apps",
            hint="set APPFORGE_SERVE_TOKEN (or --token) to a long random string, e.g. "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(24))'`, or serve on "
            "127.0.0.1 and reach it through an SSH tunnel")
    if token and len(token) < MIN_TOKEN_CHARS:
        raise InvalidInput(f"the token is {len(token)} characters long; use at least "
                           f"{MIN_TOKEN_CHARS}",
                           hint="`python3 -c 'import secrets; print(secrets.token_urlsafe(24))'` "
                           "makes a good one")


class Guard:
    """The per-installation secrets and checks; ``middleware`` runs on every request."""

    def __init__(self, token: str, host: str) -> None:
        self.token = token
        self.host = host
        self.secret = secrets.token_bytes(32)

    # -- authentication -------------------------------------------------------------------------
    def session_value(self) -> str:
        """What the auth cookie holds: derived from the token, never the token itself."""
        return hmac.new(self.token.encode(), b"appforge-dashboard-session",
                        hashlib.sha256).hexdigest()

    def token_matches(self, given: str) -> bool:
        return bool(self.token) and hmac.compare_digest(given.encode(), self.token.encode())

    def authenticated(self, request: Request) -> bool:
        if not self.token:
            return True
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer ") and self.token_matches(header[7:].strip()):
            return True
        cookie = request.cookies.get(AUTH_COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie, self.session_value())

    def host_allowed(self, request: Request) -> bool:
        """Without a token, only loopback names may be asked for (no DNS rebinding)."""
        if self.token:
            return True
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return is_loopback(name) or name.strip("[]") == self.host

    # -- CSRF -----------------------------------------------------------------------------------
    def csrf_token(self, browser: str) -> str:
        return hmac.new(self.secret, browser.encode(), hashlib.sha256).hexdigest()

    async def check_csrf(self, request: Request) -> None:
        """Raise :class:`Forbidden` unless the POST carries this browser's CSRF token."""
        browser = request.cookies.get(CSRF_COOKIE, "")
        given = request.headers.get(CSRF_HEADER, "")
        if not given:
            form = await request.form()
            value = form.get(CSRF_FIELD, "")
            given = value if isinstance(value, str) else ""
        if not browser or not given or not hmac.compare_digest(given, self.csrf_token(browser)):
            raise Forbidden("this form's security token is missing or does not match",
                            hint="reload the page and try again (the dashboard may have been "
                            "restarted since the page was loaded)")

    # -- the middleware -------------------------------------------------------------------------
    async def middleware(self, request: Request,
                         call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not self.host_allowed(request):
            response: Response = PlainTextResponse(
                "This dashboard answers only at a loopback address (127.0.0.1 or localhost).",
                status_code=421)
            return self._harden(request, response)
        browser = request.cookies.get(CSRF_COOKIE) or ""
        fresh = not browser
        if fresh:  # a browser's first request: forms rendered now match the cookie set now
            browser = secrets.token_urlsafe(32)
        request.state.csrf = self.csrf_token(browser)
        request.state.auth = bool(self.token)
        if not self.authenticated(request) and not request.url.path.startswith(OPEN_PREFIXES):
            response = self._login_required(request)
        else:
            response = await call_next(request)
        if fresh:
            response.set_cookie(CSRF_COOKIE, browser, httponly=True, samesite="strict", path="/")
        return self._harden(request, response)

    def _login_required(self, request: Request) -> Response:
        wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if wants_page:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return PlainTextResponse("authentication required: send Authorization: Bearer <token>",
                                 status_code=401, headers={"WWW-Authenticate": "Bearer"})

    @staticmethod
    def _harden(request: Request, response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-cache")
        else:
            response.headers.setdefault("Cache-Control", "no-store")
        return response
