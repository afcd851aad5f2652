"""The Caddy reverse proxy: the only container that publishes a port.

It listens on ``bind_address:http_port`` of the host (127.0.0.1:80 by default), joins each app's
internal network and routes by Host header to the app's current container. Its admin API listens
on a unix socket in a host folder, so no app container can reach it. The full configuration is
rendered from the routes appforge knows, written to the host (so a restarted proxy comes back
with every route) and loaded through the admin API.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appforge.errors import ProxyError
from appforge.sandbox.base_images import ensure_proxy_image
from appforge.sandbox.caddy_config import (
    ADMIN_SOCKET_IN_CONTAINER,
    HEALTH_PORT,
    LISTEN_PORT,
    TLS_LISTEN_PORT,
    Route,
    render_config,
)
from appforge.sandbox.containers import network_name
from appforge.sandbox.engine import LABEL
from appforge.sandbox.hardening import log_config

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

    from appforge.config import Settings

#: The proxy's user when appforge runs as root (apps use 10001).
PROXY_UID = 10002
ROOT_CERT_IN_CONTAINER = "/data/caddy/pki/authorities/local/root.crt"
_CONFIG_IN_CONTAINER = "/etc/appforge/caddy.json"


#: Docker's health check of the proxy (durations in nanoseconds).
HEALTHCHECK = {"test": ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null",
                        f"http://127.0.0.1:{HEALTH_PORT}/"],
               "interval": 10 * 10**9, "timeout": 3 * 10**9, "retries": 3,
               "start_period": 10 * 10**9}


def ensure_proxy(client: docker.DockerClient, settings: Settings,
                 log: Callable[[str], None]) -> Container:
    """Start the proxy if it is not running (creating it if needed) and return it."""
    from docker.errors import NotFound

    try:
        container = client.containers.get(proxy_name(settings))
    except NotFound:
        container = None
    if container is not None and not _publishes(container, settings):
        log("the proxy publishes another port than configured; recreating it")
        container.remove(force=True)
        container = None
    if container is not None and not _logs_capped(container, settings):
        log("the proxy's logs are not capped as configured; recreating it")
        container.remove(force=True)
        container = None
    if container is not None and (container.attrs["Config"].get("Healthcheck") or {}).get(
            "Test") != HEALTHCHECK["test"]:
        log("the proxy has no health check (made by an earlier appforge); recreating it")
        container.remove(force=True)
        container = None
    if container is None:
        container = _create(client, settings, log)
    if container.status != "running":
        container.start()
    _wait_for_socket(settings, container)
    return container


def apply_routes(client: docker.DockerClient, settings: Settings, routes: list[Route],
                 log: Callable[[str], None]) -> None:
    """Make the proxy serve exactly ``routes`` (joining each app's network first)."""
    from docker.errors import APIError, NotFound

    proxy = ensure_proxy(client, settings, log)
    proxy.reload()
    joined = set(proxy.attrs["NetworkSettings"]["Networks"])
    for route in routes:
        if not route.upstream:
            continue
        net = network_name(settings, route.slug)
        if net not in joined:
            try:
                client.networks.get(net).connect(proxy)
            except NotFound:
                # Gone with its app's containers (`down`, by hand): that app answers 502 until
                # it is deployed again, which makes the network; the others are routed.
                log(f"{route.slug}'s network {net} is gone; it answers 502 until it is "
                    "deployed again")
            except APIError as exc:
                raise ProxyError(f"the proxy could not join {net}: {exc.explanation}") from None
    config = config_for(settings, routes)
    path = _config_path(settings)
    if path.exists() and json.loads(path.read_text()) == config:
        return  # unchanged: a reload would only close the clients' idle connections
    _admin_post(settings, "/load", config)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2))
    tmp.replace(path)  # written after Caddy took it: the file is what the proxy serves


def config_for(settings: Settings, routes: list[Route]) -> dict[str, Any]:
    """The proxy's configuration for ``routes`` under ``settings`` (the ACME CA's root, when
    one is configured, copied where the proxy reads it)."""
    return render_config(routes, settings.tls, settings.acme_email, settings.https_port,
                         settings.upstream_idle_timeout, acme_ca=settings.acme_ca,
                         acme_ca_root=install_acme_ca_root(settings))


#: Where the proxy reads ``acme_ca_root`` (its data mount: the config mount is read-only).
ACME_CA_ROOT_IN_CONTAINER = "/data/acme-ca-root.pem"


