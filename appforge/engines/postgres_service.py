"""The Postgres server of an app on a swarm: a Swarm service, not a container.

With ``APPFORGE_ENGINE=swarm``, ``sandbox/postgres.py`` runs an app's server as the service
``<instance>-<slug>-postgres`` (the same name, so the app's ``DATABASE_URL`` is the same on both
engines): one replica, pinned to the manager, where its volume (``<instance>-postgres-<slug>``),
its image (bootstrapped from Debian, never pushed anywhere) and the backups that ``pg_dump`` it
are; on the app's internal overlay network only, where every replica of the app reaches it. Swarm
restarts it when it stops or its node restarts, so nothing has to watch it.

Hardened as the container is: user ``postgres``, read-only root, no capabilities, tmpfs
``/tmp``, memory and process limits, init, bounded logs, SIGINT to stop (a fast shutdown). Its
password is a Swarm secret (``<instance>-<slug>-postgres-password``), a file in the task that
``docker service inspect`` does not show, unlike an environment variable.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from appforge.engines.swarm import SERVICE_LABEL
from appforge.errors import UnhealthyDeployment
from appforge.sandbox.containers import app_labels, network_name
from appforge.sandbox.hardening import log_config, size_in_bytes

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

    from appforge.config import Settings

SECRET_FILE = "/run/secrets/db_password"
SECOND_NS = 1_000_000_000


def secret_name(settings: Settings, slug: str) -> str:
    return f"{settings.instance}-{slug}-postgres-password"


def task_container(client: docker.DockerClient, name: str) -> Container | None:
    """The service's running task's container on this (the manager's) engine, else the newest
    of its containers, else None."""
    found = client.containers.list(all=True, filters={"label": f"{SERVICE_LABEL}={name}"},
                                   ignore_removed=True)
    running = [c for c in found if c.status == "running"]
    pool = running or found
    return max(pool, key=lambda c: c.attrs.get("Created", "")) if pool else None


def ensure_service(client: docker.DockerClient, settings: Settings, slug: str, password: str,
                   log: Any) -> Container:
    """Create the service unless it exists; wait for its task's container and return it."""
    from docker.errors import NotFound

    from appforge.engines.cluster import require_manager
    from appforge.sandbox import postgres

    name = postgres.container_name(settings, slug)
    try:
        client.services.get(name)
    except NotFound:
        manager = require_manager(client)
        client.services.create(**_spec(client, settings, slug, password, manager.node_id))
        log(f"started the service {name} on the manager")
    deadline = time.monotonic() + postgres.READY_TIMEOUT_S
    while time.monotonic() < deadline:
        container = task_container(client, name)
        if container is not None and container.status == "running":
            return container
        time.sleep(0.3)
    raise UnhealthyDeployment(f"the Postgres service {name} started no task in "
                              f"{postgres.READY_TIMEOUT_S:.0f} s",
                              hint=f"`docker service ps {name} --no-trunc` says why")


def _secret(client: docker.DockerClient, settings: Settings, slug: str, password: str) -> Any:
    name = secret_name(settings, slug)
    for secret in client.secrets.list(filters={"name": name}):
        if secret.name == name:
            secret.remove()  # not in use (no service): the password file is the truth
    return client.secrets.create(name=name, data=password.encode(),
                                 labels=app_labels(settings, slug, "postgres"))


def _spec(client: docker.DockerClient, settings: Settings, slug: str, password: str,
          manager_id: str) -> dict[str, Any]:
    import docker.types as dt

    from appforge.sandbox import postgres
    from appforge.sandbox.base_images import POSTGRES_IMAGE

    secret = _secret(client, settings, slug, password)
    resources = dt.Resources(mem_limit=size_in_bytes(postgres.MEMORY), cpu_limit=int(1e9))
    resources["Limits"]["Pids"] = postgres.PIDS
    volume = postgres.volume_name(settings, slug)
    labels = app_labels(settings, slug, postgres.ROLE)
    return {
        "image": POSTGRES_IMAGE, "name": postgres.container_name(settings, slug),
        "command": ["/bin/sh", "-c", postgres.SERVER_SCRIPT],
        "hostname": postgres.container_name(settings, slug),
        "labels": labels, "container_labels": labels, "user": "postgres",
        "env": [f"PGDATA={postgres.PGDATA}", f"APPFORGE_DB_PASSWORD_FILE={SECRET_FILE}"],
        "secrets": [dt.SecretReference(secret.id, secret.name, filename="db_password",
                                       mode=0o444)],
        "mounts": [dt.Mount(postgres.MOUNT, volume, type="volume", labels=labels),
                   dt.Mount("/tmp", None, type="tmpfs", tmpfs_size=64 * 2**20,
                            tmpfs_mode=0o1777)],
        "read_only": True, "cap_drop": ["ALL"], "init": True, "stop_signal": "SIGINT",
        "stop_grace_period": 20 * SECOND_NS,
        "healthcheck": dt.Healthcheck(test=["CMD", *postgres._READY_CHECK],
                                      interval=10 * SECOND_NS, timeout=3 * SECOND_NS,
                                      retries=3, start_period=30 * SECOND_NS),
        "networks": [network_name(settings, slug)],
        "constraints": [f"node.id=={manager_id}"],  # its volume and its image are there
        "restart_policy": dt.RestartPolicy(condition="any", delay=SECOND_NS),
        "endpoint_spec": dt.EndpointSpec(mode="dnsrr"), "resources": resources,
        "mode": dt.ServiceMode("replicated", replicas=1),
        "log_driver": "json-file", "log_driver_options": log_config(settings)["config"],
    }


def remove_service(client: docker.DockerClient, settings: Settings, slug: str) -> list[str]:
    """The service (its tasks stopped: SIGINT, a clean checkpoint) and its secret."""
    from docker.errors import DockerException

    from appforge.engines.swarm import remove_service
    from appforge.sandbox import postgres

    name = postgres.container_name(settings, slug)
    removed = [f"service {name}"] if remove_service(client, name) else []  # frees the volume
    for secret in client.secrets.list(filters={"name": secret_name(settings, slug)}):
        try:
            secret.remove()
        except DockerException:
            pass
    return removed
