"""What the Docker engine says about the apps right now: live state, resource use, log lines.

Pages must render without an engine (it may be stopped, or this may be a review machine), so
every function here answers ``None``, ``unknown`` or an explanation instead of raising when the
engine is not reachable. The list page connects to the engine once for all of the apps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appforge.errors import AppforgeError, InvalidInput

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings
    from appforge.store import AppRecord

ENGINE_TIMEOUT = 5


def engine(settings: Settings) -> docker.DockerClient | None:
    """A client for the engine, or None when it does not answer."""
    from docker.errors import DockerException

    from appforge.sandbox.engine import connect

    try:
        return connect(settings, timeout=ENGINE_TIMEOUT)
    except (AppforgeError, DockerException, OSError):
        return None


def app_states(settings: Settings, apps: list[AppRecord]) -> dict[str, dict[str, Any]]:
    """Each app's live state beside its intended status (``sandbox/live_state.py``: running,
    starting, unhealthy, restarting, crash-looping, out-of-memory, stopped, missing, or unknown
    without an engine), with its tone and summary; one engine connection for all of them."""
    from appforge.tools.app_info import live_of

    return live_of(engine(settings), settings, apps)


def stats(settings: Settings, slug: str, version: int | None) -> dict[str, Any]:
    """CPU %, memory used/limit and pids of what runs the app's live version (one sample)."""
    from appforge.engines import engine_for

    if version is None:
        return {"available": False, "reason": "never deployed"}
    client = engine(settings)
    if client is None:
        return {"available": False, "reason": "the Docker engine is not reachable"}
    return engine_for(settings, client).stats(slug, version)


def log_text(settings: Settings, slug: str, tail: int = 200) -> dict[str, Any]:
    """The last ``tail`` lines of the live container's log, or why there are none."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    from appforge.tools import app_info

    try:
        data = app_info.logs(settings, slug, follow=False, tail=tail)
    except InvalidInput as exc:
        return {"available": False, "text": "", "reason": str(exc)}
    except (AppforgeError, DockerException, RequestException) as exc:
        return {"available": False, "text": "", "reason": f"no logs: {exc}"}
    return {"available": True, "text": data.decode(errors="replace"), "reason": ""}
