"""Rendering pages: the Jinja2 environment, its filters, flash messages, and the common context.

Every page gets the CSRF token for its forms, the apps for the sidebar, and the flash message
left by the action that redirected to it (a short-lived cookie, shown once).
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

FLASH_COOKIE = "appforge_flash"
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def ago(timestamp: float | None) -> str:
    """'just now', '5 min ago', '3 h ago', '2 days ago'."""
    if not timestamp:
        return "never"
    seconds = max(time.time() - timestamp, 0)
    for limit, size, unit in ((60, 1, "s"), (3600, 60, "min"), (86400, 3600, "h")):
        if seconds < limit:
            if unit == "s" and seconds < 10:
                return "just now"
            return f"{int(seconds // size)} {unit} ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days != 1 else ''} ago"


def when(timestamp: float | None) -> str:
    if not timestamp:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def size(value: float | None) -> str:
    amount = float(value or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GiB"


def seconds(value: float | None) -> str:
    amount = float(value or 0)
    if amount < 1:
        return f"{amount * 1000:.0f} ms"
    if amount < 120:
        return f"{amount:.1f} s"
    return f"{amount // 60:.0f} min {amount % 60:.0f} s"


#: Status words -> the colour of their pill.
TONES = {"running": "ok", "healthy": "ok", "serving": "ok", "done": "ok", "passed": "ok",
         "stopped": "off", "retired": "off", "none": "off", "no container": "off", "new": "off",
         "unknown": "off",
         "failed": "bad", "unhealthy": "bad", "error": "bad", "exited": "bad",
         "building": "busy", "starting": "busy", "packaged": "busy", "deployed": "busy"}


def tone(status: str | None) -> str:
    return TONES.get((status or "").lower(), "busy" if status else "off")


#: Event kinds (store.events) -> the colour of their chip.
EVENT_TONES = {"error": "bad", "deploy": "ok", "rollback": "busy", "start": "ok", "restore": "busy",
               "build": "strong", "stop": "off", "destroy": "off"}


def event_tone(kind: str) -> str:
    return EVENT_TONES.get(kind, "off")


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.filters.update(ago=ago, when=when, size=size, seconds=seconds, tone=tone,
                       event_tone=event_tone)
    env.globals["now"] = time.time
    return templates


def set_flash(response: Response, text: str, kind: str = "ok", hint: str = "") -> Response:
    payload = json.dumps({"text": text, "kind": kind, "hint": hint})
    response.set_cookie(FLASH_COOKIE, base64.urlsafe_b64encode(payload.encode()).decode(),
                        max_age=60, httponly=True, samesite="strict", path="/")
    return response


def take_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return {k: str(data.get(k, "")) for k in ("text", "kind", "hint")}
    except (ValueError, TypeError, AttributeError):
        return None


def redirect(url: str, flash: str = "", kind: str = "ok", hint: str = "") -> Response:
    response = RedirectResponse(url, status_code=303)
    if flash:
        set_flash(response, flash, kind, hint)
    return response


def page(request: Request, template: str, context: dict[str, Any],
         status_code: int = 200) -> Response:
    """Render ``template`` with the common context; a flash shown here is cleared."""
    web = request.app.state.web
    flash = take_flash(request)
    signed_in = web.guard.authenticated(request)
    full = {"request": request, "csrf": request.state.csrf, "flash": flash,
            "auth": bool(web.guard.token) and signed_in,
            "nav_apps": web.nav_apps() if signed_in else [],
            "chat_available": web.chat_available, **context}
    response = web.templates.TemplateResponse(request, template, full, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response
