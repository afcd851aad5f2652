"""Caddy's configuration for appforge's proxy, as JSON: the routes by Host header to each app's
current container, body limits, retries and error pages, the proxy's own health server, and TLS
(Caddy's internal CA for local names, ACME for public ones). Pure data: the proxy container and
its admin API are ``sandbox/proxy.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

LISTEN_PORT = 8080  # inside the proxy container; unprivileged so it needs no capability
TLS_LISTEN_PORT = 8443
ADMIN_SOCKET_IN_CONTAINER = "/run/appforge-admin/admin.sock"


#: Where the proxy's health check asks, inside its container only (loopback, never published).
HEALTH_PORT = 8081
HEALTH_SERVER = {"listen": [f"127.0.0.1:{HEALTH_PORT}"], "automatic_https": {"disable": True},
                 "routes": [{"handle": [{"handler": "static_response", "status_code": 200,
                                         "body": "ok\n"}]}]}


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
        "admin": {"listen": f"unix/{ADMIN_SOCKET_IN_CONTAINER}", "config": {"persist": False}},
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
