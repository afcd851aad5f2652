"""The chat graph: a message becomes a plan (or a change to the live plan), the plan waits for the
user's approval (a LangGraph interrupt), and an approved plan is built and deployed blue/green.

    START → understand → review ⟲ (edits while the plan waits) → build → END
                       ↘ offer_domain → review_domain ⟲ → buy_domain → END  (chat/domains.py)

One thread per conversation, checkpointed in ``chat.sqlite``: quitting and coming back continues
it, a plan still waiting for approval included. ``auto_approve`` (``--yes``) skips the interrupt.
"""

from __future__ import annotations

import operator
import re
import time
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from appforge.chat.changes import file_changes, plan_summary, spec_changes
from appforge.chat.domains import buy_domain, offer_domain, review_domain, wants_domain
from appforge.config import Settings
from appforge.errors import AppforgeError
from appforge.spec import AppSpec

APPROVE = re.compile(r"^\s*(?:y|yes|yep|yeah|ok|okay|approve[d]?|go|go ahead|ship it|build it|"
                     r"deploy|deploy it|lgtm|looks good|sure|do it|👍)\s*[.!]*\s*$", re.IGNORECASE)
CANCEL = re.compile(r"^\s*(?:n|no|nope|cancel|stop|abort|discard|never ?mind|forget it)\s*[.!]*\s*$",
                    re.IGNORECASE)


def message(role: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "text": text, "at": time.time(), **extra}


class ChatState(TypedDict, total=False):
    messages: Annotated[list[dict[str, Any]], operator.add]
    #: The user's latest message (the input of a turn).
    input: str
    slug: str | None
    #: The plan that is live (the last one deployed), as a dict.
    spec: dict[str, Any] | None
    #: A plan waiting for approval: {"spec", "summary", "changes", "description", "host"}.
    pending: dict[str, Any] | None
    auto_approve: bool
    url: str | None
    version: int | None
    #: What the last deploy changed: plan lines and files (for /diff).
    last_changes: list[str]
    last_files: dict[str, list[str]]
    #: Names offered for the app, waiting for approval ({"choice", "names", "registrar",
    #: "budget"}): see chat/domains.py.
    domain_offer: dict[str, Any] | None


@dataclass
class ChatContext:
    settings: Settings
    planner: str = "auto"


def answer_of(text: str) -> dict[str, str]:
    """A reply to a waiting plan: approve, cancel, or a change to it."""
    if APPROVE.match(text):
        return {"action": "approve", "said": text}
    if CANCEL.match(text):
        return {"action": "cancel", "said": text}
    return {"action": "edit", "text": text, "said": text}


def _store(settings: Settings) -> Any:
    from appforge.store import Store

    return Store(settings.db_path)


def _deployed(settings: Settings, slug: str | None) -> bool:
    if not slug:
        return False
    app = _store(settings).find_app(slug)
    return app is not None and app.current_version is not None


def revise(settings: Settings, planner: str, spec: AppSpec, text: str) -> tuple[AppSpec, str]:
    """The spec changed as ``text`` asks, by the LLM when one is configured (or asked for) and by
    the edit rules otherwise; returns the new spec and who made the change."""
    from appforge.chat.edits import apply_edit

    deployed = _deployed(settings, spec.slug)
    name = settings.planner_name if planner == "auto" else planner
    if name != "llm":
        return apply_edit(spec, text, deployed=deployed), "rules"
    from appforge.agent.planners import get_planner
    from appforge.chat.edits import restyle

    new = get_planner("llm", settings).revise(spec, text)
    # Colours are the rules' part (the model's plan carries only light or dark).
    new = restyle(new, text) or new
    if not deployed and new.name != spec.name:  # nothing is live yet: the address may follow
        from appforge.agent.planners.naming import make_slug

        new = new.model_copy(update={"slug": make_slug(new.name, spec.description)})
    return AppSpec.model_validate(new.model_dump(mode="json")), "llm"


def pending_review(settings: Settings, spec: AppSpec, before: AppSpec | None, description: str,
             how: str) -> dict[str, Any]:
    store = _store(settings)
    existing = store.find_app(spec.slug)
    hosts = store.domains(spec.slug) if existing else []
    host = spec.domain or (hosts[0] if hosts else spec.host(settings.base_domain))
    summary = plan_summary(spec, host)
    if before is None and existing is not None:
        summary.append(f"note: an app called {spec.slug} exists; this makes a new version of it")
    return {"spec": spec.model_dump(mode="json"), "summary": summary,
            "changes": spec_changes(before, spec), "description": description, "host": host,
            "how": how}


