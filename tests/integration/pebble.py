"""Pebble, Let's Encrypt's ACME test server (Debian's package), in containers beside the proxy.

The image holds Debian's ``pebble`` package and libc, assembled from the debs like the proxy's
(``appforge/sandbox/debs.py``), once per machine (cached by tag). Two containers run from it on
the installation's edge network: ``pebble-challtestsrv`` as Pebble's DNS (every name resolves to
the proxy's address on that network unless a test says otherwise) and ``pebble`` itself, reached
by the proxy as ``https://pebble:14000/dir`` with a listener certificate made by ``trustme``.
Pebble validates HTTP-01 on port 8080 and TLS-ALPN-01 on 8443: the proxy's ports inside its
container. Its management port (the issuing root) and challtestsrv's are published on loopback.
"""

from __future__ import annotations

import json
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from appforge.config import Settings
from appforge.sandbox.base_images import image_exists, image_lock
from appforge.sandbox.engine import LABEL
from appforge.sandbox.proxy import edge_network

IMAGE = "appforge-test/pebble:bookworm-1"
DEBS = ("pebble", "libc6")
ENVIRONMENT = {
    "PEBBLE_VA_NOSLEEP": "1",  # no random sleep before validating
    "PEBBLE_WFE_NONCEREJECT": "0",  # no deliberately rejected nonces
    "PEBBLE_AUTHZREUSE": "0",  # a renewal validates again
}


def ensure_image(client: Any, settings: Settings) -> str:
    from appforge.sandbox.debs import assemble

    if image_exists(client, IMAGE):
        return IMAGE
    with image_lock(IMAGE):
        if not image_exists(client, IMAGE):
            assemble(client, settings, IMAGE, DEBS, lambda _line: None,
                     lambda _d, _t, _n: None)
    return IMAGE


@dataclass
class Pebble:
    directory: str  # as the proxy reaches it
    listener_ca: Path  # the CA of Pebble's HTTPS listener (APPFORGE_ACME_CA_ROOT)
    root: Path  # Pebble's issuing root, fetched once it runs
    challtestsrv_ip: str
    management: str  # challtestsrv's management API, on loopback
    containers: list[Any]

    def point(self, name: str, address: str) -> None:
        """Make Pebble's DNS answer ``address`` for ``name`` (instead of what it did)."""
        host = name.rstrip(".") + "."
        httpx.post(f"{self.management}/clear-a", json={"host": host}, timeout=5
                   ).raise_for_status()
        httpx.post(f"{self.management}/add-a", json={"host": host, "addresses": [address]},
                   timeout=5).raise_for_status()

    def logs(self) -> str:
        return "\n".join(c.logs(tail=40).decode(errors="replace") for c in self.containers)

    def remove(self) -> None:
        for container in self.containers:
            container.remove(force=True)


def write_listener_certificate(folder: Path) -> Path:
    """Pebble's config and HTTPS listener certificate in ``folder``; returns the CA's PEM."""
    import trustme

    ca = trustme.CA(organization_name="appforge test: Pebble listener")
    cert = ca.issue_cert("pebble", "localhost", "127.0.0.1")
    folder.mkdir(parents=True, exist_ok=True)
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    ca.cert_pem.write_to_path(str(folder / "listener-ca.pem"))
    (folder / "pebble.json").write_text(json.dumps({"pebble": {
        "listenAddress": "0.0.0.0:14000", "managementListenAddress": "0.0.0.0:15000",
        "certificate": "/cfg/cert.pem", "privateKey": "/cfg/key.pem",
        "httpPort": 8080, "tlsPort": 8443, "ocspResponderURL": "",
        "externalAccountBindingRequired": False}}))
    for path in folder.iterdir():
        path.chmod(0o644)
    folder.chmod(0o755)  # Pebble runs as nobody
    return folder / "listener-ca.pem"


def start(client: Any, settings: Settings, folder: Path, proxy_ip: str) -> Pebble:
    """Pebble and its DNS on the edge network of ``settings``' installation (the proxy runs)."""
    image = ensure_image(client, settings)
    edge = client.networks.get(edge_network(settings))
    labels = {LABEL: "test", f"{LABEL}.instance": settings.instance}
    common = {"detach": True, "labels": labels, "user": "65534:65534",
              "volumes": {str(folder): {"bind": "/cfg", "mode": "ro"}}}
    challtestsrv = client.containers.create(
        image, ["pebble-challtestsrv", "-defaultIPv4", proxy_ip, "-defaultIPv6", "",
                "-http01", "", "-https01", "", "-tlsalpn01", "", "-dns01", ":8053",
                "-management", ":8055"],
        name=f"{settings.instance}-challtestsrv", ports={"8055/tcp": ("127.0.0.1", None)},
        **common)
    edge.connect(challtestsrv)
    challtestsrv.start()
    challtestsrv.reload()
    dns_ip = challtestsrv.attrs["NetworkSettings"]["Networks"][edge.name]["IPAddress"]
    pebble = client.containers.create(
        image, ["pebble", "-strict=false", "-dnsserver", f"{dns_ip}:8053",
                "-config", "/cfg/pebble.json"],
        name=f"{settings.instance}-pebble", environment=ENVIRONMENT,
        ports={"15000/tcp": ("127.0.0.1", None)}, **common)
    edge.connect(pebble, aliases=["pebble"])
    pebble.start()
    pebble_management = f"https://127.0.0.1:{_published(_reloaded(pebble), 15000)}"
    dns_management = f"http://127.0.0.1:{_published(_reloaded(challtestsrv), 8055)}"
    listener_ca = folder / "listener-ca.pem"
    root = folder / "pebble-root.pem"
    root.write_text(_fetch_root(pebble_management, listener_ca, pebble))
    return Pebble(directory="https://pebble:14000/dir", listener_ca=listener_ca, root=root,
                  challtestsrv_ip=dns_ip, management=dns_management,
                  containers=[pebble, challtestsrv])


def _reloaded(container: Any) -> Any:
    container.reload()
    return container


def _published(container: Any, port: int) -> int:
    return int(container.attrs["NetworkSettings"]["Ports"][f"{port}/tcp"][0]["HostPort"])


def _fetch_root(management: str, listener_ca: Path, container: Any) -> str:
    """Pebble's issuing root (made anew at each start), once its management port answers."""
    deadline = time.monotonic() + 30  # a bound on a stuck start, not a speed requirement
    while True:
        try:
            response = httpx.get(f"{management}/roots/0", timeout=5,
                                 verify=ssl.create_default_context(cafile=str(listener_ca)))
            if response.status_code == 200:
                return response.text
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("Pebble did not start:\n" +
                                 container.logs(tail=30).decode(errors="replace"))
        time.sleep(0.2)
