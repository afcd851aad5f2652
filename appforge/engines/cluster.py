"""The Docker Swarm a cluster of hosts runs appforge's apps on: making this engine its manager,
the command that adds a worker, the nodes and what runs on each, draining and activating them.

Everything goes through the manager's engine (the one appforge talks to): a worker only needs
Docker and ``docker swarm join``; it never runs appforge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appforge.errors import EngineUnavailable, InvalidInput
from appforge.sandbox.engine import LABEL

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

Log = Callable[[str], None]


@dataclass(frozen=True)
class SwarmState:
    """What the engine says about its part in a swarm."""

    state: str  # inactive | pending | active | error | locked
    manager: bool
    node_id: str
    address: str
    managers: tuple[str, ...]  # their addresses (host:port)


def swarm_state(client: docker.DockerClient) -> SwarmState:
    info = client.info().get("Swarm") or {}
    return SwarmState(state=info.get("LocalNodeState") or "inactive",
                      manager=bool(info.get("ControlAvailable")),
                      node_id=info.get("NodeID") or "", address=info.get("NodeAddr") or "",
                      managers=tuple(m.get("Addr", "") for m in info.get("RemoteManagers") or []))


def require_manager(client: docker.DockerClient) -> SwarmState:
    """The swarm state when this engine can manage services, else the error that says what to
    do (``APPFORGE_ENGINE=swarm`` on an engine that is no manager)."""
    state = swarm_state(client)
    if state.state == "active" and state.manager:
        return state
    if state.state == "active":
        raise EngineUnavailable(
            "APPFORGE_ENGINE=swarm, but this Docker engine is a Swarm worker, not a manager: "
            "services can only be created through a manager",
            hint="point appforge at a manager (APPFORGE_DOCKER_HOST), or promote this node "
                 "there with `docker node promote`")
    raise EngineUnavailable(
        f"APPFORGE_ENGINE=swarm, but this Docker engine is not in a swarm (it is "
        f"{state.state})",
        hint="`appforge cluster init` makes it a Swarm manager; or set APPFORGE_ENGINE=docker "
             "to run apps as plain containers")


def init(client: docker.DockerClient, settings: Settings, log: Log,
         advertise_addr: str = "") -> dict[str, Any]:
    """Make this engine a Swarm manager (or use the one it already is) and start what the
    cluster needs (the image registry). Returns what was done and the state."""
    from docker.errors import APIError

    from appforge.engines import registry

    state = swarm_state(client)
    made = False
    if state.state == "active" and not state.manager:
        require_manager(client)  # raises: a worker
    if state.state != "active":
        log("making this Docker engine a Swarm manager")
        try:
            client.swarm.init(advertise_addr=advertise_addr or None,
                              listen_addr="0.0.0.0:2377")
        except APIError as exc:
            text = exc.explanation or str(exc)
            hint = ("name the address other hosts reach this one at: "
                    "`appforge cluster init --advertise-addr ADDRESS`"
                    if "advertise" in text else "`docker info` shows the engine's swarm state")
            raise InvalidInput(f"could not make this engine a Swarm manager: {text}",
                               hint=hint) from None
        made = True
        state = swarm_state(client)
    address = registry.ensure_registry(client, settings, state.node_id, log)
    return {"initialised": made, "node_id": state.node_id, "address": state.address,
            "registry": address}


def join_command(client: docker.DockerClient, settings: Settings) -> dict[str, Any]:
    """What to run on another host to add it as a worker, and what it needs to pull images."""
    from appforge.engines.registry import address_of as registry_address_of

    state = require_manager(client)
    token = client.swarm.attrs["JoinTokens"]["Worker"]
    manager = next((m for m in state.managers if m), f"{state.address}:2377")
    registry = registry_address_of(settings)
    steps = [f"docker swarm join --token {token} {manager}"]
    notes = []
    if registry.startswith("127.0.0.1:"):
        notes.append(f"images are served from {registry}, which only this host reaches: set "
                     f"APPFORGE_REGISTRY_ADDRESS={state.address}:{settings.registry_port} here "
                     "before the first build that other nodes run")
    else:
        notes.append(f"on the new host (as on this one), let its Docker engine pull from "
                     f'{registry}: add {{"insecure-registries": ["{registry}"]}} to '
                     "/etc/docker/daemon.json and reload dockerd (the registry speaks plain "
                     "HTTP on the cluster's network; its password reaches the node with each "
                     "service, never stored there)")
    return {"command": steps[0], "manager": manager, "registry": registry, "notes": notes}


def nodes(client: docker.DockerClient, settings: Settings) -> list[dict[str, Any]]:
    """Every node: name, role, state, availability, address, CPUs and memory, and the apps'
    replicas running on it."""
    require_manager(client)
    running: dict[str, list[str]] = {}
    for task in client.api.tasks(filters={"desired-state": "running"}):
        labels = (task.get("Spec", {}).get("ContainerSpec", {}).get("Labels") or {})
        if labels.get(f"{LABEL}.instance") != settings.instance or \
                labels.get(LABEL) != "task":
            continue
        if (task.get("Status") or {}).get("State") == "running":
            running.setdefault(task.get("NodeID", ""), []).append(
                f"{labels.get(f'{LABEL}.app')} v{labels.get(f'{LABEL}.version')}")
    found = []
    for node in client.nodes.list():
        attrs = node.attrs
        spec, status = attrs.get("Spec") or {}, attrs.get("Status") or {}
        resources = (attrs.get("Description") or {}).get("Resources") or {}
        found.append({
            "id": attrs["ID"], "hostname": (attrs.get("Description") or {}).get("Hostname", ""),
            "role": spec.get("Role", ""), "state": status.get("State", ""),
            "availability": spec.get("Availability", ""), "address": status.get("Addr", ""),
            "leader": bool((attrs.get("ManagerStatus") or {}).get("Leader")),
            "cpus": (resources.get("NanoCPUs") or 0) / 1e9,
            "memory": resources.get("MemoryBytes") or 0,
            "apps": sorted(running.get(attrs["ID"], [])),
        })
    return sorted(found, key=lambda n: (n["role"] != "manager", n["hostname"]))


def pinned_to(client: docker.DockerClient, node_id: str) -> list[str]:
    """The apps (of any installation) pinned to ``node_id``: those whose data is there."""
    found = []
    for service in client.services.list(filters={"label": f"{LABEL}=app"}):
        placement = service.attrs["Spec"]["TaskTemplate"].get("Placement") or {}
        if f"node.id=={node_id}" in (placement.get("Constraints") or []):
            found.append(service.attrs["Spec"]["Labels"].get(f"{LABEL}.app", service.name))
    return sorted(found)


def get_node(client: docker.DockerClient, name: str) -> Any:
    """The node called ``name`` (its hostname, its ID or a prefix of it), or the error that
    lists the nodes there are."""
    from docker.errors import APIError

    try:
        return client.nodes.get(name)
    except APIError:  # not found, or a prefix of several IDs
        known = ", ".join(sorted((n.attrs.get("Description") or {}).get("Hostname", n.id)
                                 for n in client.nodes.list()))
        raise InvalidInput(f"no node {name!r} in this swarm (nodes: {known})",
                           hint="`appforge cluster nodes` lists them") from None


def set_availability(client: docker.DockerClient, name: str, availability: str,
                     force: bool = False) -> dict[str, Any]:
    """Drain a node (its replicas move elsewhere) or make it active again. A node that holds
    apps' data (they are pinned to it) is drained only with ``force``: they would stop."""
    from docker.errors import APIError

    require_manager(client)
    node = get_node(client, name)
    pinned = pinned_to(client, node.id) if availability == "drain" else []
    if pinned and not force:
        host = node.attrs["Description"]["Hostname"]
        raise InvalidInput(f"{host} holds the data of {', '.join(pinned)}: they run only there, "
                           "so draining it stops them", hint="`appforge move APP NODE` moves "
                           "each with its data first; or drain it anyway with --force (they "
                           "come back on `activate`)")
    spec = dict(node.attrs["Spec"])
    spec["Availability"] = availability
    try:
        node.update(spec)
    except APIError as exc:
        raise InvalidInput(f"could not set {name} to {availability}: "
                           f"{exc.explanation or exc}") from None
    node.reload()
    return {"id": node.id, "hostname": node.attrs["Description"]["Hostname"],
            "availability": node.attrs["Spec"]["Availability"]}


