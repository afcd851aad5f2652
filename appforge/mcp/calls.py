"""What each MCP tool does: thin calls into the functions the CLI, the dashboard and the chat
call (``agent.run.build``, ``tools.apps``, ``chat``, ``web.diff``, ``tools.domains``).

Each function takes the server's settings, the tool's checked arguments and a
:class:`~appforge.mcp.running.Progress`, runs in a worker thread, and returns a JSON object.
Deploy-type calls hold the app's lock as the CLI's commands do, but never wait for it: a busy
app is refused at once (``running.holding``); a build takes the lock itself (the server's
``lock_wait`` is 0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appforge.config import Settings
from appforge.errors import AppforgeError, InvalidInput
from appforge.mcp import schemas as s
from appforge.mcp.running import Progress, holding, refuse_if_busy

#: Lines of a build's progress kept in its result (for clients that show no progress).
LOG_LINES = 40


def _store(settings: Settings) -> Any:
    from appforge.store import Store

    return Store(settings.db_path)


def _reconciled(settings: Settings, progress: Progress) -> None:
    """As every CLI command does first: what a killed build left is repaired (and said)."""
    from appforge.tools.apps import reconcile

    try:
        reconcile(settings, progress.say)
    except AppforgeError as exc:
        progress.say(f"could not check the apps against the engine: {exc}")


def _pending(settings: Settings, spec: Any, before: Any, description: str,
             how: str) -> dict[str, Any]:
    """The plan for review as the chat shows it: summary, changes, host (``chat.graph``)."""
    from appforge.chat.graph import pending_review as pending

    return pending(settings, spec, before, description, how)


def plan_app(settings: Settings, args: s.PlanApp, progress: Progress) -> dict[str, Any]:
    from appforge.agent.planners import get_planner
    from appforge.spec import strip_controls

    description = strip_controls(args.description)[0].strip()
    if not description:
        raise InvalidInput("the description is empty: say what the app is and what it keeps")
    planner = get_planner(args.planner or settings.planner, settings)
    progress.say(f"planning with the {planner.name} planner")
    spec = planner.plan(description)
    review = _pending(settings, spec, None, description, planner.name)
    return {"slug": spec.slug, "title": spec.title, "kind": spec.kind.value,
            "url": settings.url_for(review["host"]), "exists": _store(settings).find_app(
                spec.slug) is not None, "planner": planner.name,
            "notes": list(getattr(planner, "last_notes", [])), "summary": review["summary"],
            "plan": review["spec"],
            "next": "show the summary to the user; build_app with this plan (edited if they "
                    "ask) builds it"}


def build_app(settings: Settings, args: s.BuildApp, progress: Progress) -> dict[str, Any]:
    from appforge.agent.run import build

    if args.plan is None and not (args.description or "").strip():
        raise InvalidInput("give a description of the app, or a plan returned by plan_app",
                           hint="e.g. description='a reading log; each book has a title and "
                           "an author'")
    slug = args.app or (args.plan.slug if args.plan else None)
    if slug:
        refuse_if_busy(settings, slug)
    limits = args.limits or s.Limits()
    result = build(args.description or (args.plan.description if args.plan else ""), settings,
                   on_event=progress.on_event, planner=args.planner, app=args.app,
                   domains=args.domains,
                   limits={"memory": limits.memory, "cpus": limits.cpus, "pids": limits.pids,
                           "body": limits.max_body},
                   spec=args.plan.model_dump(mode="json") if args.plan else None,
                   database=args.database)
    return {**result.as_json(), "log": progress.lines[-LOG_LINES:]}


def change_app(settings: Settings, args: s.ChangeApp, progress: Progress) -> dict[str, Any]:
    """As the chat does it (``chat.graph``: understand, then build), without the approval
    step: the caller's call is the approval; ``preview`` only says what would change."""
    from appforge.agent.run import build
    from appforge.chat.changes import file_changes
    from appforge.chat.graph import revise
    from appforge.spec import AppSpec, strip_controls

    store = _store(settings)
    app = store.get_app(args.app)
    if app.current_version is None:
        raise InvalidInput(f"{args.app} has never been deployed, so it has no plan to change",
                           hint="build it first (build_app)")
    live = store.get_version(args.app, app.current_version)
    before = AppSpec.model_validate(live.spec)
    text = strip_controls(args.change)[0].strip()
    spec, how = revise(settings, settings.planner, before, text)
    review = _pending(settings, spec, before, text, how)
    if not review["changes"]:
        raise InvalidInput("that asks for nothing that differs from the live plan",
                           hint="say what to add, remove, rename or restyle")
    if args.preview:
        return {"slug": args.app, "version": app.current_version, "changes": review["changes"],
                "plan": review["spec"], "how": how, "built": False}
    refuse_if_busy(settings, args.app)
    progress.say("changes: " + "; ".join(review["changes"]))
    domains = [review["host"]] if before.domain != spec.domain else None
    result = build(text, settings, on_event=progress.on_event, app=args.app, domains=domains,
                   spec=review["spec"])
    files = file_changes(Path(live.workspace), Path(result.workspace))
    return {**result.as_json(), "changes": review["changes"], "files": files, "how": how,
            "built": True, "log": progress.lines[-LOG_LINES:]}