def _plan_text(pending: dict[str, Any], first: bool) -> str:
    lines = pending["summary"] if first or not pending["changes"] else pending["changes"]
    head = "Here is the plan:" if first or not pending["changes"] else "Changes to make:"
    return head + "\n" + "\n".join(f"  {line}" for line in lines)


def _failed(exc: AppforgeError) -> str:
    return f"{exc}" + (f" ({exc.hint})" if exc.hint else "")


def understand(state: ChatState, runtime: Runtime[ChatContext]) -> Command[Any]:
    """A new app's description, or a change to the app (or to a plan not yet approved)."""
    settings, text = runtime.context.settings, state["input"]
    pending = state.get("pending")
    if pending:  # a plan that waits (its build failed, or the chat was left): answer it
        answer = answer_of(text)
        if answer["action"] == "approve":
            return Command(goto="build")
        if answer["action"] == "cancel":
            return Command(goto=END, update={"pending": None, "messages": [message(
                "assistant", "Cancelled; the app was not changed.")]})
    replicas = None if pending else wants_replicas(text)
    if replicas is not None:
        return Command(goto=END, update={"messages": [_scale(settings, state.get("slug"),
                                                             replicas)]})
    if not pending and wants_domain(text):
        if not _deployed(settings, state.get("slug")):
            return Command(goto=END, update={"messages": [message(
                "assistant", "Build the app first; then ask me for a domain for it.")]})
        return Command(goto="offer_domain")
    base = pending["spec"] if pending else state.get("spec")
    try:
        if base is None:
            from appforge.agent.planners import get_planner

            planner = get_planner(runtime.context.planner, settings)
            spec, how = planner.plan(text), planner.name
            before, description = None, text
        else:
            before = AppSpec.model_validate(state.get("spec") or base)
            spec, how = revise(settings, runtime.context.planner,
                               AppSpec.model_validate(base), text)
            description = text
    except AppforgeError as exc:
        return Command(goto=END, update={"messages": [message("assistant", _failed(exc),
                                                              kind="error")]})
    new = pending_review(settings, spec, before, description, how)
    if before is not None and not new["changes"]:
        return Command(goto=END, update={"messages": [message(
            "assistant", "That asks for nothing that differs from the current plan.")]})
    _remember(settings, spec.slug, runtime)
    return Command(goto="review", update={"pending": new, "slug": state.get("slug") or spec.slug,
                                          "messages": [message("assistant", _plan_text(
                                              new, before is None), kind="plan")]})


#: "run 3 replicas", "scale to 3", "3 copies of it": how many copies of the app to run (Swarm).
WANTS_REPLICAS = re.compile(r"\b(?:scale\b[^.?!\d]{0,20}?(?:to|up to|down to)\s+(\d{1,3})\b|"
                            r"(\d{1,3})\s+(?:replicas?|copies|instances)\b)", re.IGNORECASE)


def wants_replicas(text: str) -> int | None:
    found = WANTS_REPLICAS.search(text)
    return int(found.group(1) or found.group(2)) if found else None


def _scale(settings: Settings, slug: str | None, replicas: int) -> dict[str, Any]:
    """Scale the chat's app at once: no plan to approve (nothing in the app changes, and a
    scale is undone by another); the same refusals as `appforge scale`."""
    from appforge.store.locks import app_lock
    from appforge.tools import apps

    if not _deployed(settings, slug):
        return message("assistant", "Build the app first; then ask me to scale it.")
    assert slug is not None
    try:
        with app_lock(settings.home, slug, wait_s=settings.lock_wait):
            done = apps.scale(settings, slug, replicas, lambda _m: None)
    except AppforgeError as exc:
        return message("assistant", _failed(exc), kind="error")
    nodes = sorted({r["node"] for r in done["running"] if r["state"] == "running"})
    return message("assistant", f"{slug} now runs {replicas} replica(s)"
                   + (f" on {', '.join(nodes)}" if nodes else "") + ".")


def _remember(settings: Settings, slug: str, runtime: Runtime[ChatContext]) -> None:
    from langgraph.config import get_config

    from appforge.chat.threads import remember

    remember(settings, slug, get_config()["configurable"]["thread_id"])


