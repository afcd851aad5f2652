"""The ``appforge`` command line: build, chat, list, show, logs, rollback, stop, start, destroy,
backup, backups, restore, up, dns, trust, doctor, domain, cluster, scale, move, export, plan, mcp.

Commands say what they did in a line or a table, or print one JSON object with ``--json``. Errors
from appforge are one clear message (with a hint and the relevant log lines) and an exit code;
``--debug`` shows the stack trace. Heavy modules load inside the commands, so ``--help`` is fast.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from appforge.errors import AppforgeError, Interrupted, InvalidInput

app = typer.Typer(
    name="appforge",
    help="Turn a description of an app into a running app at its own domain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)  # no hard line breaks in piped output
err = Console(stderr=True, soft_wrap=True)
_state = {"debug": False}

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]
WaitOption = Annotated[float | None, typer.Option(
    "--wait", min=0, help="Seconds to wait for an app another appforge process is building or "
    "deploying (default: APPFORGE_LOCK_WAIT, 600).")]


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show stack traces.")] = False,
) -> None:
    _state["debug"] = debug


def load_settings() -> Any:
    from pydantic import ValidationError

    from appforge.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"APPFORGE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                             for e in exc.errors())
        fail(InvalidInput(f"invalid setting: {problems}",
                           hint="fix the environment variable or $APPFORGE_HOME/config.toml"))


def fail(exc: AppforgeError, now: bool = False) -> None:
    """Say what went wrong and exit with the error's code; ``now``: without waiting for worker
    threads still busy (after a Ctrl-C: :func:`appforge.interrupts.leave`)."""
    err.print(f"[bold red]error:[/] {exc}", highlight=False)
    if exc.detail:
        err.print(exc.detail.rstrip(), style="dim", highlight=False, markup=False)
    if exc.hint:
        err.print(f"[yellow]hint:[/] {exc.hint}", highlight=False)
    if _state["debug"]:
        err.print_exception()
    if now:
        from appforge.interrupts import leave

        leave(code=exc.exit_code)
    raise typer.Exit(exc.exit_code)


def locked(settings: Any, slug: str, wait: float | None = None) -> Any:
    """The app's lock, for a command; waits at most ``wait`` s (default: the settings')."""
    from appforge.spec import validate_slug
    from appforge.store.locks import app_lock

    validate_slug(slug)
    return app_lock(settings.home, slug, lambda m: err.print(m, style="dim"),
                    wait_s=settings.lock_wait if wait is None else wait)


def on_app(slug: str, wait: float | None, as_json: bool, work: Any) -> Any:
    """What a command that changes one app does around its work: the store and the engine made
    to agree, then ``work(settings, log)`` under the app's lock; an appforge error ends the
    command as every command's does."""
    settings = load_settings()
    reconciled(settings, as_json)
    try:
        with locked(settings, slug, wait):
            return work(settings, log_to(as_json))
    except AppforgeError as exc:
        fail(exc)
        raise  # fail ended the command already


def reconciled(settings: Any, as_json: bool) -> None:
    """Before a command reads or changes apps: the store and the engine made to agree again
    (``tools.apps.reconcile``; each repair is printed). Without an engine, nothing is done here:
    the command itself says so if it needs one."""
    from appforge.tools.apps import reconcile

    try:
        reconcile(settings, log_to(as_json))
    except AppforgeError as exc:
        err.print(f"[dim]could not check the apps against the engine: {exc}[/]", highlight=False)


def log_to(as_json: bool) -> Any:
    console = err if as_json else out
    return lambda message: console.print(f"  {message}", style="dim", highlight=False)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # typer turns it into exit 130 in a command; here if not
        from appforge import interrupts

        interrupts.interrupt()
        fail(Interrupted(interrupts.MESSAGE), now=True)


# The commands register themselves on ``app`` when imported.
from appforge.cli import build, chat, apps, backups, infra, serve, domains, cluster, export, plan, mcp  # noqa: F401,I001  (order of --help)