def list_apps(settings: Settings, args: s.Arguments, progress: Progress) -> dict[str, Any]:
    from appforge.tools.app_info import listing

    _reconciled(settings, progress)
    return {"apps": listing(settings)}


def show_app(settings: Settings, args: s.AppOnly, progress: Progress) -> dict[str, Any]:
    from appforge.tools.app_info import show

    _reconciled(settings, progress)
    return show(settings, args.app)


def app_logs(settings: Settings, args: s.AppLogs, progress: Progress) -> dict[str, Any]:
    from appforge.tools.app_info import logs

    text = logs(settings, args.app, False, args.tail).decode(errors="replace")
    return {"slug": args.app, "lines": text.splitlines()}


def app_diff(settings: Settings, args: s.AppDiff, progress: Progress) -> dict[str, Any]:
    from appforge.web.diff import compare

    store = _store(settings)
    app = store.get_app(args.app)
    numbers = [v.version for v in store.list_versions(args.app)]
    new = args.to_version or app.current_version or (numbers[-1] if numbers else None)
    older = [n for n in numbers if new is not None and n < new]
    old = args.from_version or (older[-1] if older else None)
    if new is None or old is None:
        raise InvalidInput(f"{args.app} has only {len(numbers)} version(s): nothing to compare",
                           hint="give from_version and to_version")
    old_ws = Path(store.get_version(args.app, old).workspace)
    new_ws = Path(store.get_version(args.app, new).workspace)
    comparison = compare(old_ws, new_ws)
    files, budget, cut = [], args.max_lines, False
    for change in comparison.changes:
        if args.path and not change.path.startswith(args.path):
            continue
        entry: dict[str, Any] = {"path": change.path, "status": change.status,
                                 "binary": change.binary, "added_lines": change.added,
                                 "removed_lines": change.removed}
        if change.binary:
            entry.update(old_sha256=change.old_sha, new_sha256=change.new_sha,
                         old_size=change.old_size, new_size=change.new_size)
        elif budget > 0:
            shown = change.lines[:budget]
            budget -= len(shown)
            cut = cut or len(shown) < len(change.lines) or change.cut
            entry["diff"] = "\n".join(_diff_line(line) for line in shown)
        else:
            cut = cut or bool(change.lines)
        files.append(entry)
    return {"slug": args.app, "from_version": old, "to_version": new,
            "unchanged_files": comparison.unchanged, "files": files, "cut": cut}


def _diff_line(line: Any) -> str:
    return {"add": "+", "del": "-", "ctx": " "}.get(line.kind, "") + line.text


def rollback_app(settings: Settings, args: s.RollbackApp, progress: Progress) -> dict[str, Any]:
    from appforge.tools import apps

    _reconciled(settings, progress)
    with holding(settings, args.app):
        done = apps.rollback(settings, args.app, args.to_version, progress.say,
                             args.restore_data)
    return {**done.as_json(), "log": progress.lines[-LOG_LINES:]}


def stop_app(settings: Settings, args: s.AppOnly, progress: Progress) -> dict[str, Any]:
    from appforge.tools import apps

    _reconciled(settings, progress)
    with holding(settings, args.app):
        apps.stop(settings, args.app, progress.say)
    return {"slug": args.app, "status": "stopped"}


def start_app(settings: Settings, args: s.AppOnly, progress: Progress) -> dict[str, Any]:
    from appforge.tools import apps

    _reconciled(settings, progress)
    with holding(settings, args.app):
        done = apps.start(settings, args.app, progress.say)
    return done.as_json()


def destroy_app(settings: Settings, args: s.DestroyApp, progress: Progress) -> dict[str, Any]:
    from appforge.backups import list_backups
    from appforge.tools import apps

    _store(settings).get_app(args.app)
    if args.confirm != args.app:
        raise InvalidInput(f"{args.app} was not destroyed: confirm must be the app's slug, "
                           f"{args.app!r} (it was {args.confirm!r})",
                           hint="ask the user first; destroying cannot be undone")
    _reconciled(settings, progress)
    with holding(settings, args.app):
        removed = apps.destroy(settings, args.app, args.keep_data, progress.say)
    return {"slug": args.app, "status": "destroyed", "removed": removed,
            "kept_data": args.keep_data,
            "backups": [b.id for b in list_backups(settings, args.app)]}


def domain_search(settings: Settings, args: s.DomainSearch,
                  progress: Progress) -> dict[str, Any]:
    from appforge.tools import domains

    def checked(done: int, total: int, name: str) -> None:
        progress.say(f"checked {done}/{total}: {name}")

    return domains.search(settings, args.words, tlds=",".join(args.tlds or []) or None,
                          slug=args.app, limit=args.limit, progress=checked)
