"""The ``compose.yaml`` of an exported app: its live version with appforge's hardening.

The hardening is not restated here: :func:`hardening` translates what
``sandbox.hardening.hardened_run_kwargs`` gives every app container into Compose keys, and refuses
a key it does not know, so a flag added there fails the export (and its unit test) instead of
silently missing from the file. The app's health check is read from the version's own Dockerfile.

What differs from appforge, by necessity: there is no proxy, so the app publishes its port on
loopback itself (``APP_ADDRESS``/``APP_PORT``), and its network is Compose's default one, not an
internal network with no egress. An app on Postgres gets its server as the service ``db``, on an
internal network only the app shares, run as appforge runs it (same image, script, limits).
The file is plain YAML that ``docker compose`` (v2) and ``docker-compose`` 1.29 both read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appforge.sandbox.containers import APP_PORT
from appforge.sandbox.hardening import Limits, hardened_run_kwargs, size_in_bytes

if TYPE_CHECKING:
    from appforge.config import Settings

#: What ``build:`` starts from where appforge's bootstrapped base image is not there.
PUBLIC_BASE_IMAGE = "python:3.11-slim-bookworm"
DB_PASSWORD = "${DB_PASSWORD:?set DB_PASSWORD (the .env file written by appforge export has one)}"
HEADER = """\
# {title}: v{version} of the appforge app {slug}, as appforge runs it.
# Start: docker compose up -d (or docker-compose up -d); then http://127.0.0.1:${{APP_PORT}}
# (default 8000). The hardening below is appforge's own (sandbox/hardening.py): non-root,
# read-only root filesystem with a small tmpfs /tmp, no capabilities, no-new-privileges, an
# init process, memory/CPU/process limits and rotated json-file logs. See README.md.
"""


@dataclass(frozen=True)
class Target:
    """What the compose file runs: one version of one app."""

    slug: str
    title: str
    version: int
    image: str
    limits: Limits
    #: Compose's ``healthcheck`` mapping (None: the image's own applies).
    healthcheck: dict[str, Any] | None
    postgres: bool = False


def hardening(run_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``hardened_run_kwargs`` as Compose service keys. Unknown keys raise ValueError."""
    service: dict[str, Any] = {}
    for key, value in run_kwargs.items():
        if key in ("user", "read_only", "cap_drop", "security_opt", "mem_limit",
                   "memswap_limit", "pids_limit", "init"):
            service[key] = value
        elif key == "tmpfs":
            service["tmpfs"] = [f"{path}:{options}" for path, options in value.items()]
        elif key == "nano_cpus":
            service["cpus"] = value / 1e9
        elif key == "ipc_mode":
            service["ipc"] = value
        elif key == "log_config":
            service["logging"] = {"driver": value["type"], "options": dict(value["config"])}
        else:
            raise ValueError(f"no Compose key for the hardening flag {key!r}: add it to "
                             "appforge/export/compose.py")
    return service


def healthcheck_of(dockerfile: str) -> dict[str, Any] | None:
    """The Dockerfile's last ``HEALTHCHECK`` as a Compose ``healthcheck`` (None when none)."""
    found = None
    for line in dockerfile.splitlines():
        match = re.match(r"^\s*HEALTHCHECK\s+(.*)$", line, re.IGNORECASE)
        if match:
            found = match.group(1).strip()
    if found is None or found.upper() == "NONE":
        return None
    check: dict[str, Any] = {}
    while found.startswith("--"):
        option, _, found = found.partition(" ")
        name, _, value = option[2:].partition("=")
        check[name.replace("-", "_")] = int(value) if name == "retries" else value
        found = found.lstrip()
    command = re.sub(r"^CMD\s+", "", found, flags=re.IGNORECASE)
    try:
        argv = json.loads(command)
        test = ["CMD", *argv] if isinstance(argv, list) else ["CMD-SHELL", command]
    except ValueError:
        test = ["CMD-SHELL", command]
    return {"test": [_literal(part) for part in test], **check}


