"""The Postgres server of an app planned with ``--database postgres``: one per app, on its network.

A CRUD app keeps its records in SQLite on its data volume unless its plan says ``postgres``
(``AppSpec.database``); then every version and replica of it shares one Postgres server, which
this module runs and hands to the app as ``DATABASE_URL``:

- The image is Debian's ``postgresql-15`` bootstrapped like the other base images
  (``base_images.ensure_postgres_image``), nothing pulled from a registry.
- The container ``<instance>-<slug>-postgres`` sits on the app's own internal network only (no
  published port, no egress; the app reaches it by that name), with the app's labels and role
  ``postgres``, and its data in the named volume ``<instance>-postgres-<slug>``, which outlives
  every container, like the app's data volume.
- Hardened as the app is, as far as Postgres allows: it runs as Debian's ``postgres`` user (not
  root) and needs no capability at all (every one is dropped): the volume is mounted on
  ``/var/lib/postgresql``, which the image has owned by ``postgres``, so Docker gives the new
  volume that owner and nothing ever chowns. Read-only root filesystem (the socket and temporary
  files go to a tmpfs /tmp), no-new-privileges, memory and process limits, bounded logs.
- The first start runs ``initdb`` into the volume and makes a role and a database named ``app``
  (not a superuser) with a generated password, kept 0600 under ``$APPFORGE_HOME/postgres/``.
  Only ``app`` may log in over the network (SCRAM-SHA-256); the superuser ``postgres`` only over
  the socket inside the container (peer), which is how backups run ``pg_dump``.
- It stops with SIGINT (Postgres' fast shutdown): SIGTERM would wait for the app's pooled
  connections to close, and Docker would kill it after the timeout.
- On a swarm (``APPFORGE_ENGINE=swarm``) the same server runs as a Swarm service of the same
  name (``engines/postgres_service.py``), its password a Swarm secret.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from appforge.errors import AppforgeError, UnhealthyDeployment
from appforge.sandbox.containers import app_labels, ensure_app_network, network_name
from appforge.sandbox.hardening import Limits, hardened_run_kwargs

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

    from appforge.config import Settings

Log = Callable[[str], None]

ROLE = "postgres"
PORT = 5432
#: The role and the database the app uses (one server per app, so one name does for all).
DB_NAME = DB_USER = "app"
#: Where the volume is mounted (owned by ``postgres`` in the image) and the cluster in it.
MOUNT = "/var/lib/postgresql"
PGDATA = f"{MOUNT}/data"
#: The socket, in the tmpfs: the root filesystem is read-only.
SOCKET_DIR = "/tmp"
BIN = "/usr/lib/postgresql/15/bin"
#: Enough for a small app's records; shared_buffers is set to fit inside it.
MEMORY = "256m"
PIDS = 128
READY_TIMEOUT_S = 90.0
#: Whether the server accepts connections (its healthcheck, and what a deploy waits for).
_READY_CHECK = (f"{BIN}/pg_isready", "-q", "-h", SOCKET_DIR, "-d", DB_NAME, "-U", "postgres")

#: The container's command. The password arrives in the environment, is written to a file in
#: the tmpfs for initdb, and removed; the app's role gets it in single-user mode, before the
#: server listens. ``exec`` makes postgres the process the init forwards signals to.
SERVER_SCRIPT = f"""set -eu
if [ -n "${{APPFORGE_DB_PASSWORD_FILE:-}}" ]; then
  APPFORGE_DB_PASSWORD=$(cat "$APPFORGE_DB_PASSWORD_FILE")
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  umask 077
  {BIN}/initdb -D "$PGDATA" -U postgres -E UTF8 --no-locale --auth-local=peer \\
    --auth-host=scram-sha-256 --no-instructions >/dev/null
  printf "CREATE ROLE {DB_USER} LOGIN PASSWORD '%s';\\nCREATE DATABASE {DB_NAME} OWNER {DB_USER};\\n" \\
    "$APPFORGE_DB_PASSWORD" | {BIN}/postgres --single -D "$PGDATA" postgres >/dev/null
  echo "host {DB_NAME} {DB_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "appforge: made the cluster in $PGDATA"
