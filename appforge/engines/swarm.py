"""Apps as Docker Swarm services (``APPFORGE_ENGINE=swarm``).

An app is one service, ``<instance>-<slug>``, on its own internal, attachable overlay network;
the version it serves is the service's spec (its image by digest from the cluster's registry,
its limits, its replicas). A redeploy or a rollback is a rolling update in start-first order:
Swarm starts a new task, waits until the image's health check passes (a task is not "running"
before), then stops an old one, one replica at a time; a new version that fails its health check
rolls the service back by itself, and the old version never stopped serving.

The service answers by its name on its network with one DNS record per running task
(``dnsrr``), the same name and port a plain container answers to on the single-engine path, so
the proxy's routes are the same on both engines: the proxy (a container on the manager, joined
to each app's overlay network) dials the name, and a dial that fails is tried on another address.

An app that keeps data (CRUD and custom apps, and landing pages with their sign-ups: SQLite and
uploads on the ``/data`` volume) runs one replica, pinned to the node of its volume: the
manager's at first; ``appforge move`` (``engines/move.py``) copies the data to another node and
pins it there. Galleries keep nothing: ``/data`` is a
tmpfs, and they run any number of replicas on any node.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from appforge.errors import InvalidInput, UnhealthyDeployment
from appforge.sandbox.containers import (
    APP_USER,
    app_labels,
    network_name,
    service_alias,
    volume_name,
)
from appforge.sandbox.engine import LABEL
from appforge.sandbox.hardening import Limits, size_in_bytes

if TYPE_CHECKING:
    import docker
    from docker.models.services import Service

    from appforge.config import Settings

Log = Callable[[str], None]

#: Kinds whose apps keep nothing on /data: they may run several replicas anywhere. (A landing
#: page keeps its sign-ups in SQLite.)
STATELESS_KINDS = ("gallery",)
#: Failed tasks of a new version after which it is given up (Swarm would go on restarting it).
GIVE_UP_FAILURES = 3
#: Seconds a task may wait for a node that can run it before that is reported.
UNPLACED_GRACE = 3.0
#: The service's health check: the image's command, more often than the image's 10 s, since
#: Swarm routes a task and moves a rolling update on only once it passes (about 50 ms of the
#: machine's CPU a check, Docker's exec included, so 2.5 % of a core per replica).
HEALTH_INTERVAL_NS = 2_000_000_000
SECOND_NS = 1_000_000_000
#: The label Swarm gives each task's container: the name of its service.
SERVICE_LABEL = "com.docker.swarm.service.name"
#: Update states that mean the new spec did not stay.
ROLLED_BACK = ("rollback_started", "rollback_paused", "rollback_completed", "paused")


def service_name(settings: Settings, slug: str) -> str:
    return service_alias(settings, slug)


def keeps_files(spec: dict[str, Any]) -> str:
    """What the app keeps in files on ``/data`` (on one node), or '' when nothing: a SQLite
    database, uploaded files, a landing page's sign-ups."""
    from appforge.spec import AppSpec

    kind = spec.get("kind", "custom")
    if kind in STATELESS_KINDS:
        return ""
    if kind == "landing":
        return "its sign-ups in SQLite"
    if spec.get("database") != "postgres":
        return "its records in SQLite" if kind == "crud" else "whatever it writes to /data"
    try:
        uploads = AppSpec.model_validate(spec).takes_uploads
    except ValueError:
        uploads = True
    return "its uploaded files" if uploads else ""


def check_replicas(slug: str, spec: dict[str, Any], replicas: int) -> None:
    """Refuse more than one replica of an app whose data lives on one node's volume."""
    if replicas < 0:
        raise InvalidInput(f"replicas must be 0 or more, not {replicas}")
    kept = keeps_files(spec)
    if replicas > 1 and kept:
        switch = ("build it as a new app with --database postgres (the database of a live "
                  "app is not switched: its records would stay behind)"
                  if "records in SQLite" in kept else
                  "keep it at one replica")
        raise InvalidInput(
            f"{slug} keeps {kept} on one node's volume: {replicas} replicas would each see "
            "their own copy",
            hint=f"{switch}; a CRUD app on Postgres without file fields, and galleries, run "
                 "any number of replicas")


