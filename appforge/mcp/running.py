"""Blocking work (a build, a deploy) in a worker thread, seen from an MCP request: its progress
as progress notifications, a cancellation that stops it cleanly, and the busy refusal.

A build cannot be killed half-way: each stage runs to its end. When the client cancels the
request, the build stops at its next event in a stage where stopping leaves nothing half-done
(:class:`Cancelled` is raised from its progress callback; ``agent.run.build`` then marks the
version failed and releases the app's lock): the plan (no version exists yet), or from
make_assets to package (the version is recorded, and it is marked failed). ``write_code``
goes on (the version it records is known only once it ends), and from ``deploy`` on the build
finishes, so the app is never left half-deployed.
Other work (a rollback, a stop, a destroy) is short and always finishes.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from anyio import from_thread

from appforge.config import Settings
from appforge.errors import AppBusy, AppforgeError

log = logging.getLogger("appforge.mcp")
T = TypeVar("T")
#: Sends one progress notification: (progress, total, message).
Report = Callable[[float, float | None, str], Awaitable[None]]
#: Stages whose events a cancelled build stops at (see above).
STOPPABLE = ("setup", "plan", "make_assets", "test", "fix", "package")


class Cancelled(AppforgeError):
    """The MCP client cancelled the request; the build stopped before its deploy."""


class Progress:
    """What the worker thread calls: ``on_event`` (a build's events) and ``say`` (a line).

    Values only grow, as the protocol asks: a build counts its stages (``total`` = 8); other
    work counts its lines (no total)."""

    def __init__(self, send: Callable[[tuple[float, float | None, str]], None],
                 stop: threading.Event, total: float | None) -> None:
        self._send = send
        self.stop = stop
        self.total = total
        self.value = 0.0
        self.lines: list[str] = []
        self.worker: int | None = None
        self._ended: set[str] = set()

    def say(self, message: str) -> None:
        self._emit(self.value + 1 if self.total is None else self._halfway(), message)

    def on_event(self, event: dict[str, Any]) -> None:
        stage = event.get("stage", "")
        if self.stop.is_set() and stage in STOPPABLE \
                and threading.get_ident() == self.worker:
            raise Cancelled("the build was cancelled by the MCP client before it deployed "
                            f"(during {stage or 'its start'}); nothing was deployed, and the "
                            "app's live version, if any, still serves")
        if "images" in event:  # the setup bar's ticks: only what ended is worth a line
            for job in event["images"]:
                if job["state"] in ("ready", "failed") and job["label"] not in self._ended:
                    self._ended.add(job["label"])
                    self.say(f"setup: {job['label']} {job['state']}")
            return
        if event.get("event") == "start":
            self._emit(max(self.value, float(self._index(stage))), f"{stage}: started")
        elif event.get("event") == "end":
            self._emit(float(self._index(stage) + 1),
                       f"{stage}: done in {event.get('seconds', 0):.2f} s")
        elif "message" in event:
            self.say(f"{stage}: {event['message']}")

    @staticmethod
    def _index(stage: str) -> int:
        from appforge.agent.graph import STAGES

        return STAGES.index(stage) if stage in STAGES else 0

    def _halfway(self) -> float:
        return self.value + (math.floor(self.value) + 1 - self.value) / 2

    def _emit(self, value: float, message: str) -> None:
        self.value = max(value, self.value + 1e-6)
        self.lines.append(message)
        del self.lines[:-500]
        if not self.stop.is_set():
            self._send((self.value, self.total, message))


async def in_thread(work: Callable[[Progress], T], report: Report | None,
                    total: float | None = None) -> T:
    """Run ``work(progress)`` in a worker thread; forward its progress to ``report``; when this
    task is cancelled, tell the work to stop (``Progress.stop``) and wait for it to end."""
    stop = threading.Event()
    sender, receiver = anyio.create_memory_object_stream[tuple[float, float | None, str]](
        math.inf)

    def send(item: tuple[float, float | None, str]) -> None:
        try:
            from_thread.run_sync(sender.send_nowait, item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, RuntimeError):
            pass  # the request has ended: nobody to tell

    progress = Progress(send, stop, total)

    def run() -> T:
        progress.worker = threading.get_ident()
        return work(progress)

    async def forward() -> None:
        async with receiver:
            async for value, most, message in receiver:
                if report is not None:
                    try:
                        await report(value, most, message)
                    except Exception as exc:  # noqa: BLE001 - a client gone away stops nothing
                        log.debug("progress not sent: %s", exc)

    async def stop_when_cancelled() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            stop.set()

    failed: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(forward)
        group.start_soon(stop_when_cancelled)
        try:
            result = await anyio.to_thread.run_sync(run)
        except Exception as exc:  # noqa: BLE001 - raised as itself below, not in a group
            failed = exc
        finally:
            sender.close()
            group.cancel_scope.cancel()
    if failed is not None:
        raise failed
    return result


def busy_error(settings: Settings, slug: str) -> AppBusy:
    from appforge.store.locks import holder

    who = holder(settings.home, slug) or "another appforge process"
    return AppBusy(f"{slug} is busy: {who} is building or deploying it",
                   hint="wait for that build or deploy to end (show_app lists the app's "
                   "versions), then try again")


def refuse_if_busy(settings: Settings, slug: str) -> None:
    """:class:`AppBusy` at once when someone (this server, the CLI, the dashboard) holds the app."""
    from appforge.web.jobs import lock_held

    if lock_held(settings.home, slug):
        raise busy_error(settings, slug)


@contextmanager
def holding(settings: Settings, slug: str) -> Iterator[None]:
    """The app's lock for a deploy-type call, as the CLI's commands hold it, never waited for:
    a busy app is refused with :class:`AppBusy`."""
    from appforge.spec import validate_slug
    from appforge.store.locks import app_lock

    validate_slug(slug)
    refuse_if_busy(settings, slug)
    with ExitStack() as held:
        try:
            held.enter_context(app_lock(settings.home, slug, None, wait_s=0))
        except AppBusy:  # taken between the check and here
            raise busy_error(settings, slug) from None
        yield
