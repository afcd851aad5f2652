"""`appforge chat`: describe an app in a conversation, approve its plan, change it turn by turn.

The conversation is a saved LangGraph thread: `appforge chat --app SLUG` continues it later.
Input: one line per message; end a line with a backslash to go on to the next one, or put a longer
text between two lines of three double quotes. Commands: /plan /diff /versions /rollback [N]
/open /help /quit. ``--yes`` approves plans without asking (scripts); ``--json`` prints each
reply as one JSON line.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from appforge.cli import JsonFlag, app, err, fail, load_settings, out
from appforge.errors import AppforgeError, Interrupted

HELP = """commands:
  /plan              the live plan (or the one waiting for approval)
  /diff              what the last deploy changed: plan, files, and the code diff
  /versions          the app's versions
  /rollback [N]      go back to version N (default: the one before)
  /open              the app's address (opened in a browser where there is one)
  /quit              leave; `appforge chat --app SLUG` continues later
A plan waiting for approval takes yes, no, or a change ("make it dark").
End a line with \\ to continue it, or wrap a long message in lines of \"\"\"."""


@app.command()
def chat(
    app_slug: Annotated[str | None, typer.Option(
        "--app", help="Continue the conversation about this app.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve plans without asking.")]
    = False,
    planner: Annotated[str | None, typer.Option(help="Planner to use (default: settings).")]
    = None,
    as_json: JsonFlag = False,
) -> None:
    """Plan an app in a conversation, approve it, then change it message by message."""
    from appforge.chat.session import ChatSession

    settings = load_settings()
    try:
        session = ChatSession.open(settings, app=app_slug, yes=yes, planner=planner)
    except AppforgeError as exc:
        fail(exc)
        return
    _Chat(session, as_json).loop()


