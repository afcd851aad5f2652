"""How long work shows itself: one line per build stage, and one progress bar for the images a
new machine needs (what is being fetched or unpacked, for each image).

On a terminal the stage in progress has a spinner and the images a live bar; piped, each stage
and each image gives one line when it ends, so logs stay short.
"""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn


class SetupBar:
    """One bar for all the images being made: their joint progress, and what each is doing."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._bar: Progress | None = None
        self._task: Any = None
        self._said: dict[str, str] = {}

    @property
    def active(self) -> bool:
        return self._bar is not None

    def update(self, jobs: list[dict[str, Any]]) -> None:
        for job in jobs:  # a line per image as it ends, on a terminal or not
            if job["state"] in ("ready", "failed") and self._said.get(job["name"]) == "making":
                mark = "[green]✓[/]" if job["state"] == "ready" else "[red]✗[/]"
                self._print(f"{mark} {job['label']:<20} {job['seconds']:6.1f}s  {job['tag']}"
                            + (f"  {job['error']}" if job["error"] else ""))
            self._said[job["name"]] = job["state"]
        if not self.console.is_terminal:
            return
        busy = [job for job in jobs if job["state"] in ("waiting", "making")]
        if not busy:
            self.close()
            return
        if self._bar is None:
            self._bar = Progress(TextColumn("[bold]setting up[/]"), BarColumn(),
                                 TaskProgressColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.description}"), console=self.console)
            self._task = self._bar.add_task("", total=100 * len(jobs))
            self._bar.start()
        done = sum(100 * job["done"] / max(job["total"], 1) for job in jobs)
        doing = " · ".join(f"{job['label']}: {job['doing'] or job['state']}" for job in busy)
        self._bar.update(self._task, completed=done, total=100 * len(jobs), description=doing)

    def _print(self, line: str) -> None:
        (self._bar.console if self._bar else self.console).print(line, highlight=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class BuildProgress:
    """Prints one line per stage as the build streams its events (from any thread)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.setup = SetupBar(console)
        self._lock = threading.Lock()
        self._stage = "starting"
        self.status = console.status("starting", spinner="dots") if console.is_terminal else None
        if self.status:
            self.status.start()

    def __call__(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._handle(event)

    def _handle(self, event: dict[str, Any]) -> None:
        stage = event.get("stage", "")
        if "images" in event:
            # The bar and the spinner are both live displays: one at a time.
            if self.status and not self.setup.active:
                self.status.stop()
            self.setup.update(event["images"])
            if self.status and not self.setup.active:
                self.status.start()
                self.status.update(f"{self._stage} …")
        elif event.get("event") == "start":
            self._stage = stage
            if self.status:
                self.status.update(f"{stage} …")
        elif event.get("event") == "end":
            self.console.print(f"[green]✓[/] {stage:<12} {event['seconds']:6.2f}s",
                               highlight=False)
        elif "message" in event:
            self.console.print(f"  [dim]{stage:<12} {event['message']}[/]", highlight=False,
                               markup=True)

    def close(self) -> None:
        with self._lock:
            self.setup.close()
            if self.status:
                self.status.stop()
