"""Where apps run: plain containers on one Docker engine, or services on a Docker Swarm.

:func:`engine_for` picks the implementation from ``APPFORGE_ENGINE``; ``tools/apps.py`` calls
only the :class:`Engine` protocol, so every command (build, rollback, stop, start, destroy, up,
show, logs) works the same on both. What is the same on every engine (image builds, the tests'
sandbox, hardening rules, the proxy and its routes, snapshots of the manager's volumes) stays in
``sandbox/`` and ``backups/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from appforge.errors import InvalidInput
from appforge.sandbox.hardening import Limits

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

Log = Callable[[str], None]


@dataclass
class Started:
    """A version that runs and passed its health check (not yet routed)."""

    name: str  # its container, or its service
    upstream: str  # what the proxy dials
    healthy_after: float
    replicas: list[dict[str, Any]] = field(default_factory=list)


class Engine(Protocol):
    name: str

    def start_version(self, slug: str, version: int, image: str, spec: dict[str, Any],
                      limits: Limits,
                      replicas: int, log: Log) -> Started:
        """Run ``version`` beside whatever serves now and wait until it is healthy."""

    def retire(self, slug: str, keep: str, log: Log) -> None:
        """Stop what served before ``keep`` (once the store names ``keep``'s version)."""

    def stop(self, slug: str, log: Log) -> None:
        """Stop serving (gracefully); data and versions stay."""

    def remove_app(self, slug: str, keep_data: bool, keep_images: bool = False,
                   graceful: bool = False) -> list[str]:
        """Remove what runs the app, its network, and (unless kept) its data and images."""

    def serving(self, slug: str, version: int) -> bool:
        """Whether ``version`` runs (or the engine is bringing it back by itself)."""

    def address(self, slug: str, version: int) -> str:
        """The name ``version`` alone answers to on the app's network."""

    def live(self, slug: str, version: int) -> dict[str, Any]:
        """The live state (``sandbox/live_state.py``'s words) of the version."""

    def describe(self, slug: str, version: int) -> dict[str, Any] | None:
        """What ``show`` reports of the running version: state, health, limits, replicas."""

    def logs(self, slug: str, version: int, follow: bool, tail: int) -> Iterator[bytes] | bytes:
        """The version's log lines (an iterator when following)."""

    def scale(self, slug: str, spec: dict[str, Any], replicas: int, log: Log) -> float:
        """Run ``replicas`` copies of the current version; the seconds it took."""

    def restart(self, slug: str, version: int, log: Log) -> bool:
        """Restart what runs ``version`` (it re-reads its data), health-gated; False when
        nothing runs it."""

    def stats(self, slug: str, version: int) -> dict[str, Any]:
        """One sample of CPU %, memory used/limit and pids (``available`` false, and why,
        when there is none); per replica where there are several."""


def engine_for(settings: Settings, client: docker.DockerClient) -> Engine:
    if settings.engine == "swarm":
        from appforge.engines.services import SwarmEngine

        return SwarmEngine(settings, client)
    from appforge.engines.containers import ContainerEngine

    return ContainerEngine(settings, client)


def check_replicas_supported(settings: Settings, replicas: int | None) -> None:
    """``--replicas`` above 1 needs the Swarm engine: one engine runs one container an app."""
    if replicas is not None and replicas != 1 and settings.engine != "swarm":
        raise InvalidInput(f"{replicas} replicas need APPFORGE_ENGINE=swarm: on a single Docker "
                           "engine an app runs as one container",
                           hint="`appforge cluster init`, then set APPFORGE_ENGINE=swarm")
