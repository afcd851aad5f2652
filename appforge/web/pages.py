"""The dashboard's pages (GET): the apps list and each app's tabs, files, media and live data.

Each handler reads the store and the workspaces through ``model``, ``files`` and ``diff`` and
renders one template; the JSON endpoints (``stats.json``, ``logs.json``, ``/jobs/{id}``) feed
the little script that refreshes live parts of a page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, JSONResponse, Response

from appforge.errors import AppNotFound
from appforge.web import diff, files, live, model
from appforge.web.render import page, redirect

router = APIRouter()


def _web(request: Request) -> Any:
    return request.app.state.web


def _job(request: Request, slug: str | None = None) -> Any:
    """The job named in ``?job=`` (to show its progress or result), or the app's running one."""
    jobs = _web(request).jobs
    job_id = request.query_params.get("job")
    job = jobs.get(job_id) if job_id else None
    if job is None and slug:
        job = jobs.running(slug)
    return job


def app_page(request: Request, slug: str, tab: str, template: str,
              context: dict[str, Any]) -> Response:
    web = _web(request)
    detail = model.app_detail(web.settings, web.store, slug)
    return page(request, template, {"tab": tab, "job": _job(request, slug), **detail,
                                    "busy": web.jobs.running(slug) is not None, **context})


@router.get("/")
def index(request: Request) -> Response:
    web = _web(request)
    rows = model.app_rows(web.settings, web.store)
    engine_down = bool(rows) and all(r["live"]["live"] == "unknown" for r in rows)
    return page(request, "index.html", {"rows": rows, "engine_down": engine_down,
                                        "job": _job(request)})


@router.get("/apps/{slug}")
def overview(request: Request, slug: str) -> Response:
    web = _web(request)
    app = model.find_app(web.store, slug)
    now = live.app_states(web.settings, [app])[slug]
    from appforge.backups import list_backups

    return app_page(request, slug, "overview", "overview.html",
                    {"live": now, "backups": list_backups(web.settings, slug)})


@router.get("/apps/{slug}/versions")
def versions(request: Request, slug: str) -> Response:
    model.find_app(_web(request).store, slug)
    return app_page(request, slug, "versions", "versions.html", {})


@router.get("/apps/{slug}/plan")
def plan(request: Request, slug: str, v: int | None = None) -> Response:
    web = _web(request)
    version = model.pick_version(web.store, model.find_app(web.store, slug), v)
    return app_page(request, slug, "plan", "plan.html",
                     {"version": version, "plan": model.plan_view(version.spec)})


@router.get("/apps/{slug}/files")
def file_tree(request: Request, slug: str, v: int | None = None, path: str = "") -> Response:
    web = _web(request)
    version = model.pick_version(web.store, model.find_app(web.store, slug), v)
    root = Path(version.workspace)
    paths = files.workspace_files(root)
    chosen = path or _default_file(paths)
    shown = files.view(root, chosen) if chosen else None
    return app_page(request, slug, "files", "files.html",
                     {"version": version, "tree": files.tree(paths), "file": shown,
                      "count": len(paths), "selected": chosen})


def _default_file(paths: list[str]) -> str:
    for name in ("README.md", "app/main.py"):
        if name in paths:
            return name
    return paths[0] if paths else ""


@router.get("/apps/{slug}/diff")
def version_diff(request: Request, slug: str, a: int | None = None,
                 b: int | None = None) -> Response:
    web = _web(request)
    app = model.find_app(web.store, slug)
    numbers = [v.version for v in web.store.list_versions(slug)]
    if a is None or b is None:
        b = b if b is not None else (app.current_version or (numbers[-1] if numbers else None))
        older = [n for n in numbers if b is not None and n < b]
        a = a if a is not None else (older[-1] if older else b)
    comparison = None
    if a is not None and b is not None:
        old, new = web.store.get_version(slug, a), web.store.get_version(slug, b)
        comparison = diff.compare(Path(old.workspace), Path(new.workspace))
    return app_page(request, slug, "diff", "diff.html",
                     {"a": a, "b": b, "numbers": numbers, "comparison": comparison})


@router.get("/apps/{slug}/assets")
def assets(request: Request, slug: str, v: int | None = None) -> Response:
    web = _web(request)
    version = model.pick_version(web.store, model.find_app(web.store, slug), v)
    return app_page(request, slug, "assets", "assets.html",
                     {"version": version, "assets": model.asset_manifest(version)})


@router.get("/apps/{slug}/tests")
def tests(request: Request, slug: str, v: int | None = None) -> Response:
    web = _web(request)
    version = model.pick_version(web.store, model.find_app(web.store, slug), v)
    return app_page(request, slug, "tests", "tests.html",
                     {"version": version, "report": model.test_report(version),
                      "coder": model.coder_sessions(version)})


@router.get("/apps/{slug}/build-log")
def build_log(request: Request, slug: str) -> Response:
    web = _web(request)
    model.find_app(web.store, slug)
    return app_page(request, slug, "build-log", "build_log.html",
                     {"events": web.store.events(slug, limit=300)})


@router.get("/apps/{slug}/logs")
def logs(request: Request, slug: str) -> Response:
    web = _web(request)
    model.find_app(web.store, slug)
    return app_page(request, slug, "logs", "logs.html",
                     {"logs": live.log_text(web.settings, slug)})


@router.get("/apps/{slug}/logs.json")
def logs_json(request: Request, slug: str, tail: int = 200) -> JSONResponse:
    web = _web(request)
    model.find_app(web.store, slug)
    return JSONResponse(live.log_text(web.settings, slug, tail=max(1, min(tail, 2000))))


@router.get("/apps/{slug}/stats.json")
def stats_json(request: Request, slug: str) -> JSONResponse:
    web = _web(request)
    app = model.find_app(web.store, slug)
    return JSONResponse(live.stats(web.settings, slug, app.current_version))


@router.get("/apps/{slug}/raw/{version}/{path:path}")
def raw(request: Request, slug: str, version: int, path: str) -> Response:
    web = _web(request)
    model.find_app(web.store, slug)
    record = web.store.get_version(slug, version)
    return files.raw(Path(record.workspace), path)


@router.get("/apps/{slug}/screenshot/{version}.png")
def screenshot(request: Request, slug: str, version: int, thumb: bool = False) -> Response:
    web = _web(request)
    model.find_app(web.store, slug)
    found = model.screenshot_path(web.store.get_version(slug, version), thumb=thumb)
    if found is None:
        raise AppNotFound(f"{slug} v{version} has no screenshot")
    return FileResponse(found, media_type="image/png")


@router.get("/jobs/{job_id}")
def job(request: Request, job_id: str) -> JSONResponse:
    found = _web(request).jobs.get(job_id)
    if found is None:
        raise AppNotFound(f"no job {job_id!r} (the dashboard may have been restarted)")
    return JSONResponse(found.as_json())


@router.get("/login")
def login(request: Request, next: str = "/") -> Response:
    if not _web(request).guard.token:
        return redirect("/")
    return page(request, "login.html", {"next": next, "error": ""})


@router.get("/static/highlight.css")
def highlight_css(request: Request) -> Response:
    return Response(_web(request).highlight_css, media_type="text/css")
