"""Per-app locks, so two builds or deploys of one app never interleave.

A second build of the same app waits for the first (saying so), then goes on; different apps
build in parallel. The lock is an ``flock`` on a file under the data dir, so it also holds
between processes and is released if a process dies.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def app_lock(home: Path, slug: str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    path = home / "locks" / f"app-{slug}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
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
