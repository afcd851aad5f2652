"""What the Docker engine says about the apps right now: live state, resource use, log lines.

Pages must render without an engine (it may be stopped, or this may be a review machine), so
every function here answers ``None``, ``unknown`` or an explanation instead of raising when the
engine is not reachable. The list page connects to the engine once for all of the apps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appforge.errors import AppforgeError, InvalidInput
from appforge.sandbox.containers import container_name

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
    from appforge.tools.apps import live_of

    return live_of(engine(settings), settings, apps)


def stats(settings: Settings, slug: str, version: int | None) -> dict[str, Any]:
    """CPU %, memory used/limit and pids of the app's live container (one sample)."""
    from docker.errors import DockerException, NotFound
    from requests.exceptions import RequestException

    if version is None:
        return {"available": False, "reason": "never deployed"}
    client = engine(settings)
    if client is None:
        return {"available": False, "reason": "the Docker engine is not reachable"}
    if settings.engine == "swarm":
        return {"available": False, "reason": "a Swarm service's replicas run on several "
                "nodes; `appforge cluster nodes` shows where"}
    try:
        container = client.containers.get(container_name(settings, slug, version))
        if container.status != "running":
            return {"available": False, "reason": f"the container is {container.status}"}
        sample = container.stats(stream=False)
    except NotFound:
        return {"available": False, "reason": "no container (stopped or removed)"}
    except (DockerException, RequestException, ValueError) as exc:
        # A container stopping or being replaced mid-sample answers with an empty body.
        return {"available": False, "reason": f"no sample from the engine ({exc})"}
    return {"available": True, **_usage(sample)}


def _usage(sample: dict[str, Any]) -> dict[str, Any]:
    cpu, pre = sample.get("cpu_stats") or {}, sample.get("precpu_stats") or {}
    used = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - \
        (pre.get("cpu_usage") or {}).get("total_usage", 0)
    system = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    cpus = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or [1])
    memory = sample.get("memory_stats") or {}
    cache = (memory.get("stats") or {}).get("inactive_file", 0)
    return {"cpu_percent": round(used / system * cpus * 100, 1) if system > 0 else 0.0,
            "memory_used": max(memory.get("usage", 0) - cache, 0),
            "memory_limit": memory.get("limit", 0),
            "pids": (sample.get("pids_stats") or {}).get("current", 0)}


def log_text(settings: Settings, slug: str, tail: int = 200) -> dict[str, Any]:
    """The last ``tail`` lines of the live container's log, or why there are none."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    from appforge.tools import apps

    try:
        data = apps.logs(settings, slug, follow=False, tail=tail)
    except InvalidInput as exc:
        return {"available": False, "text": "", "reason": str(exc)}
    except (AppforgeError, DockerException, RequestException) as exc:
        return {"available": False, "text": "", "reason": f"no logs: {exc}"}
    return {"available": True, "text": data.decode(errors="replace"), "reason": ""}
