"""Snapshots and restores of an app whose data volume is on another node of the swarm.

``appforge move`` puts an app's volume on another node; the manager's engine cannot mount it
there. :func:`run` then does what ``snapshot.run_helper`` does locally, in two halves
(``relay.py``): a one-shot service pinned to the app's node, from the app's own image, with the
volume at ``/data``; and a helper container on the manager with the snapshot folder at
``/backup``. They meet on the app's internal overlay network, nowhere else: the service
publishes nothing, and the network has no way out. Both are hardened as the local helper is.
The report is the local helper's (``ok``, ``files``, ``size``, ``removed``, ``error``), so
callers cannot tell the two apart.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appforge.config import Settings
from appforge.errors import BackupFailed
from appforge.sandbox.containers import APP_USER, app_labels, volume_name
from appforge.sandbox.engine import LABEL
from appforge.sandbox.hardening import hardened_run_kwargs, log_config

if TYPE_CHECKING:
    import docker

HELPER = Path(__file__).with_name("helper.py")
RELAY = Path(__file__).with_name("relay.py")
#: The role label of the relay's service and container (``repair`` removes leftovers).
ROLE = "backup"
#: The service's tmpfs, where a snapshot waits to be sent or a restore is checked first: a
#: remote snapshot or restore of data larger than this fails, with nothing changed.
STAGE_BYTES = 1 << 30
SECOND_NS = 1_000_000_000


def script() -> str:
    """``helper.py`` and ``relay.py`` as one program for ``python3 -c``."""
    helper = HELPER.read_text().split('\nif __name__ == "__main__":')[0]
    relay = RELAY.read_text().replace("from __future__ import annotations\n", "")
    return helper + "\n" + relay


def node_of(settings: Settings, slug: str) -> str | None:
    """The node holding ``slug``'s data when it is not the manager's (Swarm only), else None."""
    if settings.engine != "swarm":
        return None
    from appforge.store import Store

    app = Store(settings.db_path).find_app(slug)
    return app.node if app is not None else None


def is_remote(client: docker.DockerClient, node: str | None) -> bool:
    return bool(node) and node != (client.info().get("Swarm") or {}).get("NodeID")


def app_image(client: docker.DockerClient, settings: Settings, slug: str) -> str:
    """The app's image as every node pulls it (its service's, or its live version's, pushed)."""
    from appforge.engines import registry, swarm
    from appforge.store import Store

    service = swarm.get_service(client, settings, slug)
    if service is not None:
        return str(service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])
    store = Store(settings.db_path)
    app = store.get_app(slug)
    if app.current_version is None:
        raise BackupFailed(f"{slug} was never deployed: no image to reach its node's data with")
    version = store.get_version(slug, app.current_version)
    return registry.push(client, settings, version.image, slug, version.version,
                         lambda _line: None)


def run(client: docker.DockerClient, settings: Settings, slug: str, node: str, mode: str,
        name: str, folder: Path | None, options: dict[str, Any]) -> dict[str, Any]:
    """Run ``mode`` (snapshot, restore, wipe) on ``slug``'s volume on ``node`` with ``folder``
    on the manager; return the report (``ok`` false and ``error`` set when it failed)."""
    from docker.errors import DockerException

    from appforge.backups.snapshot import report_of
    from appforge.engines import registry, swarm

    registry.login(client, settings)  # so the service carries the credential its node pulls with
    network = swarm.ensure_network(client, settings, slug)
    # A service's name is a DNS label: a snapshot's id has capitals and a dot.
    service_name = re.sub(r"[^a-z0-9-]+", "-", name.lower())[:58].strip("-") + "-node"
    _remove(client, service_name, name)
    source = script()
    try:
        service = client.services.create(**_service(client, settings, slug, node, mode,
                                                    service_name, network, source, options))
    except DockerException as exc:
        raise BackupFailed(f"could not start the helper on {slug}'s node: {exc}") from exc
    container = None
    try:
        mounts = {str(folder): {"bind": "/backup", "mode": "rw" if mode == "snapshot" else "ro"}
                  } if folder is not None else {}
        container = client.containers.run(
            settings.python_base_image,
            ["python3", "-c", source, "connect", mode,
             json.dumps({"host": service_name, "umask": options.get("umask", 0o022)})],
            detach=True, name=name, network=network, volumes=mounts,
            labels=app_labels(settings, slug, ROLE), **hardened_run_kwargs(settings))
        status = container.wait()["StatusCode"]
        report = report_of(status, container.logs().decode(errors="replace"))
        if not report.get("ok"):
            report["output"] = (report.get("output", "") + _node_side(service)).strip()
            if report.get("error") == "unreachable":
                report["message"] = f"the helper on {slug}'s node did not answer: " \
                    f"{_task_error(service) or report.get('message')}"
        return report
    except DockerException as exc:
        raise BackupFailed(f"the helper for {slug}'s data on its node failed: {exc}") from exc
    finally:
        _remove(client, service_name, name if container is not None else None)


def _service(client: docker.DockerClient, settings: Settings, slug: str, node: str, mode: str,
             name: str, network: str, source: str, options: dict[str, Any]) -> dict[str, Any]:
    import docker.types as dt

    resources = dt.Resources(mem_limit=STAGE_BYTES + 256 * 2**20, cpu_limit=int(1e9))
    resources["Limits"]["Pids"] = 64
    return {
        "image": app_image(client, settings, slug), "name": name,
        "command": ["python3", "-c", source, "serve", mode, json.dumps(options)],
        "labels": app_labels(settings, slug, ROLE),
        "container_labels": {**app_labels(settings, slug, ROLE), f"{LABEL}.relay": mode},
        "user": APP_USER, "read_only": True, "cap_drop": ["ALL"], "init": True,
        # Not the app's health check (nothing answers it here): Swarm would keep the task out
        # of the name's DNS records until it passed.
        "healthcheck": dt.Healthcheck(test=["NONE"]),
        "mounts": [dt.Mount("/data", volume_name(settings, slug), type="volume",
                            labels=app_labels(settings, slug, "data")),
                   dt.Mount("/tmp", None, type="tmpfs", tmpfs_size=STAGE_BYTES,
                            tmpfs_mode=0o1777)],
        "networks": [network], "constraints": [f"node.id=={node}"],
        "restart_policy": dt.RestartPolicy(condition="none"),
        "endpoint_spec": dt.EndpointSpec(mode="dnsrr"), "resources": resources,
        "log_driver": "json-file", "log_driver_options": log_config(settings)["config"],
    }


def _task_error(service: Any) -> str:
    """Why the service's task did not run (no such node, the image could not be pulled...)."""
    try:
        tasks = service.tasks()
    except Exception:  # noqa: BLE001  (only for the message)
        return ""
    for task in tasks:
        status = task.get("Status") or {}
        if status.get("Err"):
            return str(status["Err"])
    return f"its task is {tasks[0]['Status']['State']}" if tasks else "it was never scheduled"


def _node_side(service: Any) -> str:
    try:
        return "\n" + b"".join(service.logs(stdout=True, stderr=True, tail=20)).decode(
            errors="replace")
    except Exception:  # noqa: BLE001  (only for the message)
        return ""


def _remove(client: docker.DockerClient, service_name: str, container_name: str | None) -> None:
    from docker.errors import DockerException

    from appforge.engines.swarm import remove_service

    try:
        remove_service(client, service_name)
    except DockerException:
        pass
    if container_name:
        try:
            client.containers.get(container_name).remove(force=True)
        except DockerException:
            pass
