"""Connecting to the Docker engine, with one clear error when it is not there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appforge.errors import EngineUnavailable

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

#: Label put on everything appforge creates, so it can find (and only touch) its own objects.
LABEL = "io.appforge"


def connect(settings: Settings, timeout: int = 120) -> docker.DockerClient:
    """Return a client for the configured engine, or raise :class:`EngineUnavailable`."""
    import docker
    from docker.errors import DockerException

    try:
        if settings.docker_host:
            client = docker.DockerClient(base_url=settings.docker_host, timeout=timeout)
        else:
            client = docker.from_env(timeout=timeout)
        client.ping()
    except (DockerException, OSError) as exc:
        raise EngineUnavailable(
            f"the Docker engine is not reachable: {exc}",
            hint="start it (`sudo systemctl start docker`, or `sudo dockerd &` where there is no "
            "systemd; install it with `sudo apt-get install -y docker.io`), or set "
            "APPFORGE_DOCKER_HOST / DOCKER_HOST",
        ) from None
    return client