def document(settings: Settings, target: Target) -> dict[str, Any]:
    """The compose file's content, as data."""
    environment = {"APP_MAX_BODY_BYTES": str(target.limits.body_bytes),
                   "APP_UPLOAD_QUOTA_BYTES": str(size_in_bytes(settings.upload_quota))}
    app: dict[str, Any] = {
        "image": target.image,
        # Where the image is not on this machine (no `docker load` of the export's images/):
        # built from this folder; the README says how to fill wheels/ first.
        "build": {"context": ".", "target": "runtime",
                  "args": {"BASE_IMAGE": "${BASE_IMAGE:-" + PUBLIC_BASE_IMAGE + "}"}},
        "hostname": target.slug,
        "restart": "unless-stopped",
        "ports": ["${APP_ADDRESS:-127.0.0.1}:${APP_PORT:-8000}:" + str(APP_PORT)],
        "environment": environment,
        "volumes": ["data:/data"],
        **hardening(hardened_run_kwargs(settings, target.limits)),
    }
    if target.healthcheck:
        app["healthcheck"] = target.healthcheck
    services: dict[str, Any] = {"app": app}
    volumes: dict[str, Any] = {"data": {}}
    doc: dict[str, Any] = {"services": services, "volumes": volumes}
    if target.postgres:
        from appforge.sandbox import postgres

        environment["DATABASE_URL"] = (f"postgresql://{postgres.DB_USER}:{DB_PASSWORD}@db:"
                                       f"{postgres.PORT}/{postgres.DB_NAME}")
        app["depends_on"] = {"db": {"condition": "service_healthy"}}
        app["networks"] = ["default", "database"]
        services["db"] = _postgres_service(settings)
        volumes["postgres"] = {}
        doc["networks"] = {"database": {"internal": True}}
    return doc


def _postgres_service(settings: Settings) -> dict[str, Any]:
    """The app's Postgres server as ``sandbox/postgres.py`` runs it."""
    from appforge.sandbox import postgres
    from appforge.sandbox.base_images import POSTGRES_IMAGE

    limits = Limits.resolve(settings, memory=postgres.MEMORY, pids=postgres.PIDS)
    return {
        "image": POSTGRES_IMAGE,
        "command": ["/bin/sh", "-c", _literal(postgres.SERVER_SCRIPT)],
        "hostname": "db",
        "restart": "unless-stopped",
        "stop_signal": "SIGINT",
        "environment": {"PGDATA": postgres.PGDATA, "APPFORGE_DB_PASSWORD": DB_PASSWORD},
        "volumes": [f"postgres:{postgres.MOUNT}"],
        "networks": ["database"],
        "healthcheck": {"test": ["CMD", *postgres._READY_CHECK], "interval": "10s",
                        "timeout": "3s", "retries": 3, "start_period": "30s"},
        **hardening(hardened_run_kwargs(settings, limits)), "user": "postgres",
    }


def _literal(text: str) -> str:
    """A value Compose must not interpolate (``$`` is written ``$$``)."""
    return text.replace("$", "$$")


def render(settings: Settings, target: Target) -> str:
    """The compose file's text: a comment saying what it is, then the document as YAML."""
    head = HEADER.format(title=target.title.replace("\n", " "), version=target.version,
                         slug=target.slug)
    return head + "\n".join(_yaml(document(settings, target), 0)) + "\n"


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _yaml(value: dict[str, Any], indent: int) -> list[str]:
    """Block mappings; sequences and scalars in flow style (JSON, which YAML reads as is)."""
    lines = []
    pad = " " * indent
    for key, item in value.items():
        name = key if _PLAIN_KEY.match(key) else json.dumps(key)
        if isinstance(item, dict) and item:
            lines.append(f"{pad}{name}:")
            lines += _yaml(item, indent + 2)
        else:
            lines.append(f"{pad}{name}: {json.dumps(item)}")
    return lines