def install_acme_ca_root(settings: Settings) -> str:
    """Copy ``settings.acme_ca_root`` into the proxy's data folder; its path in the container
    ('' when ACME is off or no root is configured)."""
    if settings.tls != "acme" or settings.acme_ca_root is None:
        return ""
    try:
        pem = Path(settings.acme_ca_root).read_bytes()
    except OSError as exc:
        raise ProxyError(f"cannot read APPFORGE_ACME_CA_ROOT {settings.acme_ca_root}: "
                         f"{exc.strerror}") from None
    if b"BEGIN CERTIFICATE" not in pem:
        raise ProxyError(f"APPFORGE_ACME_CA_ROOT {settings.acme_ca_root} holds no PEM "
                         "certificate")
    data = settings.proxy_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    dest = data / Path(ACME_CA_ROOT_IN_CONTAINER).name
    if not dest.exists() or dest.read_bytes() != pem:
        tmp = dest.with_suffix(".tmp")
        tmp.write_bytes(pem)
        tmp.chmod(0o644)
        if os.geteuid() == 0:
            os.chown(tmp, proxy_uid(), proxy_uid())
        tmp.replace(dest)
    return ACME_CA_ROOT_IN_CONTAINER


def _create(client: docker.DockerClient, settings: Settings,
            log: Callable[[str], None]) -> Container:
    from docker.errors import APIError, NotFound

    image = ensure_proxy_image(client, settings, log)
    uid = proxy_uid()
    admin_dir, data_dir = settings.proxy_dir / "admin", settings.proxy_dir / "data"
    for folder in (admin_dir, data_dir):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        if os.geteuid() == 0:
            os.chown(folder, uid, uid)
    path = _config_path(settings)
    if not path.exists():
        path.write_text(json.dumps(config_for(settings, []), indent=2))
    try:
        client.networks.get(edge_network(settings))
    except NotFound:
        client.networks.create(edge_network(settings), driver="bridge",
                               labels={LABEL: "edge", f"{LABEL}.instance": settings.instance})
    log(f"starting the proxy on {settings.bind_address}:{settings.http_port}")
    try:
        return client.containers.run(image, ["caddy", "run", "--config", _CONFIG_IN_CONTAINER],
                                     detach=True, **proxy_run_kwargs(settings))
    except APIError as exc:
        raise ProxyError(
            f"the proxy could not start on {settings.bind_address}:{settings.http_port}: "
            f"{exc.explanation}",
            hint="is the port in use? set APPFORGE_HTTP_PORT to a free port",
        ) from None


def proxy_run_kwargs(settings: Settings) -> dict[str, Any]:
    """What ``containers.run`` gets for the proxy, besides its image and command."""
    uid = proxy_uid()
    return {
        "name": proxy_name(settings), "network": edge_network(settings),
        "labels": {LABEL: "proxy", f"{LABEL}.instance": settings.instance},
        "ports": _ports(settings),
        "volumes": {
            str(settings.proxy_dir / "config"): {
                "bind": str(Path(_CONFIG_IN_CONTAINER).parent), "mode": "ro"},
            str(settings.proxy_dir / "admin"): {
                "bind": str(Path(ADMIN_SOCKET_IN_CONTAINER).parent), "mode": "rw"},
            str(settings.proxy_dir / "data"): {"bind": "/data", "mode": "rw"},
        },
        "environment": {"XDG_DATA_HOME": "/data", "XDG_CONFIG_HOME": "/data/config",
                        "HOME": "/data"},
        "user": f"{uid}:{uid}",
        "read_only": True, "tmpfs": {"/tmp": "rw,nosuid,nodev,size=16m"},
        "cap_drop": ["ALL"], "security_opt": ["no-new-privileges:true"],
        "mem_limit": "256m", "nano_cpus": int(1e9), "pids_limit": 256,
        "restart_policy": {"Name": "unless-stopped"},
        "log_config": log_config(settings),
        "healthcheck": HEALTHCHECK,
    }


def proxy_uid() -> int:
    """The user the proxy runs as: appforge's own user, or a dedicated one when that is root."""
    uid = os.geteuid()
    return PROXY_UID if uid == 0 else uid


def _ports(settings: Settings) -> dict[str, tuple[str, int]]:
    ports = {f"{LISTEN_PORT}/tcp": (settings.bind_address, settings.http_port)}
    if settings.tls != "off":
        ports[f"{TLS_LISTEN_PORT}/tcp"] = (settings.bind_address, settings.https_port)
    return ports


def _publishes(container: Container, settings: Settings) -> bool:
    """Whether the proxy publishes exactly the ports the settings ask for."""
    bindings = container.attrs["HostConfig"].get("PortBindings") or {}
    want = {port: [{"HostIp": ip, "HostPort": str(host_port)}]
            for port, (ip, host_port) in _ports(settings).items()}
    return bindings == want


