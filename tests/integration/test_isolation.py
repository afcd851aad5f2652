"""What a generated app cannot do: DESIGN.md's sandbox rules, tried from inside real containers.

Two small CRUD apps, alpha and beta, run behind the installation's proxy. Probes run as the app's
user inside alpha (``docker exec``); each test would fail if the rule it names were broken.
Traffic goes only to this machine and the project's own containers: "the internet" is a TEST-NET
address (192.0.2.1), and a public name is only looked up.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from appforge.generators.code import render_app
from appforge.sandbox import containers
from appforge.sandbox.audit import audit_instance, failures, role_of
from appforge.sandbox.caddy_config import Route
from appforge.sandbox.deploy import deploy_version
from appforge.sandbox.proxy import apply_routes, edge_network, proxy_name
from appforge.spec import AppSpec, Entity, EntityField
from appforge.store import Store
from appforge.tools.apps import routes as store_routes
from appforge.tools.sandbox import build_runtime_image
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

APP_UID = "10001"
#: Outcomes of a connect that did not get through.
BLOCKED = {"timeout", "no answer", "no such name", "ENETUNREACH", "EHOSTUNREACH", "ECONNREFUSED"}

# Runs inside a container: tries every (kind, target) of argv[1] at once, each bounded, and
# prints {target: outcome}. Names the embedded DNS cannot answer would block getaddrinfo for
# 10 s, so what is still pending after 3 s is "no answer".
PROBE = textwrap.dedent("""
    import errno, json, os, socket, sys, threading, time
    results = {}
    def connect(host, port):
        try:
            socket.create_connection((host, port), timeout=2).close()
            return "connected"
        except socket.timeout:
            return "timeout"
        except socket.gaierror:
            return "no such name"
        except OSError as exc:
            return errno.errorcode.get(exc.errno, str(exc))
    def resolve(name):
        try:
            return "resolved " + " ".join(sorted({a[4][0] for a in socket.getaddrinfo(name, 80)}))
        except socket.gaierror:
            return "no such name"
    def run(kind, target):
        if kind == "dns":
            results["dns " + target] = resolve(target)
        else:
            host, port = target.rsplit(":", 1)
            results[target] = connect(host, int(port))
    threads = [threading.Thread(target=run, args=tuple(t), daemon=True)
               for t in json.loads(sys.argv[1])]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 3
    for t in threads:
        t.join(timeout=max(0, deadline - time.monotonic()))
    for kind, target in json.loads(sys.argv[1]):
        results.setdefault(("dns " if kind == "dns" else "") + target, "no answer")
    print(json.dumps(results))
    sys.stdout.flush()
    os._exit(0)
