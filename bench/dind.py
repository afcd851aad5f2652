"""Docker-in-Docker nodes for bench/cluster.py: each node is a container running Debian's
``dockerd`` (``docker.io`` in an image bootstrapped from Debian like appforge's base images,
nothing pulled) on a bridge network of the bench's own; and what drives them: appforge's CLI for
one installation, steady load through the proxy, and the waits the scenarios share.

How the nodes are made, and why: see docs/performance.md, "Swarm".
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appforge.config import Settings
from appforge.sandbox.base_images import bootstrap, image_exists, image_lock

NODE_IMAGE = "appforge-bench/dind:bookworm"
#: dockerd and what it runs: containerd, runc, iptables for its NAT rules, procps and iproute2
#: for looking at a node, kmod because dockerd asks modprobe for what it needs.
NODE_PACKAGES = ("docker.io", "iptables", "ca-certificates", "procps", "iproute2", "kmod")
NETWORK = "afbench-cluster"
#: The nodes' bridge network; the host engine (the manager) is its gateway.
SUBNET, GATEWAY = "10.213.77.0/24", "10.213.77.1"
#: What appforge builds on, copied into the manager's engine.
BASE_IMAGES = ("appforge/python:3.11-bookworm", "appforge/caddy:bookworm-2",
               "appforge/registry:bookworm")
#: Run in each node before dockerd: Docker mounts /sys and the cgroup hierarchies read-only in
#: an unprivileged container; dockerd writes both (bind remounts change only this mount's flags).
NODE_SETUP = ("set -e; mount -o remount,rw /sys; "
              "for m in $(awk '$3 == \"cgroup\" {print $2}' /proc/self/mounts); do "
              "mount -o remount,bind,rw \"$m\"; done; exec \"$0\" \"$@\"")
LABEL = "io.appforge-bench.cluster"


def address(host: int) -> str:
    return SUBNET.rsplit(".", 1)[0] + f".{host}"


class Cli:
    """appforge's CLI for one installation (its own home, instance, ports)."""

    def __init__(self, env: dict[str, str], log: Callable[[str], None]) -> None:
        self.env, self.log = env, log

    def run(self, *args: str, check: bool = True, timeout: float = 900) -> Any:
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "appforge.cli", *args, "--json"],
                              env=self.env, capture_output=True, text=True, timeout=timeout,
                              check=False)
        self.log(f"appforge {' '.join(args)[:70]} -> {proc.returncode} "
                 f"({time.monotonic() - started:.1f} s)")
        if proc.returncode != 0:
            if check:
                raise RuntimeError(f"appforge {' '.join(args)} exited {proc.returncode}\n"
                                   f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
            return {"error": (proc.stderr or proc.stdout)[-1500:]}
        lines = proc.stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines else {}


class Load:
    """Steady GETs on several hosts through the proxy until stopped; counts per host."""

    def __init__(self, proxy: str, hosts: list[str], pause: float = 0.05) -> None:
        self.base, self.pause = f"http://{proxy}", pause
        self.ok = {h: 0 for h in hosts}
        self.failed: dict[str, list[str]] = {h: [] for h in hosts}
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(h,), daemon=True)
                         for h in hosts]

    def _run(self, host: str) -> None:
        deadline = time.monotonic() + 600
        with httpx.Client(base_url=self.base, headers={"Host": host}, timeout=5,
                          trust_env=False) as http:
            while not self._stop.is_set() and time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    resp = http.get("/")
                    why = "" if resp.status_code == 200 else f"HTTP {resp.status_code}"
                except httpx.HTTPError as exc:
                    why = type(exc).__name__
                self.latencies.append(time.monotonic() - started)
                if why:
                    self.failed[host].append(why)
                else:
                    self.ok[host] += 1
                self._stop.wait(self.pause)

    def __enter__(self) -> Self:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def summary(self) -> dict[str, Any]:
        failed = sum(len(f) for f in self.failed.values())
        kinds: dict[str, int] = {}
        for f in self.failed.values():
            for why in f:
                kinds[why] = kinds.get(why, 0) + 1
        ordered = sorted(self.latencies) or [0.0]
        return {"requests": sum(self.ok.values()) + failed, "failed": failed, "why": kinds,
                "p50_ms": round(1000 * ordered[len(ordered) // 2]),
                "p99_ms": round(1000 * ordered[int(0.99 * (len(ordered) - 1))]),
                "max_ms": round(1000 * ordered[-1])}


def ensure_node_image(client: Any, log: Callable[[str], None]) -> None:
    if image_exists(client, NODE_IMAGE):
        return
    with image_lock(NODE_IMAGE):
        if not image_exists(client, NODE_IMAGE):
            bootstrap(client, Settings(), NODE_IMAGE, NODE_PACKAGES, log)


class Cluster:
    """The bench's nodes, each a container running dockerd; ``close`` removes all of them (the
    swarm goes with its manager)."""

    def __init__(self, client: Any, work: Path, log: Callable[[str], None]) -> None:
        self.client, self.work, self.log = client, work, log
        self.nodes: list[Any] = []
        self.socket = work / "run" / "docker.sock"

    def network(self) -> None:
        import docker.types as dt

        ipam = dt.IPAMConfig(pool_configs=[dt.IPAMPool(subnet=SUBNET, gateway=GATEWAY)])
        self.client.networks.create(NETWORK, driver="bridge", ipam=ipam, labels={LABEL: "1"})

    def start_node(self, name: str, address: str, mounts: tuple[Path, ...] = ()) -> Any:
        """A node: Debian's dockerd in a container, trusting the registry on the bench's network.

        Not --privileged: this machine's engine runs without CAP_SYS_RESOURCE in its bounding
        set, and runc refuses a privileged container ("unable to apply caps: operation not
        permitted"). Every other capability, no seccomp/AppArmor, /proc and /sys unmasked
        (``systempaths=unconfined``, which the SDK cannot say, hence the CLI) and a private
        cgroup namespace whose mounts NODE_SETUP makes writable give dockerd what it needs.
        /var/lib/docker is a volume (ext4 here): overlay2 cannot sit on an overlay root. The
        manager also gets ``mounts`` at the same paths (appforge's home: the proxy's admin
        socket and the registry's htpasswd are bind-mounted from there into its containers)
        and a socket in the bench's folder for appforge to talk to it."""
        extra = [arg for path in mounts for arg in ("-v", f"{path}:{path}")]
        hosts = ["--host=unix:///var/run/docker.sock"]
        if mounts:
            extra += ["-v", f"{self.socket.parent}:/run/afbench"]
            hosts.append("--host=unix:///run/afbench/docker.sock")
        subprocess.run(
            ["docker", "run", "-d", "--name", name, "--hostname", name, "--cap-add", "ALL",
             "--cap-drop", "SYS_RESOURCE", "--cgroupns", "private",
             "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
             "--security-opt", "systempaths=unconfined", "--network", NETWORK, "--ip", address,
             "--label", f"{LABEL}=1", "-v", f"{name}-docker:/var/lib/docker", *extra,
             NODE_IMAGE, "sh", "-c", NODE_SETUP, "dockerd", *hosts,
             f"--insecure-registry={SUBNET}", "--storage-driver=overlay2", "--log-level=warn"],
            check=True, capture_output=True, text=True)
        node = self.client.containers.get(name)
        self.nodes.append(node)
        return node

    def node_docker(self, node: Any, *args: str) -> tuple[int, str]:
        result = node.exec_run(["docker", *args])
        return result.exit_code, (result.output or b"").decode(errors="replace")

    def wait_dockerd(self, node: Any, limit: float = 90) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            node.reload()
            if node.status != "running":
                raise RuntimeError(f"{node.name} stopped: {node.logs()[-2000:].decode()}")
            code, _ = self.node_docker(node, "info", "--format", "{{.ServerVersion}}")
            if code == 0:
                return
            time.sleep(1)
        raise RuntimeError(f"dockerd in {node.name} did not answer in {limit:.0f} s: "
                           f"{node.logs()[-2000:].decode()}")

    def load_images(self, tags: tuple[str, ...]) -> None:
        """The base images appforge builds on, from this engine into the manager's (nothing
        is pulled anywhere)."""
        save = subprocess.Popen(["docker", "save", *tags], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", f"unix://{self.socket}", "load", "-q"],
                       stdin=save.stdout, check=True, capture_output=True)
        if save.wait() != 0:
            raise RuntimeError(f"docker save {' '.join(tags)} failed")

    def close(self) -> None:
        for node in self.nodes:
            try:
                node.remove(force=True, v=True)
            except Exception as exc:  # noqa: BLE001 - the cleanup goes on
                self.log(f"cleanup: {node.name}: {exc}")
        for volume in self.client.volumes.list(filters={"label": f"{LABEL}=1"}) + [
                v for v in self.client.volumes.list() if v.name.startswith("afbench-")]:
            try:
                volume.remove(force=True)
            except Exception as exc:  # noqa: BLE001
                self.log(f"cleanup: {volume.name}: {exc}")
        for net in self.client.networks.list(names=[NETWORK]):
            try:
                net.remove()
            except Exception as exc:  # noqa: BLE001
                self.log(f"cleanup: {NETWORK}: {exc}")


def placement(cli: Cli) -> dict[str, list[str]]:
    """hostname -> the app replicas running there."""
    return {n["hostname"]: n["apps"] for n in cli.run("cluster", "nodes")["nodes"]}


def wait_serving(proxy: str, hosts: list[str], limit: float) -> dict[str, float | None]:
    """Seconds until each host answers 200 through the proxy (None: not within ``limit``)."""
    started, found = time.monotonic(), {h: None for h in hosts}
    with httpx.Client(base_url=f"http://{proxy}", timeout=3, trust_env=False) as http:
        while time.monotonic() - started < limit and None in found.values():
            for host in [h for h, t in found.items() if t is None]:
                try:
                    if http.get("/", headers={"Host": host}).status_code == 200:
                        found[host] = round(time.monotonic() - started, 1)
                except httpx.HTTPError:
                    pass
            time.sleep(0.25)
    return found


def wait_moved(cli: Cli, node: str, slugs: list[str], limit: float) -> float | None:
    """Seconds until none of ``slugs`` runs on ``node`` and each runs somewhere else."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        where = placement(cli)
        running = {a.split()[0] for apps in where.values() for a in apps}
        if not any(a.split()[0] in slugs for a in where.get(node, [])) and \
                set(slugs) <= running:
            return round(time.monotonic() - started, 1)
        time.sleep(1)
    return None


@contextmanager
def interrupts_as_errors() -> Iterator[None]:
    """Ctrl-C and SIGTERM end the bench with KeyboardInterrupt, so the cleanup runs (SIGINT too
    where the bench was started with it ignored, as a shell does for a background job)."""
    def raise_interrupt(*_: object) -> None:
        raise KeyboardInterrupt
    previous = {sig: signal.signal(sig, raise_interrupt)
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