def ensure_network(client: docker.DockerClient, settings: Settings, slug: str) -> str:
    """The app's overlay network: internal (no way out), attachable (the proxy joins it)."""
    from docker.errors import NotFound

    name = network_name(settings, slug)
    try:
        network = client.networks.get(name)
    except NotFound:
        client.networks.create(name, driver="overlay", internal=True, attachable=True,
                               labels=app_labels(settings, slug, "app"))
        return name
    if network.attrs.get("Driver") != "overlay":
        raise InvalidInput(f"{name} is a {network.attrs.get('Driver')} network, made when "
                           "this installation ran apps as plain containers",
                           hint="`appforge down` with APPFORGE_ENGINE=docker first, then "
                                "`appforge up` with APPFORGE_ENGINE=swarm")
    return name


def _healthcheck(client: docker.DockerClient, image: str) -> dict[str, Any] | None:
    test = (client.images.get(image).attrs["Config"].get("Healthcheck") or {}).get("Test")
    if not test:
        return None
    return {"Test": test, "Interval": HEALTH_INTERVAL_NS, "Timeout": 3 * SECOND_NS,
            "Retries": 3, "StartPeriod": 30 * SECOND_NS}


def service_spec(client: docker.DockerClient, settings: Settings, slug: str, version: int,
                 image: str, ref: str, app: dict[str, Any], limits: Limits, replicas: int,
                 node_id: str, environment: dict[str, str]) -> dict[str, Any]:
    """The keyword arguments of ``services.create`` / ``Service.update`` for a version; an
    app that keeps files runs only on ``node_id``, where its volume is."""
    import docker.types as dt

    labels = {**app_labels(settings, slug, "app"), f"{LABEL}.version": str(version)}
    task_labels = {**labels, LABEL: "task"}
    mounts = [dt.Mount("/tmp", None, type="tmpfs", tmpfs_size=64 * 2**20, tmpfs_mode=0o1777)]
    constraints = []
    if keeps_files(app):
        mounts.append(dt.Mount("/data", volume_name(settings, slug), type="volume",
                               labels=app_labels(settings, slug, "data")))
        constraints.append(f"node.id=={node_id}")  # where its volume is
    else:
        mounts.append(dt.Mount("/data", None, type="tmpfs", tmpfs_size=64 * 2**20,
                               tmpfs_mode=0o1777))
    resources = dt.Resources(cpu_limit=int(limits.cpus * 1e9),
                             mem_limit=size_in_bytes(limits.memory))
    resources["Limits"]["Pids"] = limits.pids  # API 1.41; docker-py has no argument for it
    update = dt.UpdateConfig(parallelism=1, order="start-first", failure_action="rollback",
                             monitor=2 * SECOND_NS, max_failure_ratio=0)
    rollback = dt.RollbackConfig(parallelism=1, order="start-first", failure_action="pause",
                                 monitor=2 * SECOND_NS)
    health = _healthcheck(client, image)
    return {
        "image": ref, "name": service_name(settings, slug), "labels": labels,
        "container_labels": task_labels, "hostname": slug, "user": APP_USER,
        "env": [f"{k}={v}" for k, v in environment.items()],
        "mounts": mounts, "read_only": True, "cap_drop": ["ALL"], "init": True,
        "healthcheck": dt.Healthcheck(**{k.lower(): v for k, v in health.items()} | {
            "start_period": health["StartPeriod"]}) if health else None,
        "stop_grace_period": 10 * SECOND_NS,
        "networks": [network_name(settings, slug)],
        "resources": resources,
        "restart_policy": dt.RestartPolicy(condition="any", delay=SECOND_NS),
        "constraints": constraints,
        "endpoint_spec": dt.EndpointSpec(mode="dnsrr"),
        "mode": dt.ServiceMode("replicated", replicas=replicas),
        "update_config": update, "rollback_config": rollback,
        "log_driver": "json-file",
        "log_driver_options": {"max-size": settings.log_max_size,
                               "max-file": str(settings.log_max_files)},
    }


def get_service(client: docker.DockerClient, settings: Settings, slug: str) -> Service | None:
    from docker.errors import NotFound

    try:
        return client.services.get(service_name(settings, slug))
    except NotFound:
        return None


