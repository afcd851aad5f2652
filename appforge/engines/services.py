"""The :class:`~appforge.engines.Engine` of ``APPFORGE_ENGINE=swarm``: an app is a Swarm service
(``engines/swarm.py``); its live state comes from its tasks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from appforge.engines import Started, swarm
from appforge.errors import InvalidInput
from appforge.sandbox import containers
from appforge.sandbox.deploy import pause_for_crash_tests
from appforge.sandbox.engine import LABEL
from appforge.sandbox.hardening import Limits, size_in_bytes

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

Log = Callable[[str], None]
#: Failed tasks within this many seconds that make a crash loop (as for containers).
WINDOW = 300.0
LOOP_EXITS = 3


def environment(settings: Settings, limits: Limits) -> dict[str, str]:
    """What every app's process is told (the same as a plain container gets)."""
    return {"APP_MAX_BODY_BYTES": str(limits.body_bytes),
            "APP_UPLOAD_QUOTA_BYTES": str(size_in_bytes(settings.upload_quota))}


class SwarmEngine:
    name = "swarm"

    def __init__(self, settings: Settings, client: docker.DockerClient) -> None:
        self.settings, self.client = settings, client

    def start_version(self, slug: str, version: int, image: str, spec: dict[str, Any],
                      limits: Limits,
                      replicas: int, log: Log) -> Started:
        from appforge.backups.remote import node_of
        from appforge.engines.cluster import require_manager
        from appforge.sandbox import postgres

        manager = require_manager(self.client)
        swarm.check_replicas(slug, spec, replicas)
        swarm.ensure_network(self.client, self.settings, slug)  # before a database joins it
        env = environment(self.settings, limits) | postgres.database_env(
            self.client, self.settings, slug, log)
        if env.get("DATABASE_URL") and not swarm.keeps_files(spec):
            # Its replicas keep nothing on /data (a tmpfs), but snapshots are taken of the
            # app's volume on the manager, with the database's dump beside it: keep one there.
            self._ensure_volume(slug)
        pause_for_crash_tests(self.settings, "deploy:started")
        seconds = swarm.deploy(self.client, self.settings, slug, version, image, spec, limits,
                               max(1, replicas), env,
                               node_of(self.settings, slug) or manager.node_id, log)
        where = swarm.replicas_of(self.client, self.settings, slug)
        log(f"{swarm.service_name(self.settings, slug)} v{version}: {len(where)} healthy "
            f"replica{'s' * (len(where) != 1)} after {seconds:.1f} s "
            f"({', '.join(sorted({r['node'] for r in where}))})")
        return Started(swarm.service_name(self.settings, slug),
                       containers.upstream(self.settings, slug), seconds, where)

    def _ensure_volume(self, slug: str) -> None:
        from docker.errors import NotFound

        name = containers.volume_name(self.settings, slug)
        try:
            self.client.volumes.get(name)
        except NotFound:
            self.client.volumes.create(name, labels=containers.app_labels(self.settings, slug,
                                                                          "data"))

    def retire(self, slug: str, keep: str, log: Log) -> None:
        """Nothing: the rolling update stopped the old tasks once the new ones were healthy."""

    def stop(self, slug: str, log: Log) -> None:
        if swarm.get_service(self.client, self.settings, slug) is not None:
            swarm.scale(self.client, self.settings, slug, 0, log)

    def remove_app(self, slug: str, keep_data: bool, keep_images: bool = False,
                   graceful: bool = False) -> list[str]:
        removed = swarm.remove(self.client, self.settings, slug, lambda _line: None)
        if not keep_data:
            removed += self._wipe_remote_data(slug)
        removed += containers.remove_app(self.client, self.settings, slug, keep_data=keep_data,
                                         keep_images=keep_images, graceful=graceful)
        removed += self._remove_network(slug)
        return removed

    def _wipe_remote_data(self, slug: str) -> list[str]:
        """The data of an app moved to another node than the manager's: emptied there (the
        manager's engine cannot remove a volume on another node; the empty volume stays)."""
        from appforge.backups import remote
        from appforge.errors import AppforgeError

        node = remote.node_of(self.settings, slug)
        if not remote.is_remote(self.client, node):
            return []
        assert node is not None
        name = f"{self.settings.instance}-{slug}-wipe"
        try:
            report = remote.run(self.client, self.settings, slug, node, "wipe", name, None, {})
        except AppforgeError as exc:
            report = {"ok": False, "message": str(exc)}
        volume = containers.volume_name(self.settings, slug)
        if not report.get("ok"):
            raise InvalidInput(f"could not empty {slug}'s data on node {node[:12]}: "
                               f"{report.get('message')}", hint="is the node up? "
                               f"`appforge destroy {slug}` again, or `docker volume rm {volume}` "
                               "on that node")
        return [f"the data in {volume} on node {node[:12]} (emptied)"]

    def _remove_network(self, slug: str) -> list[str]:
        """The app's overlay network, once the proxy left it and its tasks' endpoints are gone
        (they go a moment after the tasks)."""
        from docker.errors import APIError, NotFound

        name = containers.network_name(self.settings, slug)
        last = ""
        for _ in range(100):
            found = self.client.networks.list(names=[name])
            if not found:
                return [f"network {name}"] if last else []
            try:
                network = self.client.networks.get(found[0].id)
                for c in network.attrs.get("Containers") or {}:
                    try:
                        network.disconnect(c, force=True)
                    except NotFound:
                        pass
                network.remove()
                return [f"network {name}"]
            except NotFound:
                continue
            except APIError as exc:  # endpoints of stopping tasks
                last = str(exc.explanation or exc)
            time.sleep(0.1)
        raise InvalidInput(f"could not remove the network {name}: {last}",
                           hint="`docker network inspect` it; `appforge destroy` again removes it")

    def serving(self, slug: str, version: int) -> bool:
        service = swarm.get_service(self.client, self.settings, slug)
        if service is None:
            return False
        return service.attrs["Spec"].get("Labels", {}).get(f"{LABEL}.version") == \
            str(version) and swarm.wanted_replicas(service) > 0

    def address(self, slug: str, version: int) -> str:
        """The service's name: all its tasks run ``version`` once its deploy returned."""
        return swarm.service_name(self.settings, slug)

    def live(self, slug: str, version: int) -> dict[str, Any]:
        """``running`` when every replica the service asks for runs and is healthy; else what
        its tasks say (starting, crash-looping with the last error, stopped, missing)."""
        from docker.errors import DockerException
        from requests.exceptions import RequestException

        from appforge.sandbox import live_state

        try:
            service = swarm.get_service(self.client, self.settings, slug)
            if service is None:
                return live_state.classify(None)
            wanted = swarm.wanted_replicas(service)
            tasks = service.tasks()
        except (DockerException, RequestException, OSError) as exc:
            return live_state.unknown(f"the Docker engine did not answer: {exc}")
        now = time.time()
        current = [t for t in tasks if t.get("DesiredState") == "running"]
        running = [t for t in current if t["Status"]["State"] == "running"]
        failed = [t for t in tasks if t["Status"]["State"] in ("failed", "rejected") and
                  now - (live_state._epoch(t["Status"].get("Timestamp")) or 0) < WINDOW]
        facts = {"restarts": len(failed), "exits_recent": len(failed), "status": "running"
                 if running else "created", "health": "healthy" if running else "starting"}
        if wanted == 0:
            word, reason = "stopped", "scaled to 0 replicas"
        elif len(running) >= wanted:
            word, reason = "running", f"{len(running)}/{wanted} replicas"
        elif len(failed) >= LOOP_EXITS:
            last = max(failed, key=lambda t: t["Status"].get("Timestamp", ""))
            word = "crash-looping"
            reason = (f"{len(failed)} tasks failed in {WINDOW / 60:.0f} min, last: "
                      f"{last['Status'].get('Err') or last['Status'].get('Message', '')}")
        else:
            word, reason = "starting", f"{len(running)}/{wanted} replicas running"
        result = live_state._result(word, reason, **facts)
        result["replicas"] = swarm.placed(self.client, current)
        return result

    def describe(self, slug: str, version: int) -> dict[str, Any] | None:
        service = swarm.get_service(self.client, self.settings, slug)
        if service is None:
            return None
        spec = service.attrs["Spec"]
        limits = spec["TaskTemplate"].get("Resources", {}).get("Limits", {})
        tasks = service.tasks()
        replicas = swarm.placed(self.client, [t for t in tasks
                                              if t.get("DesiredState") == "running"])
        wanted = swarm.wanted_replicas(service)
        running = sum(1 for r in replicas if r["state"] == "running")
        return {
            "name": service.name, "state": "running" if running else "stopped",
            "health": "healthy" if running >= wanted > 0 else "starting" if wanted else "none",
            "restarts": sum(1 for t in tasks if t["Status"]["State"] == "failed"),
            "limits": {"memory": limits.get("MemoryBytes"),
                       "cpus": (limits.get("NanoCPUs") or 0) / 1e9, "pids": limits.get("Pids")},
            "replicas": {"wanted": wanted, "running": running, "tasks": replicas},
            "image": spec["TaskTemplate"]["ContainerSpec"]["Image"],
        }

    def logs(self, slug: str, version: int, follow: bool, tail: int) -> Iterator[bytes] | bytes:
        service = swarm.get_service(self.client, self.settings, slug)
        if service is None:
            raise InvalidInput(f"{slug} has no service; `appforge start {slug}` starts it")
        lines = service.logs(stdout=True, stderr=True, follow=follow, tail=tail)
        return lines if follow else b"".join(lines)

    def scale(self, slug: str, spec: dict[str, Any], replicas: int, log: Log) -> float:
        swarm.check_replicas(slug, spec, replicas)
        return swarm.scale(self.client, self.settings, slug, replicas, log)

    def restart(self, slug: str, version: int, log: Log) -> bool:
        return swarm.restart(self.client, self.settings, slug, log)

    def stats(self, slug: str, version: int) -> dict[str, Any]:
        """The replicas running on the manager, sampled one by one and added up; those on
        other nodes are counted but not sampled (the manager's engine sees only its own)."""
        from appforge.sandbox import live_state

        service = swarm.get_service(self.client, self.settings, slug)
        if service is None:
            return {"available": False, "reason": "no service (stopped or removed)"}
        running = [r for r in swarm.placed(self.client, [
            t for t in service.tasks() if t.get("DesiredState") == "running"])
            if r["state"] == "running"]
        here = self.client.containers.list(ignore_removed=True, filters={"label": [
            f"{swarm.SERVICE_LABEL}={service.name}"]})
        samples = [dict(live_state.sample(c), replica=c.name.split(".")[1]
                        if "." in c.name else c.name) for c in here]
        samples = [s for s in samples if s["available"]]
        elsewhere = len(running) - len(samples)
        if not samples:
            nodes = sorted({r["node"] for r in running})
            return {"available": False, "reason": (
                f"its {len(running)} replica(s) run on {', '.join(nodes)}, whose engine "
                "appforge does not reach" if running else "no replica runs")}
        total = {"cpu_percent": round(sum(s["cpu_percent"] for s in samples), 1),
                 "memory_used": sum(s["memory_used"] for s in samples),
                 "memory_limit": sum(s["memory_limit"] for s in samples),
                 "pids": sum(s["pids"] for s in samples)}
        return {"available": True, **total, "replicas": samples,
                "note": f"{len(samples)} replica(s) on the manager"
                        + (f"; {elsewhere} on other nodes not sampled" if elsewhere > 0
                           else "")}
