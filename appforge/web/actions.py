"""The dashboard's actions (POST, each CSRF-checked): rebuild, roll back, stop, start, destroy,
back up and restore the app's data.

Each action starts a background job (``jobs.py``) and redirects to the app's page, which shows
the job's progress and then its result; what can be refused at once (a busy app, a wrong
confirmation) is refused with a flash message. Deploy-type actions hold the app's lock, as the
CLI's commands do; a rebuild takes it inside ``agent.run.build``.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from appforge.errors import AppforgeError
from appforge.web import model
from appforge.web.jobs import Job
from appforge.web.render import page, redirect
from appforge.web.security import AUTH_COOKIE


async def csrf_checked(request: Request) -> None:
    await request.app.state.web.guard.check_csrf(request)


router = APIRouter(dependencies=[Depends(csrf_checked)])


def _web(request: Request) -> Any:
    return request.app.state.web


def start_job(request: Request, slug: str, action: str, title: str, work: Any,
              back: str = "") -> Response:
    """Start ``work`` as the app's job; a refusal comes back as a flash on the same page."""
    web = _web(request)
    target = back or f"/apps/{slug}"
    try:
        job = web.jobs.start(slug, action, title, work)
    except AppforgeError as exc:
        return redirect(target, str(exc), "error", exc.hint or "")
    return redirect(f"{target}?job={job.id}")


def job_lock(web: Any, slug: str, job: Job) -> Any:
    """The app's lock for a job's deploy-type work, as the CLI's commands hold it."""
    from appforge.store.locks import app_lock

    return app_lock(web.settings.home, slug, job.say, wait_s=web.settings.lock_wait)


@router.post("/jobs/{job_id}/cancel")
def cancel_job(request: Request, job_id: str) -> Response:
    """Cancel a running job: its model calls stop at once and their connections close."""
    from appforge.errors import AppNotFound

    found = _web(request).jobs.get(job_id)
    if found is None:
        raise AppNotFound(f"no job {job_id!r} (the dashboard may have been restarted)")
    found.cancel()
    return redirect(f"/apps/{found.slug}?job={job_id}")


@router.post("/apps/{slug}/rollback")
def rollback(request: Request, slug: str, version: int = Form(...)) -> Response:
    from appforge.tools import apps

    web = _web(request)
    model.find_app(web.store, slug)

    def work(job: Job) -> str:
        with job_lock(web, slug, job):
            done = apps.rollback(web.settings, slug, version, job.say)
        return f"rolled back to v{done.version}: serving at {done.url}"

    return start_job(request, slug, "rollback", f"Roll back to v{version}", work)


@router.post("/apps/{slug}/stop")
def stop(request: Request, slug: str) -> Response:
    from appforge.tools import apps

    web = _web(request)
    model.find_app(web.store, slug)

    def work(job: Job) -> str:
        with job_lock(web, slug, job):
            apps.stop(web.settings, slug, job.say)
        return f"stopped {slug}: its domain answers 503 until it is started"

    return start_job(request, slug, "stop", "Stop", work)


@router.post("/apps/{slug}/start")
def start(request: Request, slug: str) -> Response:
    from appforge.tools import apps

    web = _web(request)
    model.find_app(web.store, slug)

    def work(job: Job) -> str:
        with job_lock(web, slug, job):
            done = apps.start(web.settings, slug, job.say)
        return f"started v{done.version} at {done.url}"

    return start_job(request, slug, "start", "Start", work)


@router.post("/apps/{slug}/rebuild")
def rebuild(request: Request, slug: str) -> Response:
    from appforge.agent.run import build

    web = _web(request)
    app = model.find_app(web.store, slug)
    version = model.pick_version(web.store, app, None)

    def work(job: Job) -> str:
        result = build(version.description or version.spec.get("description", ""), web.settings,
                       on_event=job.on_event, app=slug, spec=version.spec)
        return f"v{result.version} is live at {result.url}"

    # build() takes the app's lock itself (a second flock here would wait for ourselves).
    return start_job(request, slug, "rebuild", f"Rebuild from v{version.version}'s plan", work)


@router.post("/apps/{slug}/destroy")
def destroy(request: Request, slug: str, confirm: str = Form(""),
            keep_data: bool = Form(False)) -> Response:
    from appforge.tools import apps

    web = _web(request)
    model.find_app(web.store, slug)
    if confirm.strip() != slug:
        return redirect(f"/apps/{slug}", f"{slug} was not destroyed: type its name, {slug}, to "
                        "confirm", "error")

    def work(job: Job) -> str:
        job.redirect = "/"
        with job_lock(web, slug, job):
            removed = apps.destroy(web.settings, slug, keep_data, job.say)
        kept = " (data volume kept)" if keep_data else ""
        return f"destroyed {slug}: removed {', '.join(removed) or 'nothing was running'}{kept}"

    return start_job(request, slug, "destroy", f"Destroy {slug}", work)


@router.post("/apps/{slug}/backup")
def backup(request: Request, slug: str) -> Response:
    from appforge.backups import snapshot
    from appforge.sandbox.engine import connect

    web = _web(request)
    model.find_app(web.store, slug)

    def work(job: Job) -> str:
        with job_lock(web, slug, job):
            taken = snapshot(connect(web.settings), web.settings, web.store, slug, "manual",
                             job.say)
        return f"backed up {slug}: {taken.id} ({taken.files} file(s))"

    return start_job(request, slug, "backup", "Back up the data", work)


@router.post("/apps/{slug}/restore")
def restore(request: Request, slug: str, backup_id: str = Form(""),
            confirm: str = Form("")) -> Response:
    from appforge.backups import restore as restore_data
    from appforge.backups.catalog import find
    from appforge.sandbox.engine import connect

    web = _web(request)
    model.find_app(web.store, slug)
    chosen = find(web.settings, slug, backup_id)
    if confirm.strip() != slug:
        return redirect(f"/apps/{slug}", f"{slug}'s data was not restored: type its name, {slug}, "
                        "to confirm", "error")

    def work(job: Job) -> str:
        with job_lock(web, slug, job):
            done = restore_data(connect(web.settings), web.settings, web.store, slug, chosen.id,
                                job.say)
        return (f"restored {slug}'s data from {done.backup.id}; the data it replaced is "
                f"snapshot {done.undo.id} (restore it to undo)")

    return start_job(request, slug, "restore", f"Restore the data from {chosen.id}", work)


@router.post("/login")
def login(request: Request, token: str = Form(""), next: str = Form("/")) -> Response:
    guard = _web(request).guard
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    if not guard.token_matches(token.strip()):
        time.sleep(0.5)  # a guess costs time
        return page(request, "login.html", {"next": target, "error": (
            "That is not this dashboard's token. It is the APPFORGE_SERVE_TOKEN (or --token) "
            "the dashboard was started with.")}, status_code=401)
    response = redirect(target)
    response.set_cookie(AUTH_COOKIE, guard.session_value(), httponly=True, samesite="strict",
                        path="/")
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    response = redirect("/login")
    response.delete_cookie(AUTH_COOKIE, path="/")
    return response