def deploy(client: docker.DockerClient, settings: Settings, slug: str, version: int,
           image: str, app: dict[str, Any], limits: Limits, replicas: int,
           environment: dict[str, str], node_id: str, log: Log) -> float:
    """Make ``slug`` serve ``version`` (create its service, or roll it to the new spec) and wait
    until every replica runs it and passes its health check; return the seconds it took.

    Raises :class:`UnhealthyDeployment` when the new version does not turn healthy: Swarm rolled
    the service back (or appforge did, after ``health_timeout``) and the old version serves.
    The caller checked the replicas and that ``client`` is the manager; ``node_id`` holds the
    app's volume."""
    from appforge.engines import registry

    ref = registry.push(client, settings, image, slug, version, log)
    ensure_network(client, settings, slug)
    spec = service_spec(client, settings, slug, version, image, ref, app, limits, replicas,
                        node_id, environment)
    start = time.monotonic()
    service = get_service(client, settings, slug)
    created = service is None
    if service is None:
        log(f"creating service {spec['name']} ({replicas} replica{'s' * (replicas != 1)})")
        service = client.services.create(**spec)
    else:
        log(f"rolling {spec['name']} to v{version}, start-first, one replica at a time")
        service.update(**spec)
    try:
        _wait_converged(client, settings, slug, version, ref, replicas, log)
    except UnhealthyDeployment:
        if created:  # nothing served before: nothing is left running either
            service.remove()
        raise
    return time.monotonic() - start


def _tasks(service: Service) -> list[dict[str, Any]]:
    return service.tasks(filters={"desired-state": "running"})


def _task_image(task: dict[str, Any]) -> str:
    return task.get("Spec", {}).get("ContainerSpec", {}).get("Image", "")


def _wait_converged(client: docker.DockerClient, settings: Settings, slug: str, version: int,
                    ref: str, replicas: int, log: Log) -> None:
    from docker.errors import APIError

    deadline = time.monotonic() + settings.health_timeout
    service = get_service(client, settings, slug)
    assert service is not None
    failures: list[str] = []
    unplaced, unplaced_since = "", 0.0
    while time.monotonic() < deadline:
        service.reload()
        update = (service.attrs.get("UpdateStatus") or {})
        if update.get("State") in ROLLED_BACK:
            raise _unhealthy(client, service, version,
                             f"Swarm rolled the update back: {update.get('Message', '')}")
        tasks = _tasks(service)
        mine = [t for t in tasks if _task_image(t) == ref]
        running = [t for t in mine if t["Status"]["State"] == "running"]
        failures = [t["Status"].get("Err", "") for t in service.tasks(
            filters={"desired-state": "shutdown"}) if _task_image(t) == ref and
            t["Status"]["State"] in ("failed", "rejected")]
        if len(running) == replicas and len(tasks) == replicas and \
                update.get("State") in (None, "completed"):
            return
        if replicas == 0 and not tasks:
            return
        if len(failures) >= GIVE_UP_FAILURES:
            break
        # A task no node can take stays pending for ever: say so once it has waited a moment.
        waiting = [t["Status"].get("Err", "") for t in mine if t["Status"]["State"] == "pending"
                   and "no suitable node" in t["Status"].get("Err", "")]
        if not waiting:
            unplaced_since = 0.0
        elif not unplaced_since:
            unplaced_since = time.monotonic()
        elif time.monotonic() - unplaced_since > UNPLACED_GRACE:
            unplaced = waiting[0]
            break
        time.sleep(0.2)
    # Never healthy: put the previous spec back ourselves (Swarm would keep retrying).
    service.reload()
    state = (service.attrs.get("UpdateStatus") or {}).get("State")
    if service.attrs.get("PreviousSpec") and state not in ROLLED_BACK:
        log(f"v{version} did not turn healthy; rolling back to the previous spec")
        try:
            rollback(client, service)
        except APIError as exc:  # Swarm began its own rollback meanwhile
            log(f"(the rollback was under way: {exc.explanation or exc})")
    if unplaced:
        raise UnhealthyDeployment(
            f"no node can run {service.name} v{version}: {unplaced}",
            hint="`appforge cluster nodes` shows them: activate a drained node, add one "
                 "(`appforge cluster join-command`), or ask for less (--memory, --cpus); the "
                 "previous spec is back")
    why = f"{len(failures)} of its tasks failed, the last: {failures[-1]}" if failures else \
        f"it did not pass its health check within {settings.health_timeout:.0f} s"
    if any(word in why for word in ("No such image", "pull", "manifest", "registry")):
        raise UnhealthyDeployment(f"{service.name} v{version} could not start: {why}",
                                  detail=_last_logs(service),
                                  hint="a node could not pull the image from the cluster's "
                                       "registry: `appforge cluster join-command` says what a "
                                       "node needs to reach it")
    raise _unhealthy(client, service, version, why)


