"""Per-app locks, so two builds or deploys of one app never interleave.

A second build of the same app waits for the first (saying who holds it), then goes on; it waits
at most ``wait_s`` seconds (``--wait``, ``APPFORGE_LOCK_WAIT``), then fails with
:class:`AppBusy`, naming the process that holds the app and since when. Different apps build in
parallel. The lock is an ``flock`` on a file under the data dir, so it also holds between
processes and is released if a process dies; the holder writes who it is into the file.
:func:`app_lock_if_free` takes it only when nobody holds it: ``appforge up`` repairs what a
killed build left, and must leave a live one alone.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO

from appforge.errors import AppBusy

#: How often a waiting process tries the lock again.
POLL_S = 0.2


def _lock_path(home: Path, slug: str) -> Path:
    path = home / "locks" / f"app-{slug}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _try(fh: IO[str]) -> bool:
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _mark_holder(fh: IO[str]) -> None:
    program = "appforge" if "appforge" in sys.argv[0] else Path(sys.argv[0]).name
    command = " ".join([program, *[a for a in sys.argv[1:] if not a.startswith("-")][:1]])
    fh.seek(0)
    fh.truncate()
    fh.write(json.dumps({"pid": os.getpid(), "command": command, "since": time.time()}))
    fh.flush()


def holder(home: Path, slug: str) -> str:
    """Who holds the app's lock, in words (as its holder wrote it), or '' when nobody says."""
    try:
        info = json.loads(_lock_path(home, slug).read_text() or "{}")
        since = time.strftime("%H:%M:%S", time.localtime(info["since"]))
        return (f"process {info['pid']} (`{info['command']}`, since {since}, "
                f"{_duration(time.time() - info['since'])})")
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60} s"


@contextmanager
def app_lock(home: Path, slug: str, on_wait: Callable[[str], None] | None = None,
             wait_s: float | None = None) -> Iterator[None]:
    """Hold ``slug``'s lock, waiting for another holder at most ``wait_s`` seconds (None: for as
    long as it takes)."""
    path = _lock_path(home, slug)
    with path.open("a+") as fh:  # not "w": that would wipe the holder's name
        if not _try(fh):
            who = holder(home, slug) or "another appforge process"
            if on_wait:
                limit = f" (at most {wait_s:g} s)" if wait_s is not None else ""
                on_wait(f"{slug} is busy: {who} is building or deploying it; waiting{limit}")
            deadline = None if wait_s is None else time.monotonic() + wait_s
            while not _try(fh):
                if deadline is not None and time.monotonic() >= deadline:
                    who = holder(home, slug) or who
                    raise AppBusy(
                        f"{slug} is still busy after {wait_s:g} s: {who} is building or "
                        "deploying it", hint="wait longer (--wait SECONDS, or APPFORGE_LOCK_WAIT)"
                        "; if that process hangs, stop it, then `appforge up` repairs what it "
                        "left")
                time.sleep(POLL_S)
        _mark_holder(fh)
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def app_lock_if_free(home: Path, slug: str) -> Iterator[bool]:
    """Hold the app's lock if no process holds it (yields True), else yield False at once."""
    with file_lock(_lock_path(home, slug), wait=False) as free:
        yield free


@contextmanager
def file_lock(path: Path, wait: bool = True) -> Iterator[bool]:
    """An exclusive ``flock`` on ``path``, between processes and threads alike (each call opens
    the file anew). Yields True once held; with ``wait`` false, yields False at once when
    another holder has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:  # "a+": the file may hold its holder's name (app_lock)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def routes_lock(home: Path) -> AbstractContextManager[bool]:
    """The lock around "read the serving apps from the store, give the proxy their routes" (and
    a deploy's "route the new version, record it"): without it, two builds finishing together
    could each give the proxy a list without the other's app, and one app would answer 404.
    Held for milliseconds; never taken twice by one process at once (flock would deadlock)."""
    return file_lock(home / "locks" / "proxy-routes.lock")

