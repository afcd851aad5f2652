"""What the Docker engine says about the apps right now: health, resource use, log lines.

Pages must render without an engine (it may be stopped, or this may be a review machine), so
every function here answers ``None`` or an explanation instead of raising when the engine is
not reachable. The list page asks the engine once for all of the installation's containers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appforge.errors import AppforgeError, InvalidInput
from appforge.sandbox.containers import container_name

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

ENGINE_TIMEOUT = 5


def engine(settings: Settings) -> docker.DockerClient | None:
    """A client for the engine, or None when it does not answer."""
    from docker.errors import DockerException

    from appforge.sandbox.engine import connect

    try:
        return connect(settings, timeout=ENGINE_TIMEOUT)
    except (AppforgeError, DockerException, OSError):
        return None


def states(settings: Settings) -> dict[str, dict[str, str]] | None:
    """Container name -> {"state", "health"} for this installation; None without an engine."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    client = engine(settings)
    if client is None:
        return None
    try:
        found = client.containers.list(
            all=True, filters={"label": f"io.appforge.instance={settings.instance}"})
    except (DockerException, RequestException):
        return None
    return {c.name: _state(c.attrs) for c in found}


def _state(attrs: dict[str, Any]) -> dict[str, str]:
    state = attrs.get("State") or {}
    return {"state": state.get("Status", "unknown"),
            "health": (state.get("Health") or {}).get("Status", "none")}


def health_of(table: dict[str, dict[str, str]] | None, settings: Settings, slug: str,
              version: int | None) -> str:
    """A word or two for the list: healthy, unhealthy, starting, running (no healthcheck),
    stopped, no container, or unknown (no engine)."""
    if table is None:
        return "unknown"
    if version is None:
        return "no container"
    found = table.get(container_name(settings, slug, version))
    if found is None:
        return "no container"
    if found["state"] != "running":
        return "stopped"
    return found["health"] if found["health"] != "none" else "running"


def stats(settings: Settings, slug: str, version: int | None) -> dict[str, Any]:
    """CPU %, memory used/limit and pids of the app's live container (one sample)."""
    from docker.errors import DockerException, NotFound
    from requests.exceptions import RequestException

    if version is None:
        return {"available": False, "reason": "never deployed"}
    client = engine(settings)
    if client is None:
        return {"available": False, "reason": "the Docker engine is not reachable"}
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