def rollback(client: docker.DockerClient, service: Service) -> None:
    """``docker service rollback``: the service's previous spec, rolled out like an update."""
    service.reload()
    url = client.api._url("/services/{0}/update", service.id)
    client.api._raise_for_status(client.api._post_json(
        url, data=service.attrs["Spec"],
        params={"version": service.version, "rollback": "previous"}))


def _unhealthy(client: docker.DockerClient, service: Service, version: int,
               why: str) -> UnhealthyDeployment:
    return UnhealthyDeployment(f"{service.name} v{version} never turned healthy: {why}",
                               detail=_last_logs(service))


def _last_logs(service: Service, lines: int = 30) -> str:
    from docker.errors import DockerException

    try:
        return b"".join(service.logs(stdout=True, stderr=True, tail=lines)).decode(
            errors="replace")
    except DockerException as exc:
        return f"(no logs: {exc})"


def scale(client: docker.DockerClient, settings: Settings, slug: str, replicas: int,
          log: Log) -> float:
    """Run ``replicas`` tasks of the app's current spec (0: stopped); wait until they run."""
    service = get_service(client, settings, slug)
    if service is None:
        raise InvalidInput(f"{slug} has no service to scale", hint=f"`appforge start {slug}`")
    start = time.monotonic()
    ref = service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    version = int(service.attrs["Spec"]["Labels"].get(f"{LABEL}.version", 0))
    log(f"scaling {service.name} to {replicas}")
    service.scale(replicas)
    _wait_converged(client, settings, slug, version, ref, replicas, log)
    return time.monotonic() - start


def restart(client: docker.DockerClient, settings: Settings, slug: str, log: Log) -> bool:
    """Replace every task of the app with a new one of the same spec (a rolling restart,
    start-first: it serves throughout); False when it has no service or runs none."""
    service = get_service(client, settings, slug)
    if service is None:
        return False
    spec = service.attrs["Spec"]
    wanted = wanted_replicas(service)
    if not wanted:
        return False
    log(f"restarting the {wanted} replica(s) of {service.name}, one at a time")
    service.update(force_update=True)
    version = int(spec.get("Labels", {}).get(f"{LABEL}.version", 0) or 0)
    _wait_converged(client, settings, slug, version, spec["TaskTemplate"]["ContainerSpec"]
                    ["Image"], wanted, log)
    return True


def remove(client: docker.DockerClient, settings: Settings, slug: str, log: Log) -> list[str]:
    """Remove the app's service and wait until its tasks are gone (the volume is the caller's)."""
    name = service_name(settings, slug)
    if not remove_service(client, name):
        return []
    log(f"removed service {name}")
    return [f"service {name}"]


def remove_service(client: docker.DockerClient, name: str) -> bool:
    """Remove the service called ``name`` (if there is one: False when not) and wait, at most
    30 s, until its tasks' containers on this engine are gone: they stop gracefully, and a
    network or volume they hold is free only then."""
    from docker.errors import NotFound

    try:
        client.services.get(name).remove()
        found = True
    except NotFound:
        found = False
    for _ in range(300):
        if not client.api.containers(all=True, filters={"label": f"{SERVICE_LABEL}={name}"}):
            break
        time.sleep(0.1)
    return found


def wanted_replicas(service: Service) -> int:
    """How many tasks the service's spec asks for (0: stopped)."""
    return int(service.attrs["Spec"].get("Mode", {}).get("Replicated", {}).get("Replicas") or 0)


def replicas_of(client: docker.DockerClient, settings: Settings, slug: str
                ) -> list[dict[str, Any]]:
    """Where each task of the app runs: node, state, version, error."""
    service = get_service(client, settings, slug)
    return [] if service is None else placed(client, _tasks(service))


def placed(client: docker.DockerClient, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``tasks`` (meant to run) as rows: the node each is on, state, version, error."""
    names = {n.id: (n.attrs.get("Description") or {}).get("Hostname", n.id[:12])
             for n in client.nodes.list()}
    found = []
    for task in tasks:
        labels = task.get("Spec", {}).get("ContainerSpec", {}).get("Labels") or {}
        status = task.get("Status") or {}
        found.append({"node": names.get(task.get("NodeID", ""), task.get("NodeID", "")),
                      "state": status.get("State", ""), "error": status.get("Err", ""),
                      "version": int(labels.get(f"{LABEL}.version", 0) or 0),
                      "slot": task.get("Slot")})
    return sorted(found, key=lambda r: (r["slot"] or 0))
