"""Getting a machine ready: the images every build needs, made at the same time, with progress.

A first build on a fresh machine needs three images: the Python base (apps and their tests), the
Caddy proxy, and the browser for screenshots (built on the Python base); ``setup`` also makes the
Postgres server's image (on the Python base too). Each is made from Debian packages in tens of
seconds. The first two are independent, so they are made at once; the browser and Postgres come
after them, since they need the Python base and no build waits for them before its app is live.

``appforge setup`` runs this in the foreground. A build that finds an image missing starts it in
the background as a detached process as soon as it starts (:func:`start_in_background`), so the
images are made while the build plans and renders, and a build that fails early, or a CLI that
returns, does not cut a bootstrap short. The build's stages then wait for the image they need on
its lock (:func:`appforge.sandbox.base_images.image_lock`), and the build shows the progress the
setup process writes to a small JSON file (:func:`read_progress`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appforge import background
from appforge.errors import AppforgeError
from appforge.store.locks import file_lock

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

Log = Callable[[str], None]
OnChange = Callable[[list[dict[str, Any]]], None]

#: ``postgres`` (the server of apps on Postgres, made from Debian's package in about 100 s) is
#: made by ``appforge setup`` but never by a build: a deploy of an app on Postgres makes it when
#: it is missing, and other apps never need it.
IMAGES = ("python", "proxy", "browser", "postgres")
LABELS = {"python": "python base", "proxy": "proxy (Caddy)", "browser": "browser (Chromium)",
          "postgres": "Postgres server"}
#: Seconds between two writes of the progress file (or two calls of ``on_change``).
_REPORT_EVERY = 0.2


@dataclass
class ImageJob:
    """One image being made: its state and how far it is (``done`` of ``total``)."""

    name: str
    tag: str
    state: str = "waiting"  # waiting | making | ready | failed
    done: int = 0
    total: int = 100
    doing: str = ""
    seconds: float = 0.0
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "label": LABELS[self.name]}


def tags(settings: Settings) -> dict[str, str]:
    from appforge.sandbox.base_images import POSTGRES_IMAGE
    from appforge.sandbox.browser import browser_image_tag

    return {"python": settings.python_base_image, "proxy": settings.proxy_image,
            "browser": browser_image_tag(settings), "postgres": POSTGRES_IMAGE}


def missing(client: docker.DockerClient, settings: Settings,
            images: tuple[str, ...] = IMAGES) -> list[str]:
    """The images (of ``images``) this engine does not have yet."""
    from appforge.sandbox.base_images import image_exists

    wanted = tags(settings)
    return [name for name in images if not image_exists(client, wanted[name])]


def images_for(settings: Settings) -> tuple[str, ...]:
    """The images this installation's builds use (the browser only when screenshots are on)."""
    return ("python", "proxy", "browser") if settings.screenshots else ("python", "proxy")


class Preparation:
    """Makes the missing images: the Python base and the proxy in two threads at once, then the
    browser. ``on_change`` is told every job's state as it moves (at most every 0.2 s)."""

    def __init__(self, client: docker.DockerClient, settings: Settings, log: Log,
                 on_change: OnChange | None = None, images: tuple[str, ...] = IMAGES) -> None:
        self.client, self.settings, self.log = client, settings, log
        self.on_change = on_change or (lambda _jobs: None)
        wanted = tags(settings)
        todo = set(missing(client, settings, images))
        self.jobs = {name: ImageJob(name, wanted[name], "waiting" if name in todo else "ready",
                                    done=0 if name in todo else 100)
                     for name in images}
        self._lock = threading.Lock()
        self._last_report = 0.0

    def run(self) -> list[ImageJob]:
        """Make every missing image; return the jobs (a failed one carries its error)."""
        first = [threading.Thread(target=self._make, args=(name,), daemon=True)
                 for name in ("python", "proxy") if self._todo(name)]
        for thread in first:
            thread.start()
        for thread in first:
            thread.join()
        if self._todo("browser"):
            self._make("browser")
        if self._todo("postgres"):
            self._make("postgres")
        self._report(force=True)
        return list(self.jobs.values())

    def _todo(self, name: str) -> bool:
        return name in self.jobs and self.jobs[name].state == "waiting"

    def _make(self, name: str) -> None:
        from appforge.sandbox.base_images import (
            ensure_postgres_image,
            ensure_proxy_image,
            ensure_python_base,
        )
        from appforge.sandbox.browser import ensure_browser_image

        make = {"python": ensure_python_base, "proxy": ensure_proxy_image,
                "browser": ensure_browser_image, "postgres": ensure_postgres_image}[name]
        job = self.jobs[name]
        job.state, start = "making", time.monotonic()
        self._report(force=True)

        def progress(done: int, total: int, doing: str) -> None:
            job.done, job.total, job.doing = done, total, doing
            job.seconds = round(time.monotonic() - start, 1)
            self._report()

        try:
            make(self.client, self.settings, lambda m: self.log(f"{LABELS[name]}: {m}"),
                 progress)
        except AppforgeError as exc:
            job.state, job.error = "failed", str(exc)
            self.log(f"{LABELS[name]}: {exc}")
        except Exception as exc:  # an engine that went away, a full disk: said, not raised
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
            self.log(f"{LABELS[name]}: {job.error}")
        else:
            job.state, job.done, job.total, job.doing = "ready", 100, 100, ""
        job.seconds = round(time.monotonic() - start, 1)
        self._report(force=True)

    def _report(self, force: bool = False) -> None:
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last_report < _REPORT_EVERY:
                return
            self._last_report = now
            self.on_change([job.as_json() for job in self.jobs.values()])


