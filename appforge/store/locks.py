"""Per-app locks, so two builds or deploys of one app never interleave.

A second build of the same app waits for the first (saying so), then goes on; different apps
build in parallel. The lock is an ``flock`` on a file under the data dir, so it also holds
between processes and is released if a process dies. :func:`app_lock_if_free` takes it only
when nobody holds it: ``appforge up`` repairs what a killed build left, and must leave a live one
alone.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def _lock_path(home: Path, slug: str) -> Path:
    path = home / "locks" / f"app-{slug}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def app_lock(home: Path, slug: str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    path = _lock_path(home, slug)
    with path.open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait(f"another build or deploy of {slug} is running; waiting for it")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
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
    with path.open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
