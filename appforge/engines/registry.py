"""The cluster's private image registry: how an app's image reaches every Swarm node.

A build makes the image on the manager's engine; a task on another node needs it from
somewhere. appforge runs Debian's ``docker-registry`` (2.8, the CNCF distribution) as a Swarm
service on the manager, its image assembled from the package like the proxy's (nothing pulled
from Docker Hub), its blobs on a volume of the manager. Each version is pushed there and the
service names the image by digest (``host:port/instance/slug@sha256:...``), so what runs is
exactly what passed its tests, whatever is later pushed over a tag.

Nodes pull from ``settings.registry_address`` (``127.0.0.1:<port>`` on a single node, where the
engine allows plain HTTP; on several hosts the manager's address, which each node must trust:
``appforge cluster join-command`` prints how). The registry takes only appforge's own user
(htpasswd, its password in ``$APPFORGE_HOME/registry/credentials.json``, 0600): the manager logs
in to push, and passes the credential with each service it creates or updates, so a node pulls
without ever being given it (``--with-registry-auth``). Nobody else on the network pulls an
app's code or pushes over it.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appforge.errors import AppforgeError
from appforge.sandbox.base_images import _ensure
from appforge.sandbox.engine import LABEL

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

Log = Callable[[str], None]

#: docker-registry is one Go program; it links only libc.
REGISTRY_DEBS = ("docker-registry", "libc6")
REGISTRY_PACKAGES = ("docker-registry",)
#: Where the package's binary and its default configuration (filesystem storage) are.
REGISTRY_COMMAND = ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]
STORAGE = "/var/lib/docker-registry"


class RegistryError(AppforgeError):
    """The registry cannot be started or does not take an image."""


#: Where the htpasswd file is mounted in the registry (from ``$APPFORGE_HOME/registry``).
AUTH_DIR = "/auth"
USER = "appforge"


def registry_name(settings: Settings) -> str:
    return f"{settings.instance}-registry"


def address_of(settings: Settings) -> str:
    return settings.registry_address or f"127.0.0.1:{settings.registry_port}"


def credentials(settings: Settings) -> dict[str, str]:
    """appforge's user on the registry: made once (a random password), kept 0600; the htpasswd
    file beside it holds its bcrypt hash."""
    import bcrypt

    folder = settings.home / "registry"
    path = folder / "credentials.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    folder.mkdir(parents=True, exist_ok=True)
    found = {"username": USER, "password": secrets.token_urlsafe(24)}
    # The registry checks the hash on every request of every push and pull (a push is dozens):
    # at bcrypt's default cost (12) each check took 0.24 s of its CPU, 50 s in the swarm suite.
    # The password is 192 random bits, which no work factor makes harder to guess: cost 4
    # (the least, about 1 ms a check).
    hashed = bcrypt.hashpw(found["password"].encode(), bcrypt.gensalt(rounds=4)).decode()
    for name, text in (("htpasswd", f"{USER}:{hashed}\n"),
                       ("credentials.json", json.dumps(found) + "\n")):
        fd = os.open(folder / f".{name}.tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(folder / f".{name}.tmp", folder / name)
    return found


def login(client: docker.DockerClient, settings: Settings) -> dict[str, str]:
    """Log the manager's client in (pushes, and the auth every service create/update passes
    on to the nodes); returns the credential."""
    from docker.errors import APIError

    found = credentials(settings)
    address = address_of(settings)
    try:
        client.login(found["username"], found["password"], registry=address)
    except APIError as exc:
        raise RegistryError(
            f"this Docker engine cannot log in to the cluster's registry at {address}: "
            f"{exc.explanation or exc}", hint=trust_hint(address)) from None
    return found


def trust_hint(address: str) -> str:
    return (f"the registry speaks plain HTTP: add {address} to \"insecure-registries\" in "
            "/etc/docker/daemon.json on this host (the manager) as on every node, then reload "
            "dockerd (`kill -HUP $(pidof dockerd)`)")


def trusted(client: docker.DockerClient, address: str) -> bool:
    """Whether this engine pulls from and pushes to ``address`` over plain HTTP (loopback
    always; others only when listed in its insecure registries)."""
    import ipaddress

    host = address.rsplit(":", 1)[0].strip("[]")
    if host in ("localhost",) or host.startswith("127."):
        return True
    config = client.info().get("RegistryConfig") or {}
    if address in (config.get("IndexConfigs") or {}) and \
            not config["IndexConfigs"][address].get("Secure", True):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(cidr, strict=False)
               for cidr in config.get("InsecureRegistryCIDRs") or [])


def ensure_registry_image(client: docker.DockerClient, settings: Settings, log: Log) -> str:
    return _ensure(client, settings, settings.registry_image, "", REGISTRY_PACKAGES, log, None,
                   assemble_from=REGISTRY_DEBS)


def ensure_registry(client: docker.DockerClient, settings: Settings, node_id: str,
                    log: Log, timeout: float = 60) -> str:
    """Run the registry service on node ``node_id`` (the manager) if it is not there; wait until
    it answers; return its address."""
    import docker.types as dt
    from docker.errors import NotFound

    name = registry_name(settings)
    address = address_of(settings)
    if not trusted(client, address):
        raise RegistryError(f"this Docker engine does not trust the registry address {address}",
                            hint=trust_hint(address))
    auth = credentials(settings)
    try:
        client.services.get(name)
    except NotFound:
        image = ensure_registry_image(client, settings, log)
        labels = {LABEL: "registry", f"{LABEL}.instance": settings.instance}
        volume = f"{settings.instance}-registry-data"
        log(f"starting the image registry {name} on port {settings.registry_port}")
        client.services.create(
            image, name=name, command=REGISTRY_COMMAND[:1], args=REGISTRY_COMMAND[1:],
            labels=labels, container_labels=labels,
            env=[f"REGISTRY_HTTP_ADDR=0.0.0.0:{settings.registry_port}",
                 f"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY={STORAGE}",
                 "REGISTRY_STORAGE_DELETE_ENABLED=true",
                 "REGISTRY_AUTH_HTPASSWD_REALM=appforge",
                 f"REGISTRY_AUTH_HTPASSWD_PATH={AUTH_DIR}/htpasswd"],
            mounts=[dt.Mount(STORAGE, volume, type="volume", labels=labels),
                    dt.Mount(AUTH_DIR, str(Path(settings.home / "registry").resolve()),
                             type="bind", read_only=True)],
            constraints=[f"node.id=={node_id}"],
            endpoint_spec=dt.EndpointSpec(mode="dnsrr", ports={settings.registry_port: (
                settings.registry_port, "tcp", "host")}),
            restart_policy=dt.RestartPolicy(condition="any", delay=1_000_000_000),
            read_only=True, cap_drop=["ALL"], init=True,
            log_driver="json-file", log_driver_options={"max-size": "10m", "max-file": "3"},
        )
    _wait_answers(address, auth, timeout)
    return address


def _wait_answers(address: str, auth: dict[str, str], timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"http://{address}/v2/", timeout=2, verify=False,  # plain HTTP
                               auth=(auth["username"], auth["password"]))
            if answer.status_code == 200:
                return
            last = (f"it refused appforge's credential ({answer.status_code})"
                    if "Docker-Distribution-Api-Version" in answer.headers
                    else f"it answered {answer.status_code}, not as a registry")
        except httpx.HTTPError as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(0.3)
    raise RegistryError(f"the image registry at {address} did not answer within {timeout:.0f} s: "
                        f"{last}", hint="`docker service ps "
                        "<instance>-registry` says why; is the port free on the manager?")


def push(client: docker.DockerClient, settings: Settings, image: str, slug: str,
         version: int, log: Log) -> str:
    """Push the local ``image`` for ``slug`` v``version``; return it named by digest."""
    address = address_of(settings)
    auth = login(client, settings)
    repository = f"{address}/{settings.instance}/{slug}"
    tag = f"v{version}"
    client.images.get(image).tag(repository, tag)
    digest = ""
    errors: list[str] = []
    start = time.monotonic()
    for chunk in client.api.push(repository, tag=tag, stream=True, decode=True,
                                 auth_config=auth):
        if "error" in chunk:
            errors.append(str(chunk["error"]))
        aux: dict[str, Any] = chunk.get("aux") or {}
        digest = aux.get("Digest", digest)
    if errors or not digest:
        raise RegistryError(f"pushing {slug} v{version} to the registry at {address} failed: "
                            f"{'; '.join(errors) or 'no digest came back'}",
                            hint="`appforge doctor` checks the registry")
    log(f"pushed {repository}:{tag} ({digest[:19]}) in {time.monotonic() - start:.1f} s")
    return f"{repository}@{digest}"


def remove_registry(client: docker.DockerClient, settings: Settings) -> list[str]:
    from docker.errors import NotFound

    try:
        client.services.get(registry_name(settings)).remove()
    except NotFound:
        return []
    return [f"service {registry_name(settings)}"]


def check(settings: Settings) -> str:
    """Whether the registry answers (for ``doctor``): '' when it does, else why not."""
    try:
        _wait_answers(address_of(settings), credentials(settings), 2)
    except RegistryError as exc:
        return str(exc)
    return ""
