"""The sandbox audit: a compliant app and proxy pass every rule, and each breach is caught.

The inspect dicts are shaped like what Docker 20.10 (API 1.41) returns for the containers appforge
starts; each breach changes one setting of a compliant dict.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from appforge.sandbox.audit import audit_container, failures
from appforge.sandbox.proxy import HEALTHCHECK

Attrs = dict[str, Any]


def app_attrs() -> Attrs:
    return {
        "Name": "/aftest-alpha-v1",
        "AppArmorProfile": "docker-default",
        "Config": {
            "User": "10001:10001",
            "Labels": {"io.appforge": "app", "io.appforge.instance": "aftest",
                       "io.appforge.app": "alpha", "io.appforge.version": "1"},
            "Healthcheck": {"Test": ["CMD", "python3", "-c", "..."], "Interval": 2_000_000_000},
        },
        "HostConfig": {
            "Binds": ["aftest-data-alpha:/data:rw"],
            "NetworkMode": "aftest-app-alpha",
            "PortBindings": None,
            "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
            "CapAdd": None,
            "CapDrop": ["ALL"],
            "IpcMode": "private",
            "PidMode": "",
            "UTSMode": "",
            "Privileged": False,
            "PublishAllPorts": False,
            "ReadonlyRootfs": True,
            "SecurityOpt": ["no-new-privileges:true"],
            "Tmpfs": {"/tmp": "rw,noexec,nosuid,nodev,size=64m"},
            "Memory": 268435456,
            "NanoCpus": 1_000_000_000,
            "CpuQuota": 0,
            "CpuPeriod": 0,
            "PidsLimit": 128,
            "LogConfig": {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}},
        },
        "Mounts": [{"Type": "volume", "Name": "aftest-data-alpha", "Destination": "/data",
                    "Source": "/var/lib/docker/volumes/aftest-data-alpha/_data", "RW": True}],
        "NetworkSettings": {"Ports": {}},
    }


def proxy_attrs() -> Attrs:
    attrs = app_attrs()
    attrs["Name"] = "/aftest-proxy"
    attrs["Config"]["Labels"] = {"io.appforge": "proxy", "io.appforge.instance": "aftest"}
    attrs["Config"]["User"] = "10002:10002"
    attrs["Config"]["Healthcheck"] = {"Test": HEALTHCHECK["test"],
                                      "Interval": HEALTHCHECK["interval"]}
    hc = attrs["HostConfig"]
    hc["RestartPolicy"] = {"Name": "unless-stopped", "MaximumRetryCount": 0}
    hc["PortBindings"] = {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]}
    hc["Binds"] = ["/home/me/.local/share/appforge/proxy/config:/etc/appforge:ro",
                   "/home/me/.local/share/appforge/proxy/admin:/run/appforge-admin:rw"]
    attrs["Mounts"] = [
        {"Type": "bind", "Source": "/home/me/.local/share/appforge/proxy/config",
         "Destination": "/etc/appforge", "RW": False},
        {"Type": "bind", "Source": "/home/me/.local/share/appforge/proxy/admin",
         "Destination": "/run/appforge-admin", "RW": True},
    ]
    attrs["NetworkSettings"]["Ports"] = {
        "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]}
    return attrs


def _failed(attrs: Attrs, **kwargs: Any) -> set[str]:
    return {f.rule for f in failures(audit_container(attrs, **kwargs))}


def _set(path: str, value: Any) -> Callable[[Attrs], None]:
    """A breach that sets one key, given as a dotted path (``HostConfig.Memory``)."""
    *parents, key = path.split(".")

    def apply(attrs: Attrs) -> None:
        for parent in parents:
            attrs = attrs[parent]
        attrs[key] = value
    return apply


def _bind(source: str, target: str) -> Callable[[Attrs], None]:
    def apply(attrs: Attrs) -> None:
        attrs["Mounts"].append({"Type": "bind", "Source": source, "Destination": target,
                                "RW": True})
    return apply


def _publish(host_ip: str) -> Callable[[Attrs], None]:
    def apply(attrs: Attrs) -> None:
        binding = [{"HostIp": host_ip, "HostPort": "8000"}]
        attrs["HostConfig"]["PortBindings"] = {"8000/tcp": binding}
        attrs["NetworkSettings"]["Ports"] = {"8000/tcp": binding}
    return apply


def _no_healthcheck(attrs: Attrs) -> None:
    del attrs["Config"]["Healthcheck"]


# (breach, rules it must fail): one per rule, and some of the other ways to break a rule.
APP_BREACHES: dict[str, tuple[Callable[[Attrs], None], set[str]]] = {
    "root user (unset)": (_set("Config.User", ""), {"4.1"}),
    "root user by name": (_set("Config.User", "root"), {"4.1"}),
    "root user by uid": (_set("Config.User", "0:10001"), {"4.1"}),
    "apparmor unconfined": (_set("AppArmorProfile", "unconfined"), {"5.1"}),
    "apparmor=unconfined option": (
        _set("HostConfig.SecurityOpt", ["no-new-privileges:true", "apparmor=unconfined"]),
        {"5.1"}),
    "capabilities kept": (_set("HostConfig.CapDrop", None), {"5.3"}),
    "one capability dropped only": (_set("HostConfig.CapDrop", ["NET_RAW"]), {"5.3"}),
    "capability added back": (_set("HostConfig.CapAdd", ["NET_BIND_SERVICE"]), {"5.3"}),
    # a privileged container also runs without seccomp and AppArmor
    "privileged": (_set("HostConfig.Privileged", True), {"5.4", "5.1", "5.21"}),
    "host root mounted": (_bind("/", "/host"), {"5.5"}),
    "host /etc mounted": (_bind("/etc", "/host-etc"), {"5.5"}),
    "a file under /proc mounted": (_bind("/proc/sys/kernel", "/k"), {"5.5"}),
    "host /sys via Binds": (_set("HostConfig.Binds", ["/sys:/sys:ro"]), {"5.5"}),
    "host /usr via Binds": (_set("HostConfig.Binds", ["/usr/lib/../lib:/l:ro"]), {"5.5"}),
    "port published": (_publish("127.0.0.1"), {"5.8"}),
    "every port published": (_set("HostConfig.PublishAllPorts", True), {"5.8"}),
    "host network": (_set("HostConfig.NetworkMode", "host"), {"5.9"}),
    "no memory limit": (_set("HostConfig.Memory", 0), {"5.10"}),
    "no CPU limit": (_set("HostConfig.NanoCpus", 0), {"5.11"}),
    "writable root": (_set("HostConfig.ReadonlyRootfs", False), {"5.12"}),
    "restart always": (_set("HostConfig.RestartPolicy", {"Name": "always"}), {"5.14"}),
    "never restarted": (_set("HostConfig.RestartPolicy", {"Name": "no"}), {"5.14"}),
    "no restart policy": (_set("HostConfig.RestartPolicy", None), {"5.14"}),
    "restart on-failure forever": (
        _set("HostConfig.RestartPolicy", {"Name": "on-failure", "MaximumRetryCount": 0}),
        {"5.14"}),
    "restart on-failure 10 times": (
        _set("HostConfig.RestartPolicy", {"Name": "on-failure", "MaximumRetryCount": 10}),
        {"5.14"}),
    "host PID namespace": (_set("HostConfig.PidMode", "host"), {"5.15"}),
    "another container's PID namespace": (_set("HostConfig.PidMode", "container:abc"), {"5.15"}),
    "host IPC namespace": (_set("HostConfig.IpcMode", "host"), {"5.16"}),
    "host UTS namespace": (_set("HostConfig.UTSMode", "host"), {"5.20"}),
    "seccomp unconfined": (
        _set("HostConfig.SecurityOpt", ["no-new-privileges:true", "seccomp=unconfined"]),
        {"5.21"}),
    "seccomp:unconfined": (
        _set("HostConfig.SecurityOpt", ["no-new-privileges", "seccomp:unconfined"]), {"5.21"}),
    "new privileges allowed": (_set("HostConfig.SecurityOpt", None), {"5.25"}),
    "no-new-privileges=false": (
        _set("HostConfig.SecurityOpt", ["no-new-privileges=false"]), {"5.25"}),
    "no healthcheck": (_no_healthcheck, {"5.26"}),
    "healthcheck disabled": (_set("Config.Healthcheck", {"Test": ["NONE"]}), {"5.26"}),
    "no pids limit": (_set("HostConfig.PidsLimit", None), {"5.28"}),
    "unlimited pids": (_set("HostConfig.PidsLimit", -1), {"5.28"}),
    "docker socket": (_bind("/var/run/docker.sock", "/var/run/docker.sock"), {"5.31", "5.5"}),
    "docker socket elsewhere": (_bind("/run/docker.sock", "/engine.sock"), {"5.31", "5.5"}),
    "docker socket via Binds": (
        _set("HostConfig.Binds", ["/run/docker.sock:/docker.sock"]), {"5.31", "5.5"}),
    "no tmpfs /tmp": (_set("HostConfig.Tmpfs", None), {"AF1"}),
    "logs not rotated": (_set("HostConfig.LogConfig", {"Type": "json-file", "Config": {}}),
                         {"AF2"}),
    "logs rotated without a size": (
        _set("HostConfig.LogConfig.Config", {"max-size": "-1", "max-file": "3"}), {"AF2"}),
    "logs to journald": (_set("HostConfig.LogConfig", {"Type": "journald", "Config": {}}),
                         {"AF2"}),
}


def test_compliant_app_passes_every_rule() -> None:
    findings = audit_container(app_attrs())
    assert failures(findings) == []
    assert [f.rule for f in findings] == [
        "4.1", "5.1", "5.3", "5.4", "5.5", "5.8", "5.9", "5.10", "5.11", "5.12", "5.14", "5.15",
        "5.16", "5.20", "5.21", "5.25", "5.26", "5.28", "5.31", "AF1", "AF2"]


@pytest.mark.parametrize("breach", list(APP_BREACHES))
def test_each_breach_of_an_app_container_is_caught(breach: str) -> None:
    apply, rules = APP_BREACHES[breach]
    attrs = copy.deepcopy(app_attrs())
    apply(attrs)
    assert _failed(attrs) == rules
    for finding in failures(audit_container(attrs)):
        assert finding.detail, finding  # a failure always says what was found


def test_healthcheck_may_come_from_the_image() -> None:
    attrs = app_attrs()
    image = {"Config": {"Healthcheck": attrs["Config"].pop("Healthcheck")}}
    assert _failed(attrs) == {"5.26"}
    assert _failed(attrs, image=image) == set()


def test_cpu_quota_counts_as_a_cpu_limit() -> None:
    attrs = app_attrs()
    attrs["HostConfig"].update(NanoCpus=0, CpuQuota=50_000, CpuPeriod=100_000)
    (cpu,) = [f for f in audit_container(attrs) if f.rule == "5.11"]
    assert cpu.passed and cpu.detail == "0.5 CPU"


def test_host_without_apparmor_passes() -> None:
    attrs = app_attrs()
    attrs["AppArmorProfile"] = ""
    assert _failed(attrs) == set()


def test_local_log_driver_and_no_logs_count_as_bounded() -> None:
    for log in ({"Type": "local", "Config": {}}, {"Type": "none", "Config": {}}):
        attrs = app_attrs()
        attrs["HostConfig"]["LogConfig"] = log
        assert _failed(attrs) == set(), log


def test_compliant_proxy_passes_every_rule_and_has_a_healthcheck() -> None:
    findings = audit_container(proxy_attrs())
    assert failures(findings) == []
    assert "5.26" in {f.rule for f in findings}
    attrs = proxy_attrs()
    del attrs["Config"]["Healthcheck"]
    assert _failed(attrs) == {"5.26"}


def test_proxy_may_publish_on_the_configured_bind_address() -> None:
    attrs = proxy_attrs()
    binding = [{"HostIp": "192.0.2.10", "HostPort": "80"}]
    attrs["HostConfig"]["PortBindings"] = {"8080/tcp": binding}
    attrs["NetworkSettings"]["Ports"] = {"8080/tcp": binding}
    assert _failed(attrs) == {"5.8"}
    assert _failed(attrs, bind_address="192.0.2.10") == set()


PROXY_BREACHES: dict[str, tuple[Callable[[Attrs], None], set[str]]] = {
    "published on every interface": (_publish(""), {"5.8"}),
    "published on 0.0.0.0": (_publish("0.0.0.0"), {"5.8"}),
    "every port published": (_set("HostConfig.PublishAllPorts", True), {"5.8"}),
    "runs as root": (_set("Config.User", ""), {"4.1"}),
    "no CPU limit": (_set("HostConfig.NanoCpus", 0), {"5.11"}),
    "restart always": (_set("HostConfig.RestartPolicy", {"Name": "always"}), {"5.14"}),
    "docker socket": (_bind("/var/run/docker.sock", "/var/run/docker.sock"), {"5.31", "5.5"}),
    "host /var/run mounted": (_bind("/var/run", "/host-run"), {"5.31", "5.5"}),
}


@pytest.mark.parametrize("breach", list(PROXY_BREACHES))
def test_each_breach_of_the_proxy_is_caught(breach: str) -> None:
    apply, rules = PROXY_BREACHES[breach]
    attrs = copy.deepcopy(proxy_attrs())
    apply(attrs)
    assert _failed(attrs) == rules


def test_unlabelled_container_is_held_to_the_app_rules() -> None:
    attrs = proxy_attrs()
    attrs["Config"]["Labels"] = {}
    assert _failed(attrs) == {"5.8"}


def test_an_app_restarted_unless_stopped_passes_and_the_audit_says_why() -> None:
    (rule,) = [f for f in audit_container(app_attrs()) if f.rule == "5.14"]
    assert rule.passed
    assert "about one start a minute" in rule.detail and "crash-looping" in rule.detail


def test_on_failure_with_a_few_retries_still_passes_for_apps_and_the_proxy() -> None:
    for attrs in (app_attrs(), proxy_attrs()):
        attrs["HostConfig"]["RestartPolicy"] = {"Name": "on-failure", "MaximumRetryCount": 3}
        assert _failed(attrs) == set()
