"""The supervisor: what someone or something took down comes back without a person.

The engine restarts an app that crashes or runs out of memory (restart policy ``unless-stopped``,
with its own backoff), but not a container stopped or killed by hand (``docker kill``,
``docker stop``), one removed (``docker rm -f``), or the proxy in either case. The supervisor
watches the engine's events for this installation's containers and, when one dies or goes, puts
back what the store says should serve, as ``appforge up`` would: the proxy (when any app is
deployed) and each app whose intended status is running. It leaves alone an app another appforge
process is building or deploying, a container the engine is restarting itself, and apps stopped
on purpose (``appforge stop``). Every :data:`FULL_CHECK_S` seconds it also checks everything, in
case an event was missed.

It runs in the foreground with ``appforge supervise`` (under systemd, say), or in the background:
``appforge up`` and every build start it when ``APPFORGE_SUPERVISE`` is on (the default) and
none runs for this installation; ``appforge down`` stops it. One per installation (a lock in the
data dir); its log is ``$APPFORGE_HOME/supervisor.log``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from appforge.errors import AppforgeError
from appforge.store.locks import file_lock

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

Log = Callable[[str], None]
#: Seconds between two checks of everything, events or not.
FULL_CHECK_S = 30.0
#: Seconds without any app after which the supervisor ends (the next build starts another).
IDLE_EXIT_S = 600.0
#: The engine's events that can mean something should be put back.
EVENTS = ["die", "destroy", "kill", "stop", "oom"]


def lock_path(settings: Settings) -> Path:
    return settings.home / "locks" / "supervisor.lock"


def pid_path(settings: Settings) -> Path:
    return settings.home / "supervisor.pid"


def log_path(settings: Settings) -> Path:
    return settings.home / "supervisor.log"


def running_pid(settings: Settings) -> int | None:
    """The supervisor's process id when one runs for this installation, else None."""
    with file_lock(lock_path(settings), wait=False) as free:
        if free:
            return None
    try:
        return int(pid_path(settings).read_text().strip())
    except (OSError, ValueError):
        return -1  # it runs, but has not written its id yet


def ensure_running(settings: Settings) -> int | None:
    """Start the supervisor in the background unless one runs or ``supervise`` is off; return
    its process id (None when off)."""
    from appforge import background

    if not settings.supervise:
        return None
    pid = running_pid(settings)
    if pid is not None:
        return pid
    return background.start("appforge.supervisor", [], settings, log_path(settings))


def stop(settings: Settings, wait_s: float = 15.0) -> int | None:
    """Stop this installation's supervisor (``down`` does, before it takes things down); return
    the id of the process stopped, or None when none ran."""
    pid = running_pid(settings)
    if pid is None or pid <= 0:
        return None
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return None
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and running_pid(settings) is not None:
        time.sleep(0.1)
    return pid


def run(settings: Settings, log: Log, stopping: threading.Event | None = None) -> bool:
    """Watch and heal until ``stopping`` is set (or SIGTERM); False at once when another
    supervisor already runs for this installation."""
    from appforge.sandbox.engine import LABEL, connect

    stopping = stopping or threading.Event()
    with file_lock(lock_path(settings), wait=False) as mine:
        if not mine:
            log("another supervisor runs for this installation; leaving it to it")
            return False
        pid_path(settings).write_text(f"{os.getpid()}\n")
        log(f"supervising {settings.instance} (pid {os.getpid()})")
        try:
            client = connect(settings)
            heal(settings, client, log)
            since, last_full = int(time.time()), time.monotonic()
            filters = {"type": "container", "event": EVENTS,
                       "label": [f"{LABEL}.instance={settings.instance}"]}
            empty_since: float | None = None
            while not stopping.is_set():
                until = int(time.time()) + 1
                seen = list(client.events(since=since, until=until, filters=filters,
                                          decode=True))
                since = until
                if not settings.db_path.exists():
                    log(f"{settings.home} holds no appforge store any more; stopping")
                    break
                if seen or time.monotonic() - last_full >= FULL_CHECK_S:
                    heal(settings, client, log)
                    last_full = time.monotonic()
                    if _has_apps(settings):
                        empty_since = None
                    elif empty_since is None:
                        empty_since = time.monotonic()
                    elif time.monotonic() - empty_since >= IDLE_EXIT_S:
                        log("no apps for a while; nothing to supervise")
                        break
        finally:
            pid_path(settings).unlink(missing_ok=True)
            log("supervisor stopped")
    return True


def heal(settings: Settings, client: docker.DockerClient, log: Log) -> list[str]:
    """Put back what should serve and does not: the proxy, then each app whose intended status
    is running and whose container is neither running nor being restarted by the engine.
    Returns what it did; errors are logged, never raised (it tries again later)."""
    from docker.errors import DockerException

    from appforge.sandbox.proxy import proxy_status
    from appforge.store import Store
    from appforge.store.locks import app_lock_if_free
    from appforge.tools import apps

    done: list[str] = []
    if not settings.db_path.exists():
        return done
    try:
        store = Store(settings.db_path)
        deployed = [a for a in store.list_apps() if a.current_version is not None
                    and a.status in ("running", "stopped")]
        if not deployed:
            return done  # nothing to serve: no proxy either (destroy of the last app, down)
        if proxy_status(client, settings) != "running":
            apps.apply_store_routes(client, settings, store, log)
            done.append("brought the proxy back")
    except (AppforgeError, DockerException, OSError) as exc:
        log(f"could not bring the proxy back now ({exc}); trying again later")
        return done
    for app in deployed:
        with app_lock_if_free(settings.home, app.slug) as free:
            if not free:
                continue  # being built or deployed: its process sees to it
            try:  # starts nothing unless it should run and does not (nor is the engine's)
                if apps.bring_back(client, settings, store, store.get_app(app.slug), log):
                    done.append(f"brought {app.slug} v{app.current_version} back")
            except (AppforgeError, DockerException, OSError) as exc:
                log(f"could not bring {app.slug} back now ({exc}); trying again later")
    for line in done:
        log(line)
    return done


def _has_apps(settings: Settings) -> bool:
    from appforge.store import Store

    try:
        return settings.db_path.exists() and bool(Store(settings.db_path).list_apps())
    except OSError:
        return False


def main() -> None:
    """``python -m appforge.supervisor``: the background supervisor (settings on stdin)."""
    from appforge.background import log, settings_from_stdin

    settings = settings_from_stdin()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    run(settings, log, stopping)


if __name__ == "__main__":
    main()
