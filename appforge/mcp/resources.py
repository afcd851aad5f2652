"""What a client can read without calling a tool: each app's plan, the files of a version, the
build log and the home page's screenshot.

    appforge://apps/{slug}/plan                              the live (else newest) plan, JSON
    appforge://apps/{slug}/build-log                         the app's events, newest last
    appforge://apps/{slug}/screenshot                        the live version's home page, PNG
    appforge://apps/{slug}/versions/{version}/plan           that version's plan
    appforge://apps/{slug}/versions/{version}/files          its file list
    appforge://apps/{slug}/versions/{version}/files/{path}   one file (text, or bytes)
    appforge://apps/{slug}/versions/{version}/screenshot     its screenshot

Files are found as the dashboard finds them (``web.files.locate``: nothing outside the version's
workspace, no symlinks). Reading returns ``(content, mime type)``; a missing thing is an
:class:`~appforge.errors.AppforgeError` saying which.
"""

from __future__ import annotations

import json
import mimetypes
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from appforge.config import Settings
from appforge.errors import AppNotFound, InvalidInput

PREFIX = "appforge://apps/"
#: The largest file returned whole; bigger ones are refused (the dashboard has them).
MAX_FILE_BYTES = 2_000_000
_URI = re.compile(r"^appforge://apps/(?P<slug>[a-z0-9-]{1,63})"
                  r"(?:/versions/(?P<version>\d{1,6}))?/(?P<what>plan|build-log|screenshot|files)"
                  r"(?:/(?P<path>.+))?$")

TEMPLATES = (
    ("appforge://apps/{slug}/versions/{version}/plan", "plan of a version", "application/json",
     "The plan (AppSpec) a version of the app was built from."),
    ("appforge://apps/{slug}/versions/{version}/files", "files of a version", "application/json",
     "The paths of every file a version of the app is made of."),
    ("appforge://apps/{slug}/versions/{version}/files/{+path}", "a file of a version", None,
     "One file of a version: source as text, images and videos as bytes."),
    ("appforge://apps/{slug}/versions/{version}/screenshot", "screenshot of a version",
     "image/png", "The home page of a version as a browser showed it after its deploy."),
)


def listed(settings: Settings) -> list[dict[str, Any]]:
    """Every app's plan, build log, screenshot (when one was taken) and live file list."""
    from appforge.store import Store
    from appforge.web.model import screenshot_path

    store = Store(settings.db_path)
    found = []
    for app in store.list_apps():
        base = f"{PREFIX}{app.slug}"
        found += [
            {"uri": f"{base}/plan", "name": f"{app.slug} plan", "mime_type": "application/json",
             "description": f"The plan of {app.title} (its live version, else the newest)."},
            {"uri": f"{base}/build-log", "name": f"{app.slug} build log",
             "mime_type": "text/plain",
             "description": f"What happened to {app.title}: builds, deploys, rollbacks, errors."},
        ]
        if app.current_version is None:
            continue
        version = store.get_version(app.slug, app.current_version)
        found.append({"uri": f"{base}/versions/{version.version}/files",
                      "name": f"{app.slug} v{version.version} files",
                      "mime_type": "application/json",
                      "description": f"The files of {app.title} v{version.version} (live)."})
        if screenshot_path(version) is not None:
            found.append({"uri": f"{base}/screenshot", "name": f"{app.slug} screenshot",
                          "mime_type": "image/png",
                          "description": f"The home page of {app.title} v{version.version}."})
    return found


def read(settings: Settings, uri: str) -> tuple[str | bytes, str]:
    """The resource ``uri`` names, and its mime type."""
    from appforge.store import Store
    from appforge.web.model import pick_version

    match = _URI.match(uri)
    if match is None:
        raise AppNotFound(f"no such resource: {uri}",
                          hint="resources/list and resources/templates/list show what there is")
    slug, what = match["slug"], match["what"]
    store = Store(settings.db_path)
    app = store.get_app(slug)
    if what == "build-log":
        return _build_log(store, slug), "text/plain"
    version = pick_version(store, app, int(match["version"]) if match["version"] else None)
    if what == "plan":
        return json.dumps(version.spec, indent=1), "application/json"
    if what == "screenshot":
        return _screenshot(version), "image/png"
    if match["path"]:
        return _file(Path(version.workspace), unquote(match["path"]))
    from appforge.web.files import workspace_files

    return json.dumps(workspace_files(Path(version.workspace))), "application/json"


def _build_log(store: Any, slug: str) -> str:
    lines = []
    for event in reversed(store.events(slug, limit=300)):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event["at"]))
        lines.append(f"{when}  {event['kind']:<9} {event['message']}")
    return "\n".join(lines) + "\n"


def _screenshot(version: Any) -> bytes:
    from appforge.web.model import screenshot_path

    found = screenshot_path(version)
    if found is None:
        raise AppNotFound(f"{version.slug} v{version.version} has no screenshot",
                          hint="screenshots are taken in the background after a deploy "
                          "(APPFORGE_SCREENSHOTS); show_app says whether it is pending")
    return found.read_bytes()


def _file(root: Path, path: str) -> tuple[str | bytes, str]:
    from appforge.web.files import INLINE_MEDIA, is_binary, locate, read_capped

    target = locate(root, path)
    data, size = read_capped(target, MAX_FILE_BYTES + 1)
    if size > MAX_FILE_BYTES:
        raise InvalidInput(f"{path} is {size} bytes; files up to {MAX_FILE_BYTES} are returned",
                           hint="the dashboard (appforge serve) shows and downloads it")
    media = INLINE_MEDIA.get(target.suffix.lower()) or mimetypes.guess_type(path)[0]
    if is_binary(data) or (media or "").startswith(("image/", "video/")):
        return data, media or "application/octet-stream"
    return data.decode("utf-8", errors="replace"), media or "text/plain"
