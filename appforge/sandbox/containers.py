"""Running an app version as a hardened container on its own internal network.

Each app gets a Docker network with no egress (``internal``) that only the proxy joins, and a named
volume for ``/data`` that outlives every container of the app. A version's container is named
``appforge-<slug>-v<version>`` so the proxy can dial it by name; the run of its tests before
deploy is ``appforge-<slug>-v<version>-test``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from appforge.errors import UnhealthyDeployment
from appforge.sandbox.engine import LABEL
from appforge.sandbox.hardening import (
    APP_USER,
    Limits,
    hardened_run_kwargs,
    size_in_bytes,
)

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

    from appforge.config import Settings

APP_PORT = 8000
APP_USER_ID = APP_USER.split(":")[0]


def network_name(settings: Settings, slug: str) -> str:
    return f"{settings.instance}-app-{slug}"


def volume_name(settings: Settings, slug: str) -> str:
    return f"{settings.instance}-data-{slug}"


def container_name(settings: Settings, slug: str, version: int) -> str:
    return f"{settings.instance}-{slug}-v{version}"


def name_of_test_run(settings: Settings, slug: str, version: int) -> str:
    return f"{container_name(settings, slug, version)}-test"


def service_alias(settings: Settings, slug: str) -> str:
    """The name every serving version of an app answers to on its network."""
    return f"{settings.instance}-{slug}"


def upstream(settings: Settings, slug: str) -> str:
    """The address the proxy dials for an app, whatever version serves it.

    A version joins this alias only once it is healthy; while an old and a new version overlap
    both answer, and when the old one stops listening the proxy's dialer moves on to the other
    address. So a redeploy changes no proxy configuration and drops no connection.
    """
    return f"{service_alias(settings, slug)}:{APP_PORT}"


def promote(client: docker.DockerClient, settings: Settings, slug: str,
            container: Container) -> None:
    """Put a healthy version behind the app's alias (reconnecting it with the alias)."""
    network = client.networks.get(network_name(settings, slug))
    network.disconnect(container)
    network.connect(container, aliases=[service_alias(settings, slug)])


def app_labels(settings: Settings, slug: str, role: str) -> dict[str, str]:
    return {LABEL: role, f"{LABEL}.instance": settings.instance, f"{LABEL}.app": slug}


def labels_of_test_run(settings: Settings, slug: str, version: int) -> dict[str, str]:
    """The labels of a version's test run (``io.appforge.role=test`` as well, as it always had)."""
    return {**app_labels(settings, slug, "test"), f"{LABEL}.version": str(version),
            f"{LABEL}.role": "test"}


def app_filter(settings: Settings, slug: str) -> dict[str, list[str]]:
    """Docker list filter matching everything of one app of this installation."""
    return {"label": [f"{LABEL}.instance={settings.instance}", f"{LABEL}.app={slug}"]}


def ensure_app_network(client: docker.DockerClient, settings: Settings, slug: str) -> None:
    from docker.errors import NotFound

    name = network_name(settings, slug)
    try:
        client.networks.get(name)
    except NotFound:
        # internal: no route out. inhibit_ipv4: the host takes no address on this bridge, so
        # the app cannot reach services listening on the host either (internal alone lets a
        # container connect to the host through the bridge's gateway address).
        client.networks.create(name, driver="bridge", internal=True,
                               options={"com.docker.network.bridge.inhibit_ipv4": "true"},
                               labels=app_labels(settings, slug, "app"))


