"""Long actions (rebuild, roll back, stop, start, destroy, chat turns) as background jobs.

A job runs in a thread of the dashboard's process; its progress lines, state and result live in
memory, and the page polls ``/jobs/{id}`` to show them. One job per app at a time, and none while
another process (a CLI build or deploy) holds the app's lock: the dashboard says "busy" instead
of queueing work behind it. A running job can be cancelled: the model calls it makes (planning,
the LLM coder) stop at once and their connections close, so the model's server stops generating.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appforge.errors import AppforgeError

log = logging.getLogger("appforge.web")

#: How many finished jobs are remembered (the newest).
KEEP_FINISHED = 50
MAX_LINES = 2000


class AppBusy(AppforgeError):
    """Another build, deploy or dashboard action of the same app is under way."""

    status_code = 409


@dataclass
class Job:
    id: str
    slug: str
    action: str
    title: str
    state: str = "running"  # running | done | failed | cancelled
    lines: list[str] = field(default_factory=list)
    message: str = ""
    hint: str = ""
    detail: str = ""
    #: Where the page should go once the job is done (e.g. the list, after a destroy).
    redirect: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None
    #: What the job found, for the page it returns to (a search's names); not in the JSON.
    data: dict[str, Any] = field(default_factory=dict)
    cancelled: bool = False
    _guard: Any = field(default=None, repr=False)

    def cancel(self) -> bool:
        """Stop the job's model calls now (their connections close); False if it ended."""
        if self.state != "running":
            return False
        self.cancelled = True
        self.say("cancelled: the model's calls were stopped")
        if self._guard is not None:
            self._guard.cancel("the job was cancelled")
        return True

    def say(self, line: str) -> None:
        self.lines.append(line.rstrip())
        del self.lines[:-MAX_LINES]

    def on_event(self, event: dict[str, Any]) -> None:
        """A build's progress event (as ``agent.run.build`` sends them) as a line."""
        stage = event.get("stage", "")
        if event.get("event") == "start":
            self.say(f"▸ {stage}")
        elif event.get("event") == "end":
            self.say(f"✓ {stage} ({event.get('seconds', 0):.2f} s)")
        elif "message" in event:
            self.say(f"  {stage}: {event['message']}")

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "slug": self.slug, "action": self.action, "title": self.title,
                "state": self.state, "lines": self.lines, "message": self.message,
                "hint": self.hint, "detail": self.detail, "redirect": self.redirect,
                "started": self.started, "finished": self.finished}


Work = Callable[[Job], str]


class Jobs:
    """The registry of this process's jobs."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def running(self, slug: str) -> Job | None:
        return next((j for j in self._jobs.values() if j.slug == slug and j.state == "running"),
                    None)

    def start(self, slug: str, action: str, title: str, work: Work) -> Job:
        """Run ``work(job)`` in a thread; it returns the message shown when it is done.

        Raises :class:`AppBusy` when the app already has a job here or is locked elsewhere.
        """
        with self._lock:
            current = self.running(slug)
            if current is not None:
                raise AppBusy(f"{slug} is busy: {current.title} is still running",
                              hint="wait for it to finish; its progress is on the app's page")
            if lock_held(self.home, slug):
                raise AppBusy(f"{slug} is busy: another build or deploy of it is running "
                              "(from the command line or a chat)",
                              hint="wait for it to finish, then try again")
            job = Job(id=uuid.uuid4().hex[:12], slug=slug, action=action, title=title)
            self._jobs[job.id] = job
            self._forget_old()
        threading.Thread(target=self._run, args=(job, work), name=f"job-{job.id}",
                         daemon=True).start()
        return job

    def _run(self, job: Job, work: Work) -> None:
        from appforge.agent.llm_guard import Guard

        try:
            with Guard("the job") as job._guard:
                job.message = work(job)
            # a chat turn answers a stopped model call with a reply rather than an error
            job.state = "cancelled" if job.cancelled else "done"
        except AppforgeError as exc:
            job.message, job.hint, job.detail = str(exc), exc.hint or "", exc.detail or ""
            job.state = "cancelled" if job.cancelled else "failed"
        except Exception as exc:  # noqa: BLE001 - a bug must still end the job visibly
            log.error("job %s (%s) crashed:\n%s", job.id, job.title, traceback.format_exc())
            job.message = f"unexpected error: {type(exc).__name__}: {exc}"
            job.hint = "the dashboard's log has the stack trace"
            job.state = "failed"
        finally:
            job.finished = time.time()

    def _forget_old(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.state != "running"),
                          key=lambda j: j.finished or 0)
        for job in finished[:-KEEP_FINISHED]:
            del self._jobs[job.id]


def lock_held(home: Path, slug: str) -> bool:
    """Whether some process holds the app's build/deploy lock (``store.locks.app_lock``)."""
    path = home / "locks" / f"app-{slug}.lock"
    if not path.exists():
        return False
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False