fi
unset APPFORGE_DB_PASSWORD
exec {BIN}/postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories={SOCKET_DIR} \\
  -c shared_buffers=32MB -c max_connections=60 -c logging_collector=off
"""


def container_name(settings: Settings, slug: str) -> str:
    return f"{settings.instance}-{slug}-postgres"


def volume_name(settings: Settings, slug: str) -> str:
    return f"{settings.instance}-postgres-{slug}"


def password_path(settings: Settings, slug: str) -> Path:
    return settings.home / "postgres" / f"{slug}.password"


def uses_postgres(settings: Settings, slug: str) -> bool:
    """Whether the app's plan keeps its records in Postgres. Every version of an app keeps them
    in the same database (a rebuild that would switch is refused), so its newest version says."""
    from appforge.store import Store

    if not settings.db_path.exists():
        return False
    versions = Store(settings.db_path).list_versions(slug)
    newest = max(versions, key=lambda v: v.version, default=None)
    return newest is not None and newest.spec.get("database") == "postgres"


def database_env(client: docker.DockerClient, settings: Settings, slug: str,
                 log: Log | None = None) -> dict[str, str]:
    """``{"DATABASE_URL": ...}`` for an app that uses Postgres, once its server accepts
    connections (started, or made, first); ``{}`` for an app that keeps SQLite."""
    if not uses_postgres(settings, slug):
        return {}
    password = ensure_server(client, settings, slug, log or (lambda _m: None))
    host = container_name(settings, slug)
    return {"DATABASE_URL": f"postgresql://{DB_USER}:{password}@{host}:{PORT}/{DB_NAME}"}


def ensure_server(client: docker.DockerClient, settings: Settings, slug: str, log: Log) -> str:
    """Start the app's server (making its image, volume and container when missing), wait
    until it accepts connections; return the app role's password."""
    from docker.errors import NotFound

    from appforge.sandbox.base_images import ensure_postgres_image

    password, fresh = _password(settings, slug)
    if settings.engine == "swarm":  # a service on the app's overlay network
        from appforge.engines import postgres_service, swarm

        swarm.ensure_network(client, settings, slug)
        ensure_postgres_image(client, settings, log)
        container = postgres_service.ensure_service(client, settings, slug, password, log)
    else:
        ensure_app_network(client, settings, slug)
        try:
            container = client.containers.get(container_name(settings, slug))
        except NotFound:
            ensure_postgres_image(client, settings, log)
            container = _run(client, settings, slug, password)
            log(f"started {container.name}")
        if container.status != "running":
            container.start()
    wait_ready(container)
    if fresh and not _new_cluster(container):
        # The password file was lost but the data was not: the file is the truth from now on.
        psql(container, f"ALTER ROLE {DB_USER} PASSWORD '{password}'")
    return password


def _password(settings: Settings, slug: str) -> tuple[str, bool]:
    """The app role's password, made and kept 0600 on first use; and whether it is new."""
    path = password_path(settings, slug)
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    password = secrets.token_hex(24)  # URL- and SQL-safe as it is
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    return password, True