def start_version(client: docker.DockerClient, settings: Settings, slug: str, version: int,
                  image: str, limits: Limits | None = None) -> Container:
    """Start a version's container (replacing a stale one of the same name)."""
    from docker.errors import NotFound

    from appforge.sandbox import postgres

    ensure_app_network(client, settings, slug)
    name = container_name(settings, slug, version)
    try:
        client.containers.get(name).remove(force=True)
    except NotFound:
        pass
    labels = {**app_labels(settings, slug, "app"), f"{LABEL}.version": str(version)}
    volume = volume_name(settings, slug)
    try:
        client.volumes.get(volume)
    except NotFound:
        client.volumes.create(volume, labels=app_labels(settings, slug, "data"))
    limits = limits or Limits.resolve(settings)
    return client.containers.run(
        image, detach=True, name=name, hostname=slug, labels=labels,
        network=network_name(settings, slug),
        # The app answers 413 above this itself too (the proxy does first): in its Dockerfile's
        # blueprint, _shared/app/web.py. Apps that take uploads keep them all within the quota
        # (crud/app/uploads.py).
        environment={"APP_MAX_BODY_BYTES": str(limits.body_bytes),
                     "APP_UPLOAD_QUOTA_BYTES": str(size_in_bytes(settings.upload_quota)),
                     **postgres.database_env(client, settings, slug)},  # {} for SQLite
        volumes={volume: {"bind": "/data", "mode": "rw"}},
        # No retry cap: the engine restarts a crashed or out-of-memory app with its own backoff
        # (100 ms doubling to 1 min, reset once it ran 10 s), also while appforge is not running
        # and after the engine restarts; `appforge stop` (docker stop) keeps it stopped. A crash
        # loop is reported by sandbox/live_state.py, not hidden by giving up (on-failure:3 left
        # an app answering 502 until someone ran `appforge up`).
        restart_policy={"Name": "unless-stopped"},
        **hardened_run_kwargs(settings, limits),
    )


def wait_healthy(container: Container, timeout: float) -> float:
    """Wait until the container passes its image's healthcheck; return the seconds it took.

    Docker runs the healthcheck every few seconds; to route a new version as soon as it is ready
    we also run the same check ourselves, inside the container, a few times a second. (The host
    has no address on an app's network, so it cannot simply fetch ``/healthz``.)
    """
    from docker.errors import APIError

    start = time.monotonic()
    deadline = start + timeout
    check = _health_command(container)
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs["State"]
        health = (state.get("Health") or {}).get("Status")
        if health == "healthy":
            return time.monotonic() - start
        if state.get("Status") in ("exited", "dead") or state.get("Restarting") \
                or health == "unhealthy":
            break
        if check and state.get("Status") == "running":
            try:
                if container.exec_run(check, user=APP_USER_ID).exit_code == 0:
                    return time.monotonic() - start
            except APIError:  # it stopped between the reload and the exec
                pass
        # Each check is a Docker exec, about 50 ms of the machine's CPU: five a second, not ten
        # (an app's server takes a second or more to start, often on a busy machine).
        time.sleep(0.2)
    container.reload()
    state = container.attrs["State"]
    if state.get("OOMKilled"):
        raise out_of_memory(container)
    why = (f"it exited with code {state.get('ExitCode')}" if state.get("Status") != "running"
           else f"it did not pass its healthcheck within {timeout:.0f} s")
    raise UnhealthyDeployment(
        f"{container.name} never turned healthy: {why}",
        detail=last_log_lines(container),
    )


