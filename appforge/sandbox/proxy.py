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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appforge.errors import ProxyError
from appforge.sandbox.base_images import ensure_proxy_image
from appforge.sandbox.containers import network_name
from appforge.sandbox.engine import LABEL
from appforge.sandbox.hardening import log_config

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

    from appforge.config import Settings

LISTEN_PORT = 8080  # inside the proxy container; unprivileged so it needs no capability
TLS_LISTEN_PORT = 8443
#: The proxy's user when appforge runs as root (apps use 10001).
PROXY_UID = 10002
ROOT_CERT_IN_CONTAINER = "/data/caddy/pki/authorities/local/root.crt"
_SOCKET_IN_CONTAINER = "/run/appforge-admin/admin.sock"
_CONFIG_IN_CONTAINER = "/etc/appforge/caddy.json"


#: Where the proxy's health check asks, inside its container only (loopback, never published).
HEALTH_PORT = 8081
HEALTH_SERVER = {"listen": [f"127.0.0.1:{HEALTH_PORT}"], "automatic_https": {"disable": True},
                 "routes": [{"handle": [{"handler": "static_response", "status_code": 200,
                                         "body": "ok\n"}]}]}


#: Docker's health check of the proxy (durations in nanoseconds).
HEALTHCHECK = {"test": ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null",
                        f"http://127.0.0.1:{HEALTH_PORT}/"],
               "interval": 10 * 10**9, "timeout": 3 * 10**9, "retries": 3,
               "start_period": 10 * 10**9}


@dataclass(frozen=True)
class Route:
    """Requests for ``hosts`` go to ``upstream`` (``container-name:port``) on ``slug``'s network.

    A route without an upstream belongs to a stopped app: it answers 503 and says so. A request
    body larger than ``max_body`` bytes (0: no limit) gets 413 and never reaches the app.
    """

    slug: str
    hosts: tuple[str, ...]
    upstream: str = ""
    max_body: int = 0


#: Requests Caddy may send again to an app when the connection fails after it was made (a dial
#: that fails is always tried again): the ones without effects.
RETRY_METHODS = ["GET", "HEAD", "OPTIONS"]
TOO_LARGE = "The request body is larger than this app accepts"


def _handlers(route: Route, idle_timeout: float) -> list[dict[str, Any]]:
    if not route.upstream:
        return [{"handler": "static_response", "status_code": 503,
                 "headers": {"Content-Type": ["text/plain; charset=utf-8"],
                             "Retry-After": ["60"]},
                 "body": "This app is stopped. (appforge)\n"}]
    proxy = {
        "handler": "reverse_proxy", "upstreams": [{"dial": route.upstream}],
        # try_duration: a dial that fails (a version stopping) is retried on another address.
        "load_balancing": {"try_duration": "5s", "try_interval": "100ms",
                           "retry_match": [{"method": RETRY_METHODS}]},
        # Idle connections to the app close before the app would close them (see Settings).
        "transport": {"protocol": "http",
                      "keep_alive": {"idle_timeout": f"{idle_timeout:g}s"}},
    }
    if not route.max_body:
        return [proxy]
    # A declared length above the limit is answered at once, before anything is read; a body
    # without one (chunked) is cut at the limit by request_body, and the error route below
    # turns that into a 413 too.
    return [{"handler": "subroute", "routes": [
        {"match": [{"header_regexp": {"Content-Length": {
            "pattern": above_pattern(route.max_body)}}}],
         "handle": [_too_large(route.max_body)], "terminal": True},
        {"handle": [{"handler": "request_body", "max_size": route.max_body}, proxy]},
    ], "errors": {"routes": [
        {"match": [{"vars_regexp": {"{http.error.message}": {
            "pattern": "request body too large"}}}],
         "handle": [_too_large(route.max_body)], "terminal": True},
        # Any other error keeps its status (a 502 when the app is down or died mid-request):
        # with error routes and none matching, Caddy would answer an empty 200.
        {"handle": [UPSTREAM_ERROR]},
    ]}}]


#: The answer for an app that is down or failed mid-request, with the error's own status.
UPSTREAM_ERROR = {"handler": "static_response", "status_code": "{http.error.status_code}",
                  "headers": {"Content-Type": ["text/plain; charset=utf-8"]},
                  "body": "The app did not answer. (appforge)\n"}


def _too_large(limit: int) -> dict[str, Any]:
    """413, in JSON (what the apps' APIs answer), with Connection: close: the rest of the body
    is not read."""
    text = f"{TOO_LARGE} ({size_label(limit)})." if limit else f"{TOO_LARGE}."
    return {"handler": "static_response", "status_code": 413, "close": True,
            "headers": {"Content-Type": ["application/json"]},
            "body": json.dumps({"detail": text})}


