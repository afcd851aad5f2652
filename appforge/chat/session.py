"""A chat about one app: what the terminal chat and the dashboard's chat panel both talk to.

    session = ChatSession.open(settings, app="sprout")        # its saved thread, or a new one
    reply = session.send("add a category field")              # a plan waits for approval
    reply = session.approve(on_event=print)                   # built and deployed: reply.url

Every call runs one turn of the chat graph on the session's thread, under a lock on the thread
(the CLI and the dashboard may both hold a session on it), and returns what the assistant said.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from appforge.config import Settings
from appforge.errors import AppNotFound, InvalidInput

OnEvent = Callable[[dict[str, Any]], None]


@dataclass
class Reply:
    text: str
    #: A plan waiting for approval: {"spec", "summary", "changes", "host"}; None when none waits.
    pending: dict[str, Any] | None
    url: str | None = None
    version: int | None = None
    changes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "pending": self.pending, "url": self.url,
                "version": self.version, "changes": self.changes}


class ChatSession:
    def __init__(self, settings: Settings, thread_id: str, *, yes: bool = False,
                 planner: str | None = None, seed: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.thread_id = thread_id
        self.yes = yes
        self.planner = planner or settings.planner
        self._seed = seed or {}

    # Opening ----------------------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings, app: str | None = None, yes: bool = False,
             planner: str | None = None) -> ChatSession:
        """The saved conversation about ``app`` (one is started for an app built without the
        chat), or a new conversation when ``app`` is None."""
        from appforge.chat.threads import thread_of
        from appforge.spec import validate_slug

        if app is None:
            return cls(settings, f"chat-{uuid.uuid4().hex[:12]}", yes=yes, planner=planner)
        slug = validate_slug(app)
        thread = thread_of(settings, slug)
        if thread is not None:
            return cls(settings, thread, yes=yes, planner=planner)
        from appforge.store import Store

        store = Store(settings.db_path)
        record = store.find_app(slug)
        if record is None:
            raise AppNotFound(f"no app called {slug!r} to chat about",
                              hint="start a new chat without --app to plan one")
        seed: dict[str, Any] = {"slug": slug, "spec": None}
        if record.current_version is not None:
            version = store.get_version(slug, record.current_version)
            seed.update(spec=version.spec, url=record.url, version=version.version)
        return cls(settings, f"chat-{slug}-{uuid.uuid4().hex[:6]}", yes=yes, planner=planner,
                   seed=seed)

    # Reading ----------------------------------------------------------------------------------
    @property
    def slug(self) -> str | None:
        return self.values().get("slug") or self._seed.get("slug")

    def values(self) -> dict[str, Any]:
        with self._graph() as graph:
            return dict(graph.get_state(self._config).values)

    def history(self) -> list[dict[str, Any]]:
        return [{k: m[k] for k in ("role", "text", "at")} for m in self.values().get("messages", [])]

    def pending(self) -> dict[str, Any] | None:
        with self._graph() as graph:
            snapshot = graph.get_state(self._config)
        if snapshot.interrupts:
            return dict(snapshot.interrupts[0].value)
        waiting = snapshot.values.get("pending")
        if waiting:
            return {k: waiting[k] for k in ("summary", "changes", "spec", "host")}
        return None

    # Talking ----------------------------------------------------------------------------------
    def send(self, text: str, on_event: OnEvent | None = None) -> Reply:
        """A user message: a description (the first), a change, or the answer to a waiting
        plan (yes / no / a change to the plan)."""
        from langgraph.types import Command

        from appforge.chat.graph import answer_of, message

        from appforge.spec import strip_controls

        text, removed = strip_controls(text or "")
        text = text.strip()
        if not text:
            raise InvalidInput("the message is empty: describe the app or the change you want")
        if removed and on_event:
            on_event({"stage": "plan", "message": f"removed {removed} control character(s) "
                      "(terminal escapes, bells) from the message"})
        with self._graph() as graph:
            self._follow_live(graph)
            if graph.get_state(self._config).interrupts:
                return self._run(graph, Command(resume=answer_of(text)), on_event)
            inputs = {**self._seed, "input": text, "auto_approve": self.yes,
                      "messages": [message("user", text)]}
            self._seed = {}
            return self._run(graph, inputs, on_event)

    def approve(self, on_event: OnEvent | None = None) -> Reply:
        return self.send("approve", on_event)

    def cancel(self) -> Reply:
        return self.send("cancel")

    def follow_live(self) -> None:
        """Make the conversation's plan the live version's again (after a rollback)."""
        with self._graph() as graph:
            self._follow_live(graph)

    # Internals --------------------------------------------------------------------------------
    def _follow_live(self, graph: Any) -> None:
        """A rollback (here, in the dashboard or the CLI) changes which plan is live; later
        changes start from that one."""
        from appforge.store import Store

        values = graph.get_state(self._config).values
        slug = values.get("slug")
        if not slug or not values.get("spec"):
            return
        store = Store(self.settings.db_path)
        record = store.find_app(slug)
        if record is None or record.current_version in (None, values.get("version")):
            return
        live = store.get_version(slug, record.current_version)
        graph.update_state(self._config, {"spec": live.spec, "version": live.version,
                                          "url": record.url}, as_node="build")

    @property
    def _config(self) -> dict[str, Any]:
        return {"configurable": {"thread_id": self.thread_id}}

    @contextmanager
    def _graph(self) -> Iterator[Any]:
        from langgraph.checkpoint.sqlite import SqliteSaver

        from appforge.chat.graph import builder
        from appforge.store.locks import app_lock

        self.settings.home.mkdir(parents=True, exist_ok=True)
        with app_lock(self.settings.home, f"chat-{self.thread_id}"):
            conn = sqlite3.connect(self.settings.home / "chat.sqlite", check_same_thread=False)
            try:
                yield builder.compile(checkpointer=SqliteSaver(conn), name="appforge-chat")
            finally:
                conn.close()

    def _run(self, graph: Any, inputs: Any, on_event: OnEvent | None) -> Reply:
        from appforge.chat.graph import ChatContext

        say = on_event or (lambda _e: None)
        before = len(graph.get_state(self._config).values.get("messages", []))
        context = ChatContext(settings=self.settings, planner=self.planner)
        for mode, chunk in graph.stream(inputs, self._config, context=context,
                                        stream_mode=["custom", "updates"]):
            if mode == "custom":
                say(chunk)
        snapshot = graph.get_state(self._config)
        values = snapshot.values
        said = [m for m in values.get("messages", [])[before:] if m["role"] == "assistant"]
        result = next((m for m in reversed(said) if m.get("kind") == "result"), None)
        pending = dict(snapshot.interrupts[0].value) if snapshot.interrupts else None
        if pending is None and values.get("pending"):
            pending = {k: values["pending"][k] for k in ("summary", "changes", "spec", "host")}
        return Reply(text="\n\n".join(m["text"] for m in said), pending=pending,
                     url=result.get("url") if result else None,
                     version=result.get("version") if result else None,
                     changes=list(values.get("last_changes", [])) if result else [])
