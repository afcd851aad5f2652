"""Apps as plain containers on one Docker engine (``APPFORGE_ENGINE=docker``, the default):
one container per version, blue/green (``sandbox/deploy.py``), the engine restarting a crashed
one by itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from appforge.engines import Started
from appforge.errors import InvalidInput
from appforge.sandbox import containers
from appforge.sandbox.deploy import retire_old_versions, start_healthy
from appforge.sandbox.hardening import Limits

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

Log = Callable[[str], None]


class ContainerEngine:
    name = "docker"

    def __init__(self, settings: Settings, client: docker.DockerClient) -> None:
        self.settings, self.client = settings, client

    def start_version(self, slug: str, version: int, image: str, spec: dict[str, Any],
                      limits: Limits,
                      replicas: int, log: Log) -> Started:
        container, healthy_after = start_healthy(self.client, self.settings, slug, version,
                                                 image, limits, log)
        return Started(container.name, containers.upstream(self.settings, slug), healthy_after)

    def retire(self, slug: str, keep: str, log: Log) -> None:
        retire_old_versions(self.client, self.settings, slug, keep=keep, log=log)

    def stop(self, slug: str, log: Log) -> None:
        from docker.errors import DockerException

        for c in self.client.containers.list(ignore_removed=True,
                all=True, filters=containers.app_filter(self.settings, slug)):
            try:
                c.stop(timeout=10)
            except DockerException as exc:
                log(f"could not stop {c.name}: {exc}")

    def remove_app(self, slug: str, keep_data: bool, keep_images: bool = False,
                   graceful: bool = False) -> list[str]:
        return containers.remove_app(self.client, self.settings, slug, keep_data=keep_data,
                                     keep_images=keep_images, graceful=graceful)

    def serving(self, slug: str, version: int) -> bool:
        from docker.errors import NotFound

        try:
            # "restarting": the engine brings it back itself (unless-stopped, with its
            # backoff); a new container would fail the same way, be removed, and hide the
            # crash loop that `list` and `show` report.
            return self.client.containers.get(containers.container_name(
                self.settings, slug, version)).status in ("running", "restarting")
        except NotFound:
            return False

    def address(self, slug: str, version: int) -> str:
        return containers.container_name(self.settings, slug, version)

    def live(self, slug: str, version: int) -> dict[str, Any]:
        from appforge.sandbox import live_state

        return live_state.read(self.client, containers.container_name(self.settings, slug,
                                                                      version))

    def describe(self, slug: str, version: int) -> dict[str, Any] | None:
        from docker.errors import DockerException, NotFound

        try:
            c = self.client.containers.get(containers.container_name(self.settings, slug,
                                                                     version))
        except (NotFound, DockerException):
            return None
        host, state = c.attrs["HostConfig"], c.attrs["State"]
        return {
            "name": c.name, "state": state.get("Status"),
            "health": (state.get("Health") or {}).get("Status", "none"),
            "restarts": c.attrs.get("RestartCount", 0),
            "limits": {"memory": host.get("Memory"),
                       "cpus": (host.get("NanoCpus") or 0) / 1e9,
                       "pids": host.get("PidsLimit")},
        }

    def logs(self, slug: str, version: int, follow: bool, tail: int) -> Iterator[bytes] | bytes:
        from docker.errors import NotFound

        try:
            c = self.client.containers.get(containers.container_name(self.settings, slug,
                                                                     version))
        except NotFound:
            raise InvalidInput(f"{slug} v{version} has no container; `appforge start {slug}` "
                               "starts it") from None
        return c.logs(stream=follow, follow=follow, tail=tail, timestamps=False)

    def scale(self, slug: str, spec: dict[str, Any], replicas: int, log: Log) -> float:
        raise InvalidInput(f"scaling {slug} needs APPFORGE_ENGINE=swarm: on a single Docker "
                           "engine an app runs as one container",
                           hint="`appforge cluster init`, then set APPFORGE_ENGINE=swarm")

    def restart(self, slug: str, version: int, log: Log) -> bool:
        from docker.errors import DockerException, NotFound

        try:
            container = self.client.containers.get(containers.container_name(
                self.settings, slug, version))
        except NotFound:
            return False
        if container.status != "running":
            return False
        try:
            container.restart(timeout=10)
            containers.wait_healthy(container, self.settings.health_timeout)
        except DockerException as exc:
            log(f"could not restart {container.name}: {exc}")
        return True

    def stats(self, slug: str, version: int) -> dict[str, Any]:
        from docker.errors import DockerException, NotFound

        from appforge.sandbox import live_state

        try:
            container = self.client.containers.get(containers.container_name(
                self.settings, slug, version))
        except NotFound:
            return {"available": False, "reason": "no container (stopped or removed)"}
        except DockerException as exc:
            return {"available": False, "reason": f"no sample from the engine ({exc})"}
        return live_state.sample(container)