# The background process ------------------------------------------------------------------------
def _state_dir(settings: Settings) -> Path:
    """Machine-wide (images are shared by every data dir), one per set of image tags."""
    import tempfile

    key = hashlib.sha256(json.dumps(tags(settings), sort_keys=True).encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"appforge-images-{os.geteuid()}" / f"setup-{key}"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def progress_path(settings: Settings) -> Path:
    return _state_dir(settings) / "progress.json"


def setup_lock(settings: Settings, wait: bool = True) -> AbstractContextManager[bool]:
    """Held by whoever is making this installation's images; yields False (without waiting)
    when another process holds it and ``wait`` is false."""
    return file_lock(_state_dir(settings) / "setup.lock", wait)


def recorder(settings: Settings, on_change: OnChange | None = None) -> OnChange:
    """An ``on_change`` that also writes the progress file other processes follow."""
    path = progress_path(settings)

    def record(jobs: list[dict[str, Any]]) -> None:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "at": time.time(), "images": jobs}))
        tmp.replace(path)
        if on_change:
            on_change(jobs)

    return record


def run_and_record(client: docker.DockerClient, settings: Settings, log: Log,
                   on_change: OnChange | None = None,
                   images: tuple[str, ...] = IMAGES) -> list[ImageJob]:
    """Make the missing images holding the setup lock, writing progress for other processes."""
    with setup_lock(settings):
        return Preparation(client, settings, log, recorder(settings, on_change), images).run()


def start_in_background(settings: Settings, images: tuple[str, ...]) -> bool:
    """Start ``python -m appforge.sandbox.prepare`` detached, unless a setup already runs;
    return whether one is (now) running. Its output goes to ``setup.log`` beside the progress."""
    with setup_lock(settings, wait=False) as free:
        if not free:
            return True  # another build or `appforge setup` is making them
    progress_path(settings).unlink(missing_ok=True)
    background.start("appforge.sandbox.prepare", list(images), settings,
                     _state_dir(settings) / "setup.log")
    return True


def read_progress(settings: Settings) -> list[dict[str, Any]]:
    """The jobs the background setup last reported ([] when none has yet)."""
    try:
        return list(json.loads(progress_path(settings).read_text())["images"])
    except (OSError, ValueError, KeyError):
        return []


class ProgressWatcher:
    """Follows the background setup's progress file in a thread, telling ``on_change`` each
    new state, until every image is ready or failed (or :meth:`stop`)."""

    def __init__(self, settings: Settings, on_change: OnChange) -> None:
        self.settings, self.on_change = settings, on_change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)

    def start(self) -> ProgressWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _follow(self) -> None:
        last: list[dict[str, Any]] = []
        while not self._stop.wait(_REPORT_EVERY):
            jobs = read_progress(self.settings)
            if jobs and jobs != last:
                last = jobs
                self.on_change(jobs)
            if jobs and all(job["state"] in ("ready", "failed") for job in jobs):
                return


def _main(argv: list[str]) -> int:
    from appforge.sandbox.engine import connect

    settings = background.settings_from_stdin()
    images = tuple(name for name in argv if name in IMAGES) or IMAGES
    jobs = run_and_record(connect(settings), settings, background.log, images=images)
    return 1 if any(job.state == "failed" for job in jobs) else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