""")


@dataclass
class Apps:
    settings: Any
    alpha: Any
    beta: Any
    proxy: Any

    def ip(self, container: Any) -> str:
        container.reload()
        (net,) = container.attrs["NetworkSettings"]["Networks"].values()
        return net["IPAddress"]


def _spec(slug: str) -> AppSpec:
    return AppSpec(name=slug.title(), slug=slug, title=slug.title(), kind="crud", entities=[
        Entity(name="note", plural="notes", label="Note", label_plural="Notes",
               fields=[EntityField(name="title", label="Title")])])


@pytest.fixture(scope="module")
def apps(installation: Installation, docker_client: Any,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    settings = installation.settings
    store = Store(settings.db_path)
    others = store_routes(settings, store)  # apps other modules deployed keep their routes
    ours: list[Route] = []
    for slug in ("alpha", "beta"):
        workspace = tmp_path_factory.mktemp("isolation") / slug
        render_app(_spec(slug), workspace)
        image = build_runtime_image(docker_client, settings, slug, 1, workspace, lambda _m: None)
        deployed = deploy_version(docker_client, settings, slug, 1, image, [f"{slug}.localhost"],
                                  [*others, *ours], lambda _m: None)
        ours.append(Route(slug=slug, hosts=(f"{slug}.localhost",), upstream=deployed.upstream))
    get = docker_client.containers.get
    yield Apps(settings, get(containers.container_name(settings, "alpha", 1)),
               get(containers.container_name(settings, "beta", 1)), get(proxy_name(settings)))
    for slug in ("alpha", "beta"):
        containers.remove_app(docker_client, settings, slug)
    apply_routes(docker_client, settings, store_routes(settings, store), lambda _m: None)


def _python(container: Any, code: str, *args: str) -> tuple[int, str]:
    result = container.exec_run(["python3", "-c", code, *args], user=APP_UID)
    return result.exit_code, result.output.decode(errors="replace")


def _probe(container: Any, *targets: tuple[str, str]) -> dict[str, str]:
    code, output = _python(container, PROBE, json.dumps(targets))
    assert code == 0, output
    return json.loads(output.strip().splitlines()[-1])


def _gateway(network: Any) -> str:
    config = network.attrs["IPAM"]["Config"][0]
    return config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


def _wait_serving(installation: Installation, host: str, timeout: float = 20) -> int:
    import httpx

    deadline = time.monotonic() + timeout
    status = 0
    while time.monotonic() < deadline:
        try:
            status = installation.get(host, "/healthz").status_code
        except httpx.HTTPError:
            status = 0
        if status == 200:
            break
        time.sleep(0.25)
    return status


# Network -------------------------------------------------------------------------------------

def test_app_cannot_reach_the_internet(apps: Apps, docker_client: Any) -> None:
    proxy_at = f"{apps.proxy.name}:8080"
    seen = _probe(apps.alpha, ("tcp", "192.0.2.1:80"), ("dns", "example.com"),
                  ("tcp", proxy_at), ("dns", apps.proxy.name))
    assert seen[proxy_at] == "connected", seen  # the probe itself works
    assert seen[f"dns {apps.proxy.name}"].startswith("resolved"), seen
    assert seen["192.0.2.1:80"] in {"ENETUNREACH", "EHOSTUNREACH", "timeout"}, seen
    assert not seen["dns example.com"].startswith("resolved"), seen
    # What makes it so: the app is only on its own network, and that network has no way out.
    own = containers.network_name(apps.settings, "alpha")
    assert list(apps.alpha.attrs["NetworkSettings"]["Networks"]) == [own]
    assert docker_client.networks.get(own).attrs["Internal"] is True


def test_app_cannot_reach_the_proxy_port_published_on_the_host(
        apps: Apps, docker_client: Any) -> None:
    port = apps.settings.http_port
    gateways = {_gateway(docker_client.networks.get(name)) for name in
                ("bridge", edge_network(apps.settings),
                 containers.network_name(apps.settings, "alpha"))}
    seen = _probe(apps.alpha, *[("tcp", f"{gw}:{port}") for gw in sorted(gateways)])
    assert len(seen) == 3 and set(seen.values()) <= BLOCKED, seen


def test_app_cannot_reach_services_on_the_host(apps: Apps, docker_client: Any) -> None:
    gateways = sorted({_gateway(docker_client.networks.get(name)) for name in
                       ("bridge", edge_network(apps.settings),
                        containers.network_name(apps.settings, "alpha"))})
    with socket.socket() as listener:  # a host service, e.g. a database on all interfaces
        listener.bind(("0.0.0.0", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        seen = _probe(apps.alpha, *[("tcp", f"{gw}:{port}") for gw in gateways])
    assert len(seen) == len(gateways) and set(seen.values()) <= BLOCKED, seen


def test_app_cannot_reach_another_app(apps: Apps) -> None:
    apps.beta.reload()
    (net,) = apps.beta.attrs["NetworkSettings"]["Networks"].values()
    names = {apps.beta.name, *(net.get("Aliases") or [])}
    targets = [("tcp", f"{name}:8000") for name in sorted(names)]
    seen = _probe(apps.alpha, *targets, ("tcp", f"{apps.ip(apps.beta)}:8000"))
    assert len(seen) == len(targets) + 1 and set(seen.values()) <= BLOCKED, seen


def test_app_cannot_reach_the_proxy_admin_api(apps: Apps) -> None:
    apps.proxy.reload()
    proxy_ip = apps.proxy.attrs["NetworkSettings"]["Networks"][
        containers.network_name(apps.settings, "alpha")]["IPAddress"]
    targets = [f"{host}:{port}" for host in (apps.proxy.name, proxy_ip) for port in (2019, 2020)]
    seen = _probe(apps.alpha, *[("tcp", t) for t in targets], ("tcp", f"{proxy_ip}:8080"))
    assert seen[f"{proxy_ip}:8080"] == "connected", seen
    assert all(seen[t] in BLOCKED for t in targets), seen
    # Nor the admin socket: its host folder is mounted in the proxy only.
    admin_dir = str(apps.settings.proxy_dir / "admin")
    assert admin_dir in {m["Source"] for m in apps.proxy.attrs["Mounts"]}
    assert admin_dir not in {m.get("Source") for m in apps.alpha.attrs["Mounts"]}
    code, output = _python(apps.alpha, textwrap.dedent("""
        import glob
        print(glob.glob("/run/**/*.sock", recursive=True) + glob.glob("/var/run/*.sock"))
    """))
    assert code == 0 and output.strip() == "[]", output


def test_only_the_proxy_publishes_ports_and_only_on_loopback(
        apps: Apps, docker_client: Any) -> None:
    published = {}
    for c in docker_client.containers.list(
            filters={"label": f"io.appforge.instance={apps.settings.instance}"}):
        # asked for (HostConfig) and in effect (NetworkSettings): Docker does not map ports
        # of a container on an internal network, but a request for it is a breach already
        asked = c.attrs["HostConfig"].get("PortBindings") or {}
        live = c.attrs["NetworkSettings"].get("Ports") or {}
        bindings = [b for ports in (asked, live) for port in ports.values() for b in port or []]
        if bindings or c.attrs["HostConfig"].get("PublishAllPorts"):
            published[c.name] = {b["HostIp"] for b in bindings}
    assert published == {apps.proxy.name: {"127.0.0.1"}}


# Resources -----------------------------------------------------------------------------------

FORK_BOMB = textwrap.dedent("""
    import errno, json, os, time
    kids, error = [], None
    release_r, release_w = os.pipe()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(kids) < 1000:
        try:
            pid = os.fork()
        except OSError as exc:
            error = errno.errorcode.get(exc.errno, str(exc.errno))
            break
        if pid == 0:  # a child only waits to be released; it never forks itself
            os.close(release_w)
            os.read(release_r, 1)
            os._exit(0)
        kids.append(pid)
    time.sleep(2)  # hold every process the limit allows while the test checks beta
    os.close(release_w)
    for pid in kids:
        os.waitpid(pid, 0)
    print(json.dumps({"forks": len(kids), "error": error}))