def doctor_checks(settings: Settings, client: docker.DockerClient | None) -> list[Any]:
    """``appforge doctor``'s view of the cluster (APPFORGE_ENGINE=swarm): a manager, its nodes,
    the registry, and what the service API cannot express."""
    from appforge.doctor import Check
    from appforge.engines import registry

    if settings.engine != "swarm":
        return []
    if client is None:
        return [Check("swarm", "fail", "unknown: no Docker engine", "start the Docker engine")]
    try:
        state = require_manager(client)
    except EngineUnavailable as exc:
        return [Check("swarm", "fail", str(exc), exc.hint or "")]
    found = nodes(client, settings)
    ready = [n for n in found if n["state"] == "ready" and n["availability"] == "active"]
    checks = [Check("swarm", "ok" if ready else "fail",
                    f"manager {state.address}; {len(found)} node(s), {len(ready)} ready and "
                    "active", "" if ready else "`appforge cluster activate NODE`")]
    problem = registry.check(settings)
    checks.append(Check("registry", "fail" if problem else "ok", problem or
                        f"answers at {registry.address_of(settings)}, only to appforge's user",
                        "`appforge cluster init` starts it" if problem else ""))
    checks.append(Check("service hardening", "ok",
                        "read-only root, no capabilities, non-root user, init, tmpfs, memory, CPU "
                        "and pids limits as for containers; Docker 20.10's service API has no "
                        "no-new-privileges: app images carry no setuid or setgid file instead"))
    return checks