class _Chat:
    def __init__(self, session: Any, as_json: bool) -> None:
        from appforge.cli.progress import BuildProgress

        self.session = session
        self.as_json = as_json
        self.console = err if as_json else out
        self.progress = BuildProgress
        self.tty = sys.stdin.isatty()
        if self.tty:
            _readline(session.settings)

    # The loop ---------------------------------------------------------------------------------
    def loop(self) -> None:
        self._greet()
        while True:
            pending = self.session.pending()
            text = self._read("approve? yes / no / a change › " if pending else "you › ")
            if text is None:
                break
            if not text:
                continue
            if text.startswith("/"):
                if not self._command(text):
                    break
                continue
            self._send(text)
        if not self.as_json:
            self.console.print(self._bye(), style="dim", highlight=False)

    def _greet(self) -> None:
        if self.as_json:
            return
        history = self.session.history()
        if history:
            self.console.print(f"[dim]continuing the chat about {self.session.slug} "
                               f"({len(history)} messages); the last ones:[/]")
            for entry in history[-6:]:
                self._show(entry["role"], entry["text"])
        else:
            self.console.print("[bold]appforge chat[/] — describe your app. /help for commands.")
        pending = self.session.pending()
        if pending:
            self.console.print("[yellow]a plan is waiting for your approval[/]")

    def _bye(self) -> str:
        slug = self.session.slug
        return f"bye; continue with: appforge chat --app {slug}" if slug else "bye"

    def _read(self, prompt: str) -> str | None:
        """One message: lines joined by a trailing backslash or a triple-quote block."""
        lines: list[str] = []
        block = False
        while True:
            try:
                if self.tty:
                    line = input(prompt if not lines else "… ")
                else:
                    line = sys.stdin.readline()
                    if not line:
                        raise EOFError
                    line = line.rstrip("\n")
            except EOFError:
                return "\n".join(lines).strip() or None if lines else None
            except KeyboardInterrupt:
                return None
            if line.strip() == '"""':
                if block:
                    return "\n".join(lines).strip()
                block = True
                continue
            if block:
                lines.append(line)
            elif line.endswith("\\"):
                lines.append(line[:-1])
            else:
                lines.append(line)
                return "\n".join(lines).strip()

    # Turns ------------------------------------------------------------------------------------
    def _send(self, text: str) -> None:
        if not self.tty and not self.as_json:
            from rich.markup import escape

            self.console.print(f"[bold cyan]you ›[/] {escape(text)}", highlight=False)
        from appforge import interrupts

        progress = self.progress(self.console)
        try:
            with interrupts.handling():  # a Ctrl-C stops the turn's model calls and build too
                reply = self.session.send(text, on_event=progress)
        except KeyboardInterrupt:
            progress.close()
            slug = self.session.slug
            fail(Interrupted(interrupts.MESSAGE, hint=f"continue with: appforge chat --app "
                             f"{slug}" if slug else None), now=True)
            return
        except AppforgeError as exc:
            progress.close()
            if interrupts.interrupted():
                fail(exc, now=True)
            self._error(exc)
            return
        progress.close()
        if self.as_json:
            print(json.dumps(reply.as_json()), flush=True)
            return
        self._show("assistant", reply.text)
        if reply.pending and not self.session.yes:
            self.console.print("[yellow]approve this plan?[/] yes / no / or say what to change",
                               highlight=False)

    def _show(self, role: str, text: str) -> None:
        from rich.markup import escape

        if role == "user":
            self.console.print(f"[bold cyan]you ›[/] {escape(text)}", highlight=False)
            return
        first, _, rest = text.partition("\n")
        self.console.print(f"[bold magenta]appforge ›[/] {escape(first)}", highlight=False)
        if rest:
            self.console.print(escape(rest), highlight=False)

    def _error(self, exc: AppforgeError) -> None:
        if self.as_json:
            print(json.dumps({"error": str(exc), "hint": exc.hint}), flush=True)
            return
        self.console.print(f"[bold red]error:[/] {exc}", highlight=False)
        if exc.hint:
            self.console.print(f"[yellow]hint:[/] {exc.hint}", highlight=False)

    # Commands ---------------------------------------------------------------------------------
    def _command(self, text: str) -> bool:
        """Run a slash command; False to leave."""
        name, _, arg = text.partition(" ")
        handlers = {"/plan": self._plan, "/diff": self._diff, "/versions": self._versions,
                    "/rollback": self._rollback, "/open": self._open}
        if name in ("/quit", "/exit", "/q"):
            return False
        if name == "/help":
            self.console.print(HELP, highlight=False, markup=False)
            return True
        handler = handlers.get(name)
        if handler is None:
            self.console.print(f"unknown command {name}; /help lists them", style="yellow",
                               highlight=False)
            return True
        try:
            handler(arg.strip())
        except AppforgeError as exc:
            self._error(exc)
        return True

    def _emit(self, data: dict[str, Any], lines: list[str]) -> None:
        if self.as_json:
            print(json.dumps(data), flush=True)
        else:
            for line in lines:
                self.console.print(line, highlight=False, markup=False)

    def _plan(self, _arg: str) -> None:
        from appforge.chat.changes import plan_summary
        from appforge.spec import AppSpec

        pending = self.session.pending()
        if pending:
            self._emit({"plan": pending["spec"], "pending": True},
                       ["waiting for approval:", *(f"  {x}" for x in pending["summary"])])
            return
        values = self.session.values()
        if not values.get("spec"):
            self._emit({"plan": None}, ["no plan yet: describe the app you want"])
            return
        spec = AppSpec.model_validate(values["spec"])
        from urllib.parse import urlsplit

        host = urlsplit(values.get("url") or "").hostname or spec.host("localhost")
        self._emit({"plan": values["spec"], "pending": False},
                   [f"live plan (v{values.get('version')}):",
                    *(f"  {x}" for x in plan_summary(spec, host))])

    def _diff(self, _arg: str) -> None:
        from pathlib import Path

        from appforge.chat.changes import unified_diff
        from appforge.store import Store

        values = self.session.values()
        slug, version = values.get("slug"), values.get("version")
        files = values.get("last_files") or {}
        if not slug or not version or not files:
            self._emit({"diff": None}, ["nothing changed by this chat has been deployed yet"])
            return
        store = Store(self.session.settings.db_path)
        earlier = [v for v in store.list_versions(slug) if v.version < version]
        text = ""
        if earlier:
            text = unified_diff(Path(earlier[-1].workspace),
                                Path(store.get_version(slug, version).workspace),
                                files.get("changed", []) + files.get("added", []))
        if self.as_json:
            print(json.dumps({"version": version, "changes": values.get("last_changes", []),
                              "files": files, "diff": text}), flush=True)
            return
        from rich.syntax import Syntax

        self.console.print(f"v{version}:", highlight=False)
        for line in values.get("last_changes", []):
            self.console.print(f"  {line}", highlight=False, markup=False)
        for what in ("changed", "added", "removed"):
            if files.get(what):
                self.console.print(f"  {what}: {', '.join(files[what])}", highlight=False,
                                   markup=False)
        if text:
            self.console.print(Syntax(text, "diff", theme="ansi_dark", word_wrap=True))

    def _versions(self, _arg: str) -> None:
        from appforge.store import Store

        slug = self.session.slug
        store = Store(self.session.settings.db_path)
        record = store.find_app(slug) if slug else None
        if record is None:
            self._emit({"versions": []}, ["no app yet"])
            return
        rows = [{"version": v.version, "status": v.status, "live": v.version ==
                 record.current_version, "description": v.description,
                 "test_summary": v.test_summary, "created_at": v.created_at}
                for v in store.list_versions(slug)]
        lines = [f"{'*' if r['live'] else ' '} v{r['version']:<3} {r['status']:<9} "
                 f"{r['test_summary'][:40]:<40}  {r['description'][:60]}" for r in rows]
        self._emit({"versions": rows}, lines or ["no versions yet"])

    def _rollback(self, arg: str) -> None:
        from appforge.cli import locked
        from appforge.errors import InvalidInput
        from appforge.tools.apps import rollback

        slug = self.session.slug
        if not slug:
            raise InvalidInput("no app to roll back yet")
        to = None
        if arg:
            if not arg.lstrip("v").isdigit():
                raise InvalidInput(f"/rollback takes a version number, not {arg!r}")
            to = int(arg.lstrip("v"))
        settings = self.session.settings
        with locked(settings, slug):
            result = rollback(settings, slug, to, lambda m: self.console.print(
                f"  {m}", style="dim", highlight=False))
        self.session.follow_live()
        self._emit({"rolled_back_to": result.version, "url": result.url},
                   [f"v{result.version} is live again at {result.url}"])

    def _open(self, _arg: str) -> None:
        import webbrowser

        url = self.session.values().get("url")
        if not url:
            self._emit({"url": None}, ["nothing deployed yet"])
            return
        opened = False
        try:
            opened = webbrowser.open(url)
        except webbrowser.Error:
            pass
        self._emit({"url": url, "opened": opened}, [url + ("" if opened else "  (open it in a browser)")])


def _readline(settings: Any) -> None:
    """History across sessions (up/down arrows) where the terminal has readline."""
    try:
        import atexit
        import readline
    except ImportError:
        return
    path = settings.home / "chat_history"
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(1000)
    atexit.register(lambda: _save_history(readline, path))


def _save_history(readline: Any, path: Any) -> None:
    try:
        readline.write_history_file(path)
    except OSError:
        pass
