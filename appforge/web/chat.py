"""The chat panel: the same conversation as ``appforge chat``, on the same thread, in the page.

It uses ``appforge.chat.session.ChatSession`` when this installation has it; without it the tab
says so and nothing else changes. A message, an approval or a cancel runs as the app's job (a
turn may plan and build), and the page shows the conversation and any plan awaiting approval.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from appforge.errors import AppforgeError, InvalidInput
from appforge.web import model
from appforge.web.actions import csrf_checked, start_job
from appforge.web.jobs import Job
from appforge.web.pages import app_page
from appforge.web.render import redirect

router = APIRouter()
CSRF = Depends(csrf_checked)
MAX_MESSAGE_CHARS = 4000


def _web(request: Request) -> Any:
    return request.app.state.web


def _session(request: Request, slug: str) -> Any:
    from appforge.web.app import chat_module

    module = chat_module()
    if module is None:
        raise InvalidInput("the chat is not part of this installation of appforge",
                           hint="update appforge; everything else here works without it")
    return module.ChatSession.open(_web(request).settings, app=slug)


@router.get("/apps/{slug}/chat")
def chat(request: Request, slug: str) -> Response:
    web = _web(request)
    model.find_app(web.store, slug)
    history: list[dict[str, Any]] = []
    pending = None
    problem = ""
    turn = web.jobs.running(slug)
    if turn is not None and turn.action == "chat":
        # The turn holds the conversation's lock until it ends; its progress is shown above.
        problem = "A chat turn is running; the conversation shows here when it is done."
    elif web.chat_available:
        try:
            session = _session(request, slug)
            history, pending = session.history(), session.pending()
        except AppforgeError as exc:
            problem = str(exc)
    return app_page(request, slug, "chat", "chat.html",
                    {"history": history, "pending": pending, "problem": problem})


def _turn(request: Request, slug: str, title: str, call: Any) -> Response:
    web = _web(request)
    model.find_app(web.store, slug)
    session = _session(request, slug)

    def work(job: Job) -> str:
        reply = call(session, job)
        job.say(reply.text)
        if reply.url and reply.version:
            return f"v{reply.version} is live at {reply.url}"
        if reply.pending:
            return "a plan is waiting for your approval"
        return reply.text.splitlines()[0] if reply.text else "done"

    return start_job(request, slug, "chat", title, work, back=f"/apps/{slug}/chat")


@router.post("/apps/{slug}/chat", dependencies=[CSRF])
def send(request: Request, slug: str, text: str = Form("")) -> Response:
    from appforge.spec import strip_controls

    if not strip_controls(text)[0].strip():  # what reaches the chat (it strips the rest)
        return redirect(f"/apps/{slug}/chat", "write a message first", "error")
    text = text.strip()
    if len(text) > MAX_MESSAGE_CHARS:
        return redirect(f"/apps/{slug}/chat", f"that message is {len(text)} characters long; "
                        f"keep it under {MAX_MESSAGE_CHARS}", "error")
    return _turn(request, slug, "Chat message", lambda s, job: s.send(text, on_event=job.on_event))


@router.post("/apps/{slug}/chat/approve", dependencies=[CSRF])
def approve(request: Request, slug: str) -> Response:
    return _turn(request, slug, "Approve the plan", lambda s, job: s.approve(on_event=job.on_event))


@router.post("/apps/{slug}/chat/cancel", dependencies=[CSRF])
def cancel(request: Request, slug: str) -> Response:
    return _turn(request, slug, "Cancel the plan", lambda s, job: s.cancel())