def _logs_capped(container: Container, settings: Settings) -> bool:
    """Whether the proxy's logs rotate as the settings ask (other options the engine adds stay)."""
    want = log_config(settings)
    have = container.attrs["HostConfig"].get("LogConfig") or {}
    options = have.get("Config") or {}
    return have.get("Type") == want["type"] and all(options.get(k) == v
                                                    for k, v in want["config"].items())


def _config_path(settings: Settings) -> Path:
    conf = settings.proxy_dir / "config"
    conf.mkdir(parents=True, exist_ok=True)
    return conf / "caddy.json"


def _socket(settings: Settings) -> Path:
    return settings.proxy_dir / "admin" / Path(ADMIN_SOCKET_IN_CONTAINER).name


def _wait_for_socket(settings: Settings, container: Container, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _socket(settings).exists():
            try:
                _admin_get(settings, "/config/")
                return
            except ProxyError:
                pass
        time.sleep(0.1)
    container.reload()
    raise ProxyError(f"the proxy's admin API did not come up (container {container.status})",
                     detail=container.logs(tail=20).decode(errors="replace"))


def _admin(settings: Settings):  # type: ignore[no-untyped-def]
    import httpx

    # Caddy checks the Host header of admin requests; over a unix socket it must be empty.
    # Plain HTTP on a socket: no TLS, so no CA bundle to load (certifi's costs 40-60 ms of CPU
    # per client, and a deploy makes several).
    return httpx.Client(transport=httpx.HTTPTransport(uds=str(_socket(settings)), verify=False),
                        base_url="http://localhost", headers={"Host": ""}, timeout=10)


def _admin_get(settings: Settings, path: str) -> Any:
    import httpx

    try:
        with _admin(settings) as http:
            resp = http.get(path)
    except httpx.HTTPError as exc:
        raise ProxyError(f"the proxy's admin API is not answering: {exc}") from None
    if resp.status_code >= 400:
        raise ProxyError(f"proxy admin GET {path}: HTTP {resp.status_code}: {resp.text[:300]}")
    return resp.json()


def reload_config(settings: Settings) -> None:
    """Make the proxy load its configuration again, unchanged: its certificate manager starts
    over, so a name whose certificate failed is tried now instead of after Caddy's backoff."""
    config = json.loads(_config_path(settings).read_text())
    _admin_post(settings, "/load", config, headers={"Cache-Control": "must-revalidate"})


def _admin_post(settings: Settings, path: str, body: dict[str, Any],
                headers: dict[str, str] | None = None) -> None:
    import httpx

    try:
        with _admin(settings) as http:
            resp = http.post(path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise ProxyError(f"the proxy's admin API is not answering: {exc}") from None
    if resp.status_code >= 400:
        raise ProxyError(f"the proxy refused its configuration: HTTP {resp.status_code}",
                         detail=resp.text[:2000])


def proxy_name(settings: Settings) -> str:
    return f"{settings.instance}-proxy"


def edge_network(settings: Settings) -> str:
    """The proxy's own network: the only one with a published port and a way out."""
    return f"{settings.instance}-edge"


def remove_proxy(client: docker.DockerClient, settings: Settings) -> list[str]:
    """Remove the proxy container and the edge network (what ``up`` makes again); say what went.

    Its configuration, CA and certificates stay on the host (``proxy/``), so a proxy made again
    serves the same names with the same certificates."""
    from docker.errors import NotFound

    removed = []
    try:
        container = client.containers.get(proxy_name(settings))
        container.stop(timeout=5)  # finishes the requests it is serving
        container.remove(force=True)
        removed.append(f"container {container.name}")
    except NotFound:
        pass
    try:
        network = client.networks.get(edge_network(settings))
        network.remove()
        removed.append(f"network {network.name}")
    except NotFound:
        pass
    return removed


def proxy_status(client: docker.DockerClient, settings: Settings) -> str:
    """``running``, ``stopped`` or ``missing``."""
    from docker.errors import NotFound

    try:
        container = client.containers.get(proxy_name(settings))
    except NotFound:
        return "missing"
    return "running" if container.status == "running" else "stopped"


def export_root_certificate(client: docker.DockerClient, settings: Settings) -> Path:
    """Copy the proxy's internal CA root certificate to the data dir; return its path."""
    import io
    import tarfile

    from docker.errors import DockerException

    try:
        container = client.containers.get(proxy_name(settings))
        stream, _ = container.get_archive(ROOT_CERT_IN_CONTAINER)
    except DockerException as exc:
        raise ProxyError("the proxy has no internal CA yet",
                         hint="turn TLS on (APPFORGE_TLS=internal) and deploy an app first; "
                         f"({_first_line(exc)})") from None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.extractfile(tar.getmembers()[0])
        assert member is not None
        pem = member.read()
    dest = settings.proxy_dir / "root.crt"
    dest.write_bytes(pem)
    return dest


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