""")


def test_fork_bomb_hits_the_pids_limit_and_other_apps_keep_serving(
        apps: Apps, installation: Installation) -> None:
    result: dict[str, Any] = {}
    bomb = threading.Thread(target=lambda: result.update(out=_python(apps.alpha, FORK_BOMB)))
    bomb.start()
    time.sleep(1)  # the limit is hit within a fraction of a second
    during = installation.get("beta.localhost", "/api/notes").status_code
    bomb.join(timeout=30)
    code, output = result["out"]
    assert code == 0, output
    bombed = json.loads(output.strip().splitlines()[-1])
    assert bombed["error"] == "EAGAIN", bombed
    assert bombed["forks"] < apps.alpha.attrs["HostConfig"]["PidsLimit"], bombed
    assert during == 200
    assert _wait_serving(installation, "alpha.localhost") == 200


def test_memory_hog_is_killed_and_other_apps_keep_serving(
        apps: Apps, installation: Installation) -> None:
    limit = apps.alpha.attrs["HostConfig"]["Memory"]
    assert limit > 0
    code, output = _python(apps.alpha, textwrap.dedent(f"""
        chunks = []
        while len(chunks) * (16 << 20) < {2 * limit}:
            chunks.append(b"x" * (16 << 20))  # written, so every page is really used
        print("allocated", len(chunks) * 16, "MiB")
    """))
    assert code == 137 or "MemoryError" in output, (code, output)
    assert "allocated" not in output
    assert installation.get("beta.localhost", "/api/notes").status_code == 200
    assert _wait_serving(installation, "alpha.localhost") == 200


# Filesystem ----------------------------------------------------------------------------------

def test_root_and_code_are_read_only_while_tmp_and_data_are_writable(apps: Apps) -> None:
    code, output = _python(apps.alpha, textwrap.dedent("""
        import errno, json, os
        def write(path):
            try:
                with open(path, "w") as fh:
                    fh.write("x")
                os.remove(path)
                return "written"
            except OSError as exc:
                return errno.errorcode.get(exc.errno, str(exc))
        print(json.dumps({"uid": os.getuid(), "/": write("/evil"),
                          "/srv/app": write("/srv/app/evil.py"),
                          "/var/tmp": write("/var/tmp/evil"),
                          "root read-only": bool(os.statvfs("/").f_flag & os.ST_RDONLY),
                          "/tmp": write("/tmp/ok"), "/data": write("/data/ok")}))
    """))
    assert code == 0, output
    seen = json.loads(output.strip().splitlines()[-1])
    assert seen["uid"] == int(APP_UID)
    assert seen["/"] in {"EROFS", "EACCES"} and seen["/srv/app"] in {"EROFS", "EACCES"}, seen
    # World-writable on the image's root filesystem: only a read-only root stops this write.
    assert seen["/var/tmp"] == "EROFS" and seen["root read-only"], seen
    assert seen["/tmp"] == "written" and seen["/data"] == "written", seen


# The audit -----------------------------------------------------------------------------------

def _audit(apps: Apps, docker_client: Any, role: str) -> dict[str, list[str]]:
    report = audit_instance(docker_client, apps.settings.instance, apps.settings.bind_address)
    mine = {name: findings for name, findings in report.items()
            if role_of(docker_client.containers.get(name).attrs) == role}
    assert mine, report
    return {name: [f"{f.rule} {f.title}: {f.detail}" for f in failures(findings)]
            for name, findings in mine.items()}


def test_audit_passes_every_rule_for_every_app_container(apps: Apps, docker_client: Any) -> None:
    failed = _audit(apps, docker_client, "app")
    assert {apps.alpha.name, apps.beta.name} <= set(failed)
    assert all(not rules for rules in failed.values()), failed


def test_audit_passes_every_rule_for_the_proxy(apps: Apps, docker_client: Any) -> None:
    failed = _audit(apps, docker_client, "proxy")
    assert failed == {apps.proxy.name: []}, failed


def test_workspaces_are_not_mounted_into_apps(apps: Apps) -> None:
    home = Path(apps.settings.home)
    for c in (apps.alpha, apps.beta):
        sources = [m.get("Source") or "" for m in c.attrs["Mounts"]]
        assert not [s for s in sources if s.startswith(str(home))], sources
