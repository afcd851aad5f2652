"""Running the build graph once, with a SQLite checkpointer, streaming progress to a callback.

This is the one entry point the CLI (and later the chat and the dashboard) use to build an app.
A failure is recorded on the version (status ``failed`` and the error) before it is re-raised.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from appforge.agent.context import Context
from appforge.config import Settings
from appforge.errors import AppforgeError, Interrupted, InvalidInput
from appforge.store.locks import app_lock

#: Called with each progress event: {"stage", "event": "start"|"end", "seconds"} or
#: {"stage", "message"}.
OnEvent = Callable[[dict[str, Any]], None]


@dataclass
class BuildResult:
    slug: str
    title: str
    kind: str
    version: int
    url: str
    status: str
    workspace: str
    timings: dict[str, float] = field(default_factory=dict)
    test_summary: str = ""
    assets: list[dict[str, Any]] = field(default_factory=list)
    screenshot: str = ""
    #: off, or pending: taken in the background after the build returns (``show`` says when).
    screenshot_status: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"slug": self.slug, "title": self.title, "kind": self.kind,
                "version": self.version, "url": self.url, "status": self.status,
                "workspace": self.workspace, "test_summary": self.test_summary,
                "timings": self.timings, "assets": [a["file"] for a in self.assets],
                "screenshot": self.screenshot, "screenshot_status": self.screenshot_status}


def build(description: str, settings: Settings, on_event: OnEvent | None = None,
          planner: str | None = None, app: str | None = None,
          domains: list[str] | None = None, limits: dict[str, Any] | None = None,
          resume: str | None = None, spec: dict[str, Any] | None = None,
          database: str | None = None, replicas: int | None = None) -> BuildResult:
    """Plan, write, test, package, deploy and verify an app from its description.

    ``app`` rebuilds (or names) a given app slug; ``domains`` are the hosts it answers at;
    ``limits`` (memory, cpus, pids, body) override the default limits for this app.
    ``resume``: the id of a build that stopped; it goes on from the step that failed, with
    everything the earlier steps made (the description is then ignored).
    ``spec``: an already approved plan (an AppSpec as a dict): nothing is planned.
    ``database``: sqlite or postgres for a CRUD app; None keeps what the app has (SQLite for a
    new one).
    """
    from appforge.engines import check_replicas_supported
    from appforge.sandbox.hardening import Limits
    from appforge.spec import DATABASES, strip_controls

    limits = {k: v for k, v in (limits or {}).items() if v is not None}
    Limits.resolve(settings, **limits)  # a bad limit fails before anything is done
    check_replicas_supported(settings, replicas)
    if database is not None and database not in DATABASES:
        raise InvalidInput(f"unknown database {database!r}",
                           hint=f"use one of: {', '.join(DATABASES)}")
    from langgraph.checkpoint.sqlite import SqliteSaver

    from appforge.agent.graph import builder

    ctx = Context(settings=settings, planner=planner or settings.planner)
    ctx.docker  # no engine: fail now, before anything is planned or written
    if settings.engine == "swarm":  # nor without a swarm to run it on
        from appforge.engines.cluster import require_manager

        require_manager(ctx.docker)
    settings.home.mkdir(parents=True, exist_ok=True)
    say = on_event or (lambda _e: None)
    description, removed = strip_controls(description or "")
    if removed:
        say({"stage": "plan", "message": f"removed {removed} control character(s) (terminal "
             "escapes, bells) from the description"})
    setup = _prepare_machine(ctx, say)
    from appforge import supervisor

    supervisor.ensure_running(settings)  # what is killed by hand comes back (unless turned off)
    conn = sqlite3.connect(settings.checkpoint_path, check_same_thread=False)
    thread = resume or f"build-{uuid.uuid4().hex[:12]}"
    config = {"configurable": {"thread_id": thread}}
    state: dict[str, Any] = {}
    start = time.monotonic()
    inputs: dict[str, Any] | None = {"description": description, "app": app, "given_spec": spec,
                                     "domains": domains or [], "limits": limits, "database": database,
                                     "replicas": replicas,
                                     "timings": {}}
    with ExitStack() as held:
        if setup:
            held.callback(setup.stop)

        def lock(slug: str, stage: str) -> bool:
            held.enter_context(app_lock(settings.home, slug,
                                        lambda m: say({"stage": stage, "message": m}),
                                        wait_s=settings.lock_wait))
            if stage == "plan":  # what a killed build of this app left, cleared first
                _reconcile(ctx, slug, lambda m: say({"stage": stage, "message": m}))
            return True

        locked = False
        try:
            compiled = builder.compile(checkpointer=SqliteSaver(conn), name="appforge-build")
            if resume:
                state = dict(compiled.get_state(config).values)
                if not state:
                    raise InvalidInput(f"no build {resume!r} to resume",
                                       hint="the id is printed when a build stops")
                if state.get("status") == "running":
                    raise InvalidInput(f"build {resume} already finished: {state.get('url')}")
                inputs = None  # go on from the checkpoint
                locked = lock(state["slug"], "resume")
            for mode, chunk in compiled.stream(inputs, config, context=ctx,
                                               stream_mode=["custom", "values"]):
                if mode == "custom":
                    say(chunk)
                    continue
                state = chunk
                if not locked and "slug" in state:
                    # The plan named the app: from here on, one build of it at a time. The
                    # next node runs only when this loop asks for it, so it runs locked.
                    locked = lock(state["slug"], "plan")
        except KeyboardInterrupt:
            from appforge.interrupts import MESSAGE

            stop = Interrupted(MESSAGE)  # the step under way was stopped too (interrupts)
            state = _with_version_under_way(ctx, state) if locked else state
            _record_failure(ctx, state, stop)
            if "version" in state:
                stop.hint = f"go on from here: appforge build --resume {thread}"
            raise stop from None
        except AppforgeError as exc:
            _record_failure(ctx, state, exc)
            if "version" in state:
                resume_hint = ("fix the cause, then go on from here: appforge build --resume "
                               f"{thread}")
                exc.hint = f"{exc.hint}; {resume_hint}" if exc.hint else resume_hint
            raise
        finally:
            conn.close()
    timings = dict(state.get("timings", {}))
    timings["total"] = round(time.monotonic() - start, 3)
    ctx.store.update_version(state["slug"], state["version"], timings=timings)
    spec = state["spec"]
    return BuildResult(slug=state["slug"], title=spec["title"], kind=spec["kind"],
                       version=state["version"], url=state["url"], status=state["status"],
                       workspace=state["workspace"], timings=timings,
                       test_summary=state.get("test_summary", ""),
                       assets=state.get("assets", []), screenshot=state.get("screenshot", ""),
                       screenshot_status=state.get("screenshot_status", ""))


def _with_version_under_way(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with the version its step under way made (interrupted before that step
    returned it), found in the store: under the app's lock, a version mid-build is this one's."""
    from appforge.tools.apps import MID_BUILD

    if "version" in state or "slug" not in state:
        return state
    building = [v for v in ctx.store.list_versions(state["slug"]) if v.status in MID_BUILD]
    return {**state, "version": building[-1].version} if building else state


