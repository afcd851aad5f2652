"""Checking running containers against the sandbox's rules, from what the engine reports.

The rules are DESIGN.md's sandbox section, numbered after the container-runtime section (5) of the
CIS Docker Benchmark (v1.6.0) where it has a recommendation, ``4.1`` for the non-root user and
``AF`` for appforge's own rules (a tmpfs ``/tmp``, bounded logs). Every check reads only the
``docker inspect`` dict of a container, so tests can feed hand-built dicts and the bench can audit
a live installation with the same code. A container's role comes from its ``io.appforge`` label:
``proxy`` gets the proxy's rules (it may publish ports, on the bind address only); anything else is
held to the app rules.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appforge.sandbox.engine import LABEL

if TYPE_CHECKING:
    import docker

PROXY = "proxy"
#: Host folders whose mount gives a container a view of (or a hand on) the host (CIS 5.5).
SENSITIVE_PATHS = ("/", "/boot", "/dev", "/etc", "/proc", "/sys", "/usr", "/var/run", "/run")
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
#: The most retries an ``on-failure`` restart policy may have (CIS 5.14's own advice).
MAX_RESTARTS = 5
#: Why ``unless-stopped`` is allowed as well, and what appforge starts its containers with.
UNLESS_STOPPED_WHY = (
    "unless-stopped: no cap, but the engine's backoff (100 ms doubling to 1 min) bounds a crash "
    "loop to about one start a minute, and `appforge list`/`show` report it as crash-looping")


@dataclass(frozen=True)
class Finding:
    """The verdict of one rule on one container."""

    rule: str
    title: str
    passed: bool
    detail: str = ""


def role_of(attrs: dict[str, Any]) -> str:
    """``app``, ``proxy`` or whatever else the ``io.appforge`` label says (``?`` when absent)."""
    return ((attrs.get("Config") or {}).get("Labels") or {}).get(LABEL) or "?"


def audit_container(attrs: dict[str, Any], image: dict[str, Any] | None = None,
                    bind_address: str = "127.0.0.1") -> list[Finding]:
    """Check one container's inspect dict against every rule that applies to its role.

    ``image`` is the image's inspect dict, consulted for the healthcheck when the container's own
    config has none; ``bind_address`` is the address the proxy is configured to publish on.
    """
    proxy = role_of(attrs) == PROXY
    findings = [check(attrs) for check in _RULES]
    findings.append(_proxy_ports(attrs, bind_address) if proxy else _no_published_ports(attrs))
    findings.append(_healthcheck(attrs, image))
    return sorted(findings, key=_rule_order)


def audit_instance(client: docker.DockerClient, instance: str,
                   bind_address: str = "127.0.0.1") -> dict[str, list[Finding]]:
    """Audit every running container of one installation, by container name."""
    from docker.errors import DockerException

    report = {}
    for container in client.containers.list(
            filters={"label": f"{LABEL}.instance={instance}"}, ignore_removed=True):
        try:
            image = client.api.inspect_image(container.attrs["Image"])
        except DockerException:
            image = None
        report[container.name] = audit_container(container.attrs, image, bind_address)
    return dict(sorted(report.items()))


def failures(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.passed]


def _rule_order(finding: Finding) -> tuple[int, int]:
    """CIS numbers in numeric order (5.9 before 5.10), appforge's own rules last."""
    section, _, number = finding.rule.removeprefix("AF").rpartition(".")
    return (int(section) if section else 99, int(number))


# The rules, in the benchmark's order. ----------------------------------------------------------

def _host_config(attrs: dict[str, Any]) -> dict[str, Any]:
    return attrs.get("HostConfig") or {}


def _security_opts(attrs: dict[str, Any]) -> list[str]:
    return [opt.replace(":", "=", 1) for opt in _host_config(attrs).get("SecurityOpt") or []]


def _non_root_user(attrs: dict[str, Any]) -> Finding:
    user = (attrs.get("Config") or {}).get("User") or ""
    name = user.split(":", 1)[0]
    ok = name not in ("", "root", "0")
    return Finding("4.1", "runs as a non-root user", ok,
                   f"user {user}" if ok else f"runs as root (user {user or 'unset'})")


def _apparmor(attrs: dict[str, Any]) -> Finding:
    profile = attrs.get("AppArmorProfile") or ""
    unconfined = profile == "unconfined" or "apparmor=unconfined" in _security_opts(attrs) \
        or bool(_host_config(attrs).get("Privileged"))
    detail = f"profile {profile}" if profile else "AppArmor is not enabled on this host"
    return Finding("5.1", "AppArmor profile is not unconfined", not unconfined,
                   "unconfined" if unconfined else detail)


def _capabilities(attrs: dict[str, Any]) -> Finding:
    hc = _host_config(attrs)
    dropped = [c.upper().removeprefix("CAP_") for c in hc.get("CapDrop") or []]
    added = hc.get("CapAdd") or []
    ok = "ALL" in dropped and not added
    detail = "drops ALL, adds none" if ok else \
        f"drops {','.join(dropped) or 'nothing'}, adds {','.join(added) or 'nothing'}"
    return Finding("5.3", "all capabilities dropped", ok, detail)