def _run(client: docker.DockerClient, settings: Settings, slug: str,
         password: str) -> Container:
    from docker.errors import NotFound

    from appforge.sandbox.base_images import POSTGRES_IMAGE

    volume = volume_name(settings, slug)
    try:
        client.volumes.get(volume)
    except NotFound:
        client.volumes.create(volume, labels=app_labels(settings, slug, ROLE))
    hardened = hardened_run_kwargs(settings, Limits.resolve(settings, memory=MEMORY, pids=PIDS))
    return client.containers.run(
        POSTGRES_IMAGE, ["/bin/sh", "-c", SERVER_SCRIPT], detach=True,
        name=container_name(settings, slug), hostname=container_name(settings, slug),
        labels=app_labels(settings, slug, ROLE), network=network_name(settings, slug),
        environment={"PGDATA": PGDATA, "APPFORGE_DB_PASSWORD": password},
        volumes={volume: {"bind": MOUNT, "mode": "rw"}},
        restart_policy={"Name": "unless-stopped"}, stop_signal="SIGINT",
        healthcheck={"test": ["CMD", *_READY_CHECK], "interval": 10 * 10**9,
                     "timeout": 3 * 10**9, "retries": 3, "start_period": 30 * 10**9},
        **{**hardened, "user": "postgres"},
    )


def wait_ready(container: Container, timeout: float = READY_TIMEOUT_S) -> None:
    """Wait until the server accepts connections (the first start runs initdb: seconds)."""
    from docker.errors import APIError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        if container.status in ("exited", "dead"):
            break
        try:
            ready = container.exec_run(list(_READY_CHECK), user="postgres")
        except APIError:  # restarting between the reload and the exec
            ready = None
        if ready is not None and ready.exit_code == 0:
            return
        time.sleep(0.2)
    from appforge.sandbox.containers import last_log_lines

    raise UnhealthyDeployment(
        f"the Postgres server {container.name} does not accept connections "
        f"({container.status} after {timeout:.0f} s)", detail=last_log_lines(container),
        hint="`docker logs " + container.name + "` says why; the data volume is kept")


def _new_cluster(container: Container) -> bool:
    return b"appforge: made the cluster" in container.logs(tail=50)


def psql(container: Container, sql: str) -> str:
    """Run ``sql`` in the app's database as the superuser (over the socket); return its output."""
    result = container.exec_run(
        [f"{BIN}/psql", "-h", SOCKET_DIR, "-U", "postgres", "-d", DB_NAME, "-X", "-A", "-t",
         "-v", "ON_ERROR_STOP=1", "-c", sql], user="postgres")
    text = result.output.decode(errors="replace")
    if result.exit_code != 0:
        raise AppforgeError(f"psql in {container.name} failed: {text.strip()[-500:]}")
    return text


def server(client: docker.DockerClient, settings: Settings, slug: str) -> Container | None:
    """The app's Postgres container (on a swarm: its service's task), if it has one."""
    from docker.errors import NotFound

    if settings.engine == "swarm":
        from appforge.engines.postgres_service import task_container

        return task_container(client, container_name(settings, slug))
    try:
        return client.containers.get(container_name(settings, slug))
    except NotFound:
        return None


def has_data(client: docker.DockerClient, settings: Settings, slug: str) -> bool:
    """Whether the app has a Postgres volume (its records, whatever state the server is in)."""
    from docker.errors import NotFound

    try:
        client.volumes.get(volume_name(settings, slug))
    except NotFound:
        return False
    return True


def remove_server(client: docker.DockerClient, settings: Settings, slug: str,
                  keep_data: bool = False) -> list[str]:
    """Remove the app's Postgres container and, unless ``keep_data``, its volume and password
    (a destroy; ``down`` keeps them, and the next deploy starts the server again)."""
    from docker.errors import NotFound

    removed = []
    container = server(client, settings, slug)
    if settings.engine == "swarm":
        from appforge.engines.postgres_service import remove_service

        removed += remove_service(client, settings, slug)
    elif container is not None:
        if container.status == "running":
            container.stop(timeout=20)  # SIGINT: fast shutdown, a clean checkpoint
        container.remove(force=True)
        removed.append(f"container {container.name}")
    if keep_data:
        return removed
    try:
        client.volumes.get(volume_name(settings, slug)).remove(force=True)
        removed.append(f"volume {volume_name(settings, slug)}")
    except NotFound:
        pass
    password_path(settings, slug).unlink(missing_ok=True)
    return removed