def _reconcile(ctx: Context, slug: str, log: Callable[[str], None]) -> None:
    """Under the app's lock, before its build goes on: versions a killed build left mid-way
    become failed, its stray containers go (``tools.apps.reconcile_app``)."""
    from appforge.tools.apps import reconcile_app

    app = ctx.store.find_app(slug)
    if app is not None:
        reconcile_app(ctx.docker, ctx.settings, ctx.store, app, log)


def _prepare_machine(ctx: Context, say: OnEvent) -> Any:
    """On a machine that lacks an image, start making them all now, in the background, and
    follow their progress: they are ready sooner, and the build's stages wait for each one."""
    from appforge.sandbox import prepare

    images = prepare.images_for(ctx.settings)
    needed = prepare.missing(ctx.docker, ctx.settings, images)
    if not needed:
        return None
    prepare.start_in_background(ctx.settings, images)
    say({"stage": "setup", "message": "making " + ", ".join(prepare.LABELS[n] for n in needed)
         + " in the background; this happens once per machine"})
    return prepare.ProgressWatcher(ctx.settings,
                                   lambda jobs: say({"stage": "setup", "images": jobs})).start()


def _record_failure(ctx: Context, state: dict[str, Any], exc: AppforgeError) -> None:
    if "version" not in state:
        return
    slug, version = state["slug"], state["version"]
    ctx.store.update_version(slug, version, status="failed", error=str(exc),
                             timings=state.get("timings", {}))
    ctx.store.add_event(slug, "error", f"v{version}: {exc}")
    app = ctx.store.find_app(slug)
    if app is not None and app.current_version is None:
        ctx.store.set_app_state(slug, status="failed")