def _not_privileged(attrs: dict[str, Any]) -> Finding:
    privileged = bool(_host_config(attrs).get("Privileged"))
    return Finding("5.4", "not privileged", not privileged, "privileged" if privileged else "")


def _bind_mounts(attrs: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(host source, container destination) of every bind mount, however it was requested."""
    for mount in attrs.get("Mounts") or []:
        if mount.get("Type") == "bind":
            yield mount.get("Source") or "", mount.get("Destination") or ""
    for mount in _host_config(attrs).get("Mounts") or []:
        if mount.get("Type") == "bind":
            yield mount.get("Source") or "", mount.get("Target") or ""
    for bind in _host_config(attrs).get("Binds") or []:
        source, _, rest = bind.partition(":")
        if source.startswith("/"):
            yield source, rest.split(":", 1)[0]


def _is_sensitive(source: str) -> bool:
    path = posixpath.normpath(source)
    return path == "/" or any(path == p or path.startswith(p + "/")
                              for p in SENSITIVE_PATHS if p != "/")


def _no_sensitive_mounts(attrs: dict[str, Any]) -> Finding:
    bad = sorted({src for src, _ in _bind_mounts(attrs) if _is_sensitive(src)})
    return Finding("5.5", "no sensitive host folder mounted", not bad,
                   f"mounts {', '.join(bad)}" if bad else "")


def _published(attrs: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(container port, host ip, host port) of every published port, configured or live."""
    found = set()
    sources = [_host_config(attrs).get("PortBindings") or {},
               (attrs.get("NetworkSettings") or {}).get("Ports") or {}]
    for ports in sources:
        for port, bindings in ports.items():
            for b in bindings or []:
                found.add((port, b.get("HostIp") or "", b.get("HostPort") or ""))
    return sorted(found)


def _show(ports: list[tuple[str, str, str]]) -> str:
    return ", ".join(f"{ip or '0.0.0.0'}:{hport}->{port}" for port, ip, hport in ports)


def _no_published_ports(attrs: dict[str, Any]) -> Finding:
    ports = _published(attrs)
    every = bool(_host_config(attrs).get("PublishAllPorts"))
    ok = not ports and not every
    detail = "" if ok else (_show(ports) if ports else "publishes every exposed port")
    return Finding("5.8", "publishes no ports (only the proxy does)", ok, detail)


def _proxy_ports(attrs: dict[str, Any], bind_address: str) -> Finding:
    allowed = {"127.0.0.1", bind_address}
    ports = _published(attrs)
    stray = [p for p in ports if p[1] not in allowed]
    every = bool(_host_config(attrs).get("PublishAllPorts"))
    ok = not stray and not every
    detail = _show(stray or ports) + ("; publishes every exposed port" if every else "")
    return Finding("5.8", f"publishes ports only on {' or '.join(sorted(allowed))}", ok, detail)


def _namespace(rule: str, kind: str, key: str, attrs: dict[str, Any]) -> Finding:
    mode = _host_config(attrs).get(key) or ""
    shared = mode == "host" or mode.startswith("container:")
    return Finding(rule, f"does not share the host's {kind} namespace", not shared,
                   f"{key}={mode or 'default'}")


def _host_network(attrs: dict[str, Any]) -> Finding:
    return _namespace("5.9", "network", "NetworkMode", attrs)


def _memory_limit(attrs: dict[str, Any]) -> Finding:
    memory = _host_config(attrs).get("Memory") or 0
    return Finding("5.10", "memory limit set", memory > 0,
                   f"{memory // 2**20} MiB" if memory > 0 else "no memory limit")


def _cpu_limit(attrs: dict[str, Any]) -> Finding:
    hc = _host_config(attrs)
    nano, quota = hc.get("NanoCpus") or 0, hc.get("CpuQuota") or 0
    period = hc.get("CpuPeriod") or 100_000
    if nano > 0:
        return Finding("5.11", "CPU limit set", True, f"{nano / 1e9:g} CPU")
    if quota > 0:
        return Finding("5.11", "CPU limit set", True, f"{quota / period:g} CPU")
    return Finding("5.11", "CPU limit set", False, "no CPU limit (NanoCpus and CpuQuota unset)")


def _read_only_root(attrs: dict[str, Any]) -> Finding:
    ro = bool(_host_config(attrs).get("ReadonlyRootfs"))
    return Finding("5.12", "read-only root filesystem", ro, "" if ro else "root is writable")


def _restart_policy(attrs: dict[str, Any]) -> Finding:
    """CIS 5.14 asks for on-failure with at most 5 retries, so a crashing container cannot
    restart without end. appforge starts apps and the proxy ``unless-stopped`` instead: an app
    that ran out of memory or crashed comes back without a person (on-failure:3 left it down,
    answering 502, after three kills), and the unbounded restarts are held to about one a minute
    by the engine's backoff and reported as crash-looping. Refused: ``no`` (a crash is final),
    ``always`` (a stopped app comes back when the engine restarts) and on-failure without a cap
    (unbounded like unless-stopped, yet an app that exits 0 on the engine's SIGTERM at shutdown
    stays down after an engine restart)."""
    policy = _host_config(attrs).get("RestartPolicy") or {}
    name, retries = policy.get("Name") or "no", policy.get("MaximumRetryCount") or 0
    # on-failure with 0 retries means "retry forever".
    ok = name == "unless-stopped" or (name == "on-failure" and 0 < retries <= MAX_RESTARTS)
    title = f"restart policy unless-stopped or on-failure with at most {MAX_RESTARTS} retries"
    detail = f"{name}:{retries}" if name == "on-failure" else name
    if name == "unless-stopped":
        detail = UNLESS_STOPPED_WHY
    return Finding("5.14", title, ok, detail)


def _host_pid(attrs: dict[str, Any]) -> Finding:
    return _namespace("5.15", "PID", "PidMode", attrs)


def _host_ipc(attrs: dict[str, Any]) -> Finding:
    return _namespace("5.16", "IPC", "IpcMode", attrs)


def _host_uts(attrs: dict[str, Any]) -> Finding:
    return _namespace("5.20", "UTS", "UTSMode", attrs)


def _seccomp(attrs: dict[str, Any]) -> Finding:
    unconfined = "seccomp=unconfined" in _security_opts(attrs) \
        or bool(_host_config(attrs).get("Privileged"))
    custom = any(opt.startswith("seccomp=") for opt in _security_opts(attrs))
    detail = "unconfined" if unconfined else ("custom profile" if custom else "default profile")
    return Finding("5.21", "seccomp profile is not unconfined", not unconfined, detail)


def _no_new_privileges(attrs: dict[str, Any]) -> Finding:
    ok = any(opt in ("no-new-privileges", "no-new-privileges=true")
             for opt in _security_opts(attrs))
    return Finding("5.25", "no-new-privileges set", ok, "" if ok else "missing from SecurityOpt")


def _healthcheck(attrs: dict[str, Any], image: dict[str, Any] | None) -> Finding:
    check = (attrs.get("Config") or {}).get("Healthcheck") \
        or ((image or {}).get("Config") or {}).get("Healthcheck") or {}
    test = check.get("Test") or []
    ok = bool(test) and test[0] != "NONE"
    interval = check.get("Interval") or 0
    every = f"every {interval / 1e9:g} s" if interval else "at the default interval"
    detail = every if ok else ("disabled" if test else "no healthcheck")
    return Finding("5.26", "healthcheck defined", ok, detail)


def _pids_limit(attrs: dict[str, Any]) -> Finding:
    pids = _host_config(attrs).get("PidsLimit") or 0
    return Finding("5.28", "PIDs limit set", pids > 0, str(pids) if pids > 0 else "unlimited")


def _no_docker_socket(attrs: dict[str, Any]) -> Finding:
    bad = sorted({src for src, dst in _bind_mounts(attrs)
                  if posixpath.normpath(src) in (*DOCKER_SOCKETS, "/var/run", "/run")
                  or src.endswith("docker.sock") or dst.endswith("docker.sock")})
    return Finding("5.31", "Docker socket not mounted", not bad,
                   f"mounts {', '.join(bad)}" if bad else "")


def _tmpfs_tmp(attrs: dict[str, Any]) -> Finding:
    hc = _host_config(attrs)
    options = (hc.get("Tmpfs") or {}).get("/tmp")
    ok = options is not None or any(
        m.get("Type") == "tmpfs" and m.get("Destination", m.get("Target")) == "/tmp"
        for m in [*(attrs.get("Mounts") or []), *(hc.get("Mounts") or [])])
    return Finding("AF1", "/tmp is a tmpfs", ok,
                   (options or "tmpfs mount") if ok else "/tmp is on the root filesystem")


def _bounded_logs(attrs: dict[str, Any]) -> Finding:
    """The engine keeps a container's logs on the host's disk: they must rotate (json-file with
    a max-size, or the local driver, which rotates unless told not to), or not be kept at all."""
    log = _host_config(attrs).get("LogConfig") or {}
    driver, options = log.get("Type") or "json-file", log.get("Config") or {}
    size, files = options.get("max-size", ""), options.get("max-file", "")
    if driver == "json-file":
        ok = size not in ("", "-1")
        detail = f"json-file, {files or 1} × {size}" if ok else "json-file without max-size"
    elif driver == "local":
        ok = size not in ("-1", "0")
        detail = f"local, {files or 5} × {size or '20m'}" if ok else "local without max-size"
    else:
        ok = driver == "none"
        detail = "not kept" if ok else f"driver {driver}: no size cap appforge can check"
    return Finding("AF2", "logs are bounded", ok, detail)


#: The rules every container gets; the ports depend on the role.
_RULES: list[Callable[[dict[str, Any]], Finding]] = [
    _non_root_user, _apparmor, _capabilities, _not_privileged, _no_sensitive_mounts,
    _host_network, _memory_limit, _cpu_limit, _read_only_root, _restart_policy, _host_pid,
    _host_ipc, _host_uts, _seccomp, _no_new_privileges, _pids_limit, _no_docker_socket,
    _tmpfs_tmp, _bounded_logs,
]
