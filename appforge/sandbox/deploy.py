"""Deploying a version: start it, wait until healthy, switch the route; the caller records it
and then stops the old one (:func:`retire_old_versions`).

A version that never turns healthy is removed and never routed, so whatever served before keeps
serving. ``verify`` then fetches the app through the proxy with its Host header, as a browser would.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from appforge.errors import UnhealthyDeployment
from appforge.sandbox import containers, proxy
from appforge.sandbox.caddy_config import Route, is_local_name
from appforge.sandbox.engine import LABEL
from appforge.sandbox.hardening import Limits

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

    from appforge.config import Settings

Log = Callable[[str], None]
#: Seconds both versions serve together before the old one is told to stop.
OVERLAP_SECONDS = 0.3


@dataclass
class Deployment:
    container: str
    upstream: str
    healthy_after: float
    #: The proxy route that serves the new version.
    route: Route


def deploy_version(client: docker.DockerClient, settings: Settings, slug: str, version: int,
                   image: str, hosts: list[str], other_routes: list[Route] | None,
                   log: Log, limits: Limits | None = None) -> Deployment:
    """Run ``image`` as ``slug`` v``version`` and route ``hosts`` to it beside ``other_routes``
    (blue/green). With ``other_routes`` None the caller switches the proxy to ``route`` itself
    (``tools.apps.deploy`` does, under the routes lock, from the store as it is then)."""
    proxy.ensure_proxy(client, settings, log)
    container, healthy_after = start_healthy(client, settings, slug, version, image, limits, log)
    log(f"{container.name} healthy after {healthy_after:.1f} s; switching {', '.join(hosts)}")
    route = Route(slug=slug, hosts=tuple(hosts), upstream=containers.upstream(settings, slug),
                        max_body=(limits or Limits.resolve(settings)).body_bytes)
    if other_routes is not None:
        proxy.apply_routes(client, settings, [*other_routes, route], log)
        pause_for_crash_tests(settings, "deploy:switched")
    return Deployment(container=container.name, upstream=route.upstream,
                      healthy_after=healthy_after, route=route)


def start_healthy(client: docker.DockerClient, settings: Settings, slug: str, version: int,
                  image: str, limits: Limits | None, log: Log) -> tuple[Container, float]:
    """Start the version's container, wait until it is healthy, and put it behind the app's
    alias; one that never turns healthy is removed (and the error raised)."""
    from docker.errors import DockerException

    container = containers.start_version(client, settings, slug, version, image, limits)
    pause_for_crash_tests(settings, "deploy:started")
    log(f"started {container.name}; waiting for /healthz")
    try:
        healthy_after = containers.wait_healthy(container, settings.health_timeout)
    except UnhealthyDeployment:
        try:
            container.remove(force=True)
        except DockerException:
            pass
        raise
    containers.promote(client, settings, slug, container)
    return container, healthy_after


def pause_for_crash_tests(settings: Settings, point: str) -> None:
    """Where a crash test kills appforge (``APPFORGE_TEST_PAUSE_AT``): say so in a file, then
    wait to be killed."""
    if settings.test_pause_at == point:
        Path(settings.test_pause_file).write_text(f"{os.getpid()} paused at {point}\n")
        time.sleep(3600)


def retire_old_versions(client: docker.DockerClient, settings: Settings, slug: str, keep: str,
                        log: Log) -> None:
    """Stop (gracefully) and remove every version's container but ``keep``: called once the
    store names ``keep``'s version the app's, so a crash in between leaves both serving and the
    store's choice wins (``reconcile`` stops the other)."""
    old = [c for c in client.containers.list(ignore_removed=True, all=True,
                                             filters=containers.app_filter(settings, slug))
           if c.name != keep and c.labels.get(LABEL) == "app"]
    if not old:
        return
    time.sleep(OVERLAP_SECONDS)
    for c in old:
        log(f"stopping {c.name}")
        if c.status == "running":
            # SIGTERM: uvicorn stops listening (new connections go to the new version), finishes
            # the requests it is serving, then exits.
            c.stop(timeout=10)
        c.remove(force=True)


def verify_hosts(client: docker.DockerClient, settings: Settings, hosts: list[str], name: str,
                 log: Log) -> None:
    """Fetch each of the app's names through the proxy until its page shows ``name`` (what a
    build's last stage and a rollback or start do before saying the app is live); raises
    :class:`UnhealthyDeployment` naming what it got when one does not answer."""
    # Local names carry the internal CA's certificates: check the chain, as a browser that
    # trusts it would. Public names wait for a public CA, which may be unreachable.
    local_ca = proxy.export_root_certificate(client, settings) \
        if settings.tls != "off" and any(map(is_local_name, hosts)) else None
    for host in hosts:
        ca = local_ca if is_local_name(host) else None
        status, seconds = verify(settings, host, html.escape(name), ca_file=ca)
        log(f"GET {settings.url_for(host)}/ → {status} in {seconds * 1000:.0f} ms")


def verify(settings: Settings, host: str, expect_text: str, attempts: int = 20,
           ca_file: Path | None = None) -> tuple[int, float]:
    """Fetch ``/`` and ``/healthz`` through the proxy, as a browser would; return (status, s).

    With TLS on, the request goes to the HTTPS port with the app's name as SNI, and the
    certificate is checked against ``ca_file`` (the proxy's internal CA) when given.
    """
    import ssl

    import httpx

    address = "127.0.0.1" if settings.bind_address in ("0.0.0.0", "127.0.0.1", "::") \
        else settings.bind_address
    if settings.tls == "off":
        # plain HTTP: nothing to verify, and no CA bundle to load (40-60 ms of CPU)
        base, verify_tls, extensions = f"http://{address}:{settings.http_port}", False, {}
    else:
        base = f"https://{address}:{settings.https_port}"
        verify_tls = ssl.create_default_context(cafile=str(ca_file)) if ca_file else False
        extensions = {"sni_hostname": host}
    last = ""
    with httpx.Client(base_url=base, headers={"Host": host}, timeout=5,
                      verify=verify_tls) as http:
        for _ in range(attempts):
            start = time.monotonic()
            try:
                page = http.get("/", extensions=extensions)
                health = http.get("/healthz", extensions=extensions)
            except httpx.HTTPError as exc:
                last = str(exc) or type(exc).__name__
            else:
                if page.status_code == 200 and health.status_code == 200 \
                        and expect_text in page.text:
                    return page.status_code, time.monotonic() - start
                last = f"/ gave {page.status_code}, /healthz gave {health.status_code}"
                if page.status_code == 200 and expect_text not in page.text:
                    last += f"; the page does not show {expect_text!r}"
            time.sleep(0.25)
    raise UnhealthyDeployment(f"{host} does not answer through the proxy: {last}")