def review(state: ChatState, runtime: Runtime[ChatContext]) -> Command[Any]:
    """Wait for the user: approve, cancel, or change the plan (then wait again)."""
    if state.get("auto_approve"):
        return Command(goto="build")
    pending = state["pending"]
    answer = interrupt({"summary": pending["summary"], "changes": pending["changes"],
                        "spec": pending["spec"], "host": pending["host"]})
    if isinstance(answer, str):
        answer = answer_of(answer)
    said = answer.get("said") or answer.get("text") or answer["action"]
    if answer["action"] == "approve":
        return Command(goto="build", update={"messages": [message("user", said)]})
    if answer["action"] == "cancel":
        return Command(goto=END, update={"pending": None, "messages": [
            message("user", said), message("assistant", "Cancelled; the app was not changed.")]})
    settings = runtime.context.settings
    try:
        before = AppSpec.model_validate(state["spec"]) if state.get("spec") else None
        spec, how = revise(settings, runtime.context.planner,
                           AppSpec.model_validate(pending["spec"]), answer["text"])
    except AppforgeError as exc:
        return Command(goto="review", update={"messages": [
            message("user", said), message("assistant", _failed(exc), kind="error")]})
    description = f"{pending['description']}\n{answer['text']}" if before is None \
        else f"{pending['description']}; {answer['text']}"
    new = pending_review(settings, spec, before, description, how)
    if before is None:
        new["changes"] = spec_changes(AppSpec.model_validate(pending["spec"]), spec)
    _remember(settings, spec.slug, runtime)
    return Command(goto="review", update={"pending": new, "slug": spec.slug if before is None
                                          else state.get("slug"), "messages": [
        message("user", said), message("assistant", _plan_text(new, False), kind="plan")]})


def build(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    """Build and deploy the approved plan as a new version; say what changed and where."""
    from pathlib import Path

    from appforge.agent.run import build as run_build

    settings, pending = runtime.context.settings, state["pending"]
    spec = AppSpec.model_validate(pending["spec"])
    before = AppSpec.model_validate(state["spec"]) if state.get("spec") else None
    store = _store(settings)
    app = store.find_app(spec.slug)
    old_workspace = None
    if app is not None and app.current_version is not None:
        old_workspace = Path(store.get_version(spec.slug, app.current_version).workspace)
    domains = [pending["host"]] if before is None or before.domain != spec.domain else None
    writer = get_stream_writer()
    try:
        result = run_build(pending["description"], settings, on_event=writer, app=spec.slug,
                           domains=domains, spec=pending["spec"])
    except AppforgeError as exc:
        return {"messages": [message("assistant", f"The build failed: {_failed(exc)}. The plan "
                                     "still waits: say yes to try again, or change it.",
                                     kind="error")]}
    files = file_changes(old_workspace, Path(result.workspace))
    redrawn = [a["file"].rsplit("/", 1)[-1] for a in result.assets if not a.get("cached")]
    reused = [a["file"].rsplit("/", 1)[-1] for a in result.assets if a.get("cached")]
    lines = [f"v{result.version} of {result.title} is live at {result.url}"]
    changes = spec_changes(before, spec) if before else []
    lines += [f"  {c}" for c in changes]
    if old_workspace is not None:
        lines.append(f"  files: {len(files['changed'])} changed, {len(files['added'])} added, "
                     f"{len(files['removed'])} removed")
    if redrawn:
        lines.append(f"  drawn: {', '.join(redrawn)}")
    if reused and before is not None:
        lines.append(f"  unchanged, not redrawn: {', '.join(reused)}")
    lines.append(f"  tests: {result.test_summary}; "
                 f"built in {result.timings.get('total', 0):.1f} s")
    return {"pending": None, "spec": pending["spec"], "slug": result.slug, "url": result.url,
            "version": result.version, "last_changes": changes, "last_files": files,
            "messages": [message("assistant", "\n".join(lines), kind="result",
                                 url=result.url, version=result.version)]}


builder = StateGraph(ChatState, context_schema=ChatContext)
builder.add_node("understand", understand, destinations=("review", "offer_domain", END))
builder.add_node("review", review, destinations=("review", "build", END))
builder.add_node("build", build)
builder.add_node("offer_domain", offer_domain, destinations=("review_domain", END))
builder.add_node("review_domain", review_domain, destinations=("review_domain", "buy_domain", END))
builder.add_node("buy_domain", buy_domain)
builder.add_edge("buy_domain", END)
builder.add_edge(START, "understand")
builder.add_edge("build", END)