def size_label(size: int) -> str:
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def above_pattern(limit: int) -> str:
    """A regular expression for the decimal numbers greater than ``limit`` (leading zeros
    allowed, as Go's HTTP server allows them in Content-Length)."""
    digits = str(limit)
    n = len(digits)
    options = [f"[1-9]\\d{{{n},}}"]  # more digits
    for i, d in enumerate(digits):  # as many digits: the same up to i, then a larger one
        if d != "9":
            rest = n - i - 1
            options.append(digits[:i] + f"[{int(d) + 1}-9]" + (f"\\d{{{rest}}}" if rest else ""))
    return "^0*(?:" + "|".join(options) + ")$"


def render_config(routes: list[Route], tls: str = "off", acme_email: str = "",
                  public_https_port: int = 443, idle_timeout: float = 30.0, *,
                  acme_ca: str = "", acme_ca_root: str = "") -> dict[str, Any]:
    """The whole Caddy JSON configuration for these routes.

    ``tls``: ``off`` serves plain HTTP; ``internal`` serves HTTPS with certificates from Caddy's
    own CA (``appforge trust`` exports its root) and redirects HTTP to HTTPS; ``acme`` does the
    same with ACME certificates for public names (local names keep the internal CA): from
    ``acme_ca`` (a directory URL; empty: Let's Encrypt), whose HTTPS Caddy verifies against
    ``acme_ca_root`` (a PEM file's path inside the container) when given.
    """
    caddy_routes: list[dict[str, Any]] = [
        {"match": [{"host": list(route.hosts)}], "handle": _handlers(route, idle_timeout),
         "terminal": True}
        for route in sorted(routes, key=lambda r: r.slug)
    ]
    caddy_routes.append({"handle": [{
        "handler": "static_response", "status_code": 404,
        "headers": {"Content-Type": ["text/plain; charset=utf-8"]},
        "body": "No app is deployed at this address. (appforge)\n",
    }]})
    config: dict[str, Any] = {
        "admin": {"listen": f"unix/{_SOCKET_IN_CONTAINER}", "config": {"persist": False}},
        "storage": {"module": "file_system", "root": "/data/caddy"},
    }
    if tls == "off":
        config["apps"] = {"http": {"servers": {"appforge": {
            "listen": [f":{LISTEN_PORT}"], "automatic_https": {"disable": True},
            "routes": caddy_routes,
        }, "health": HEALTH_SERVER}}}
        return config
    hosts = sorted({h for route in routes for h in route.hosts})
    local = [h for h in hosts if is_local_name(h)]
    policies: list[dict[str, Any]] = []
    if tls == "acme" and acme_email:
        if local:
            policies.append({"subjects": local, "issuers": [{"module": "internal"}]})
        policies.append({"issuers": [acme_issuer(acme_email, acme_ca, acme_ca_root)]})
    else:
        policies.append({"issuers": [{"module": "internal"}]})
    port = "" if public_https_port == 443 else f":{public_https_port}"
    config["apps"] = {
        "http": {
            "http_port": LISTEN_PORT, "https_port": TLS_LISTEN_PORT,
            "servers": {
                "appforge": {"listen": [f":{TLS_LISTEN_PORT}"], "routes": caddy_routes,
                             "automatic_https": {"disable_redirects": True}},
                "health": HEALTH_SERVER,
                # Caddy's own redirects would name its port inside the container, not ours.
                "redirect": {"listen": [f":{LISTEN_PORT}"], "routes": [{"handle": [{
                    "handler": "static_response", "status_code": 308,
                    "headers": {"Location": [
                        f"https://{{http.request.host}}{port}{{http.request.uri}}"]},
                }]}]},
            },
        },
        "tls": {"automation": {"policies": policies}},
        # Caddy would try to add its root to the container's trust store; nobody reads it there.
        "pki": {"certificate_authorities": {"local": {"install_trust": False}}},
    }
    return config


def acme_issuer(email: str, ca: str = "", ca_root: str = "") -> dict[str, Any]:
    """Caddy's ACME issuer: the challenges are answered on the proxy's own ports (HTTP-01 on
    the HTTP server, TLS-ALPN-01 on the HTTPS one), which must be the public 80 and 443."""
    issuer: dict[str, Any] = {"module": "acme", "email": email}
    if ca:
        issuer["ca"] = ca
    if ca_root:
        issuer["trusted_roots_pem_files"] = [ca_root]
    return issuer


def is_local_name(host: str) -> bool:
    """Names no public CA will certify: they resolve only on this machine or network."""
    return host == "localhost" or host.rsplit(".", 1)[-1] in ("localhost", "local", "internal",
                                                              "test", "lan", "home")


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
                "bind": str(Path(_SOCKET_IN_CONTAINER).parent), "mode": "rw"},
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
    return settings.proxy_dir / "admin" / Path(_SOCKET_IN_CONTAINER).name


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