def out_of_memory(container: Container) -> UnhealthyDeployment:
    """The error for a version the kernel killed for memory: its limit, how far it got, its last
    log lines, and what to try."""
    limit = container.attrs["HostConfig"].get("Memory") or 0
    slug = container.labels.get(f"{LABEL}.app", "SLUG")
    mib = max(1, limit // 2**20)
    suggestion = f"{max(64, 2 ** (mib * 2 - 1).bit_length())}m"
    return UnhealthyDeployment(
        f"{container.name} ran out of memory: the kernel killed it when it reached its "
        f"{mib} MiB limit, before it turned healthy",
        detail=last_log_lines(container),
        hint=f"give it more memory: `appforge build --app {slug} --memory {suggestion}` (the "
             "last working version keeps serving meanwhile)")


def _health_command(container: Container) -> list[str] | None:
    """The image's HEALTHCHECK as an exec command (``CMD`` form or ``CMD-SHELL``)."""
    test = (container.attrs["Config"].get("Healthcheck") or {}).get("Test") or []
    if test[:1] == ["CMD"]:
        return test[1:]
    if test[:1] == ["CMD-SHELL"]:
        return ["/bin/sh", "-c", test[1]]
    return None


def last_log_lines(container: Container, lines: int = 30) -> str:
    from docker.errors import DockerException

    try:
        return container.logs(tail=lines).decode(errors="replace")
    except DockerException as exc:
        return f"(no logs: {exc})"


def stray_containers(client: docker.DockerClient, settings: Settings, slug: str,
                     current: int | None) -> list[tuple[Container, str]]:
    """An app's containers that nothing routes to or waits for, once no process holds its lock,
    each with what it is.

    Those are the versions other than ``current`` (started by a deploy that was killed before it
    switched the route), test runs (their build is gone) and screenshots (the caller leaves
    those whose process still runs: ``tools.apps.reconcile_app``).
    """
    stray = []
    for c in client.containers.list(all=True, filters=app_filter(settings, slug),
                                    ignore_removed=True):
        role, version = c.labels.get(LABEL), c.labels.get(f"{LABEL}.version")
        if role == "test":
            stray.append((c, f"the tests of v{version}, whose build is gone"))
        elif role == "app" and version != str(current):
            stray.append((c, f"v{version}, never routed"))
        elif role == "screenshot":  # the caller keeps those whose process still runs
            stray.append((c, f"a screenshot of v{version} whose process is gone"))
    return stray


def remove_app(client: docker.DockerClient, settings: Settings, slug: str,
               keep_data: bool = False, keep_images: bool = False,
               graceful: bool = False) -> list[str]:
    """Remove every container, the network and (unless kept) the data volume and images of an
    app. ``graceful``: a running container is stopped first (it finishes its requests)."""
    from docker.errors import NotFound

    from appforge.sandbox import postgres

    removed = []
    for c in client.containers.list(all=True, filters=app_filter(settings, slug),
                                    ignore_removed=True):
        if c.labels.get(LABEL) == postgres.ROLE:
            continue  # after the app has finished its requests
        if graceful and c.status == "running":
            c.stop(timeout=10)
        c.remove(force=True)
        removed.append(f"container {c.name}")
    removed += postgres.remove_server(client, settings, slug, keep_data=keep_data)
    try:
        net = client.networks.get(network_name(settings, slug))
        net.reload()
        for c in net.containers:  # the proxy
            net.disconnect(c, force=True)
        net.remove()
        removed.append(f"network {net.name}")
    except NotFound:
        pass
    if not keep_data:
        try:
            client.volumes.get(volume_name(settings, slug)).remove(force=True)
            removed.append(f"volume {volume_name(settings, slug)}")
        except NotFound:
            pass
    for image in [] if keep_images else client.images.list(filters=app_filter(settings, slug)):
        for tag in image.tags:
            client.images.remove(tag, force=True)
        removed.append(f"image {image.short_id}")
    return removed


def purge_instance(client: docker.DockerClient, instance: str) -> None:
    """Remove every container, network, volume and image of one installation (tests, benches)."""
    from docker.errors import APIError, DockerException, NotFound

    label = f"{LABEL}.instance={instance}"
    for c in client.containers.list(all=True, filters={"label": label}, ignore_removed=True):
        try:
            c.remove(force=True)
        except NotFound:
            pass  # gone since the listing
        except APIError as exc:
            # A removed Swarm service's task containers are removed by the engine meanwhile.
            if exc.status_code != 409 or "already in progress" not in str(exc):
                raise
    for n in client.networks.list(filters={"label": label}):
        try:
            n.remove()
        except DockerException:
            pass
    for v in client.volumes.list(filters={"label": label}):
        try:
            v.remove(force=True)
        except DockerException:
            pass
    for image in client.images.list(filters={"label": label}):
        for tag in image.tags:
            try:
                client.images.remove(tag, force=True)
            except DockerException:
                pass
