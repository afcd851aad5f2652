"""ACME for real: the proxy gets certificates from Pebble for a name that DNS points here.

One installation with ``tls=acme`` against Pebble (Debian's package, in containers on the
installation's edge network); one app built by ``appforge build``; a DNS zone served by an
in-process DNS server (dnslib), where ``connect`` creates the name's record and waits for it to
propagate. Pebble's own DNS (challtestsrv) sends its validation to the proxy's address on the edge
network, so the challenges reach the proxy's real ports, as they would from the internet.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from appforge.config import Settings
from appforge.domains.certificate import (
    check_outside,
    served_certificate,
    stored_certificates,
    wait_for_certificate,
)
from appforge.domains.connect import DomainStepFailed, StepReport, connect
from appforge.sandbox.containers import purge_instance
from appforge.sandbox.proxy import edge_network, proxy_name
from appforge.store import Store
from tests.conftest import appforge_env, free_port
from tests.integration import pebble as pebble_server
from tests.integration.conftest import Installation
from tests.local_dns import LocalDns, ZoneProvider

pytestmark = pytest.mark.docker

ZONE = "bakery-pebble.com"
NAME = f"shop.{ZONE}"


@dataclass
class Acme:
    install: Installation
    client: Any
    store: Store
    slug: str
    zone: LocalDns
    dns: ZoneProvider
    pebble: pebble_server.Pebble
    proxy_ip: str  # on the edge network, where Pebble reaches the proxy


@pytest.fixture(scope="module")
def acme(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Acme]:
    home = tmp_path_factory.mktemp("appforge-acme")
    folder = tmp_path_factory.mktemp("pebble")
    instance, http_port, https_port = f"afacme{os.getpid()}", free_port(), free_port()
    listener_ca = pebble_server.write_listener_certificate(folder)
    zone = LocalDns(ZONE)
    values = {"tls": "acme", "https_port": str(https_port), "acme_email": "ops@bakery-pebble.com",
              "acme_ca": "https://pebble:14000/dir", "acme_ca_root": str(listener_ca),
              "public_ipv4": "127.0.0.1", "dns_resolvers": f"127.0.0.1:{zone.port}",
              "dns_propagation_timeout": "20"}
    env = appforge_env(home, instance, http_port) | {
        f"APPFORGE_{key.upper()}": value for key, value in values.items()}
    settings = Settings(home=home, instance=instance, http_port=http_port, **values)
    install = Installation(settings=settings, env=env | {"APPFORGE_SCREENSHOTS": "false"})
    try:
        built = install.run_json("build", "a landing page for a bakery")
        proxy = docker_client.containers.get(proxy_name(settings))
        proxy_ip = proxy.attrs["NetworkSettings"]["Networks"][edge_network(settings)]["IPAddress"]
        server = pebble_server.start(docker_client, settings, folder, proxy_ip)
        yield Acme(install, docker_client, Store(settings.db_path), built["slug"], zone,
                   ZoneProvider(zone), server, proxy_ip)
    finally:
        zone.stop()
        purge_instance(docker_client, instance)


def _https(acme: Acme, name: str, path: str = "/") -> httpx.Response:
    """GET https://NAME/ on the proxy's published port, verified against Pebble's root."""
    port = acme.install.settings.https_port
    trust = ssl.create_default_context(cafile=str(acme.pebble.root))
    with httpx.Client(verify=trust, timeout=10) as http:
        return http.get(f"https://127.0.0.1:{port}{path}", headers={"Host": name},
                        extensions={"sni_hostname": name})


def test_a_name_gets_a_certificate_from_pebble_and_serves_the_app_over_https(
        acme: Acme, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = acme.install.settings
    # The outside check trusts what the system trusts: here, Pebble's root.
    monkeypatch.setenv("SSL_CERT_FILE", str(acme.pebble.root))
    said: list[str] = []
    steps: list[StepReport] = []
    start = time.monotonic()
    reports = connect(settings, acme.store, acme.client, NAME, acme.slug, acme.dns, said.append,
                      steps.append)
    first_answer = _https(acme, NAME)
    print(f"\nconnect → first HTTPS answer: {time.monotonic() - start:.1f} s "
          f"({', '.join(f'{r.step} {r.seconds:.1f} s' for r in reports)})")
    assert [(r.step, r.status) for r in reports] == [
        ("records", "done"), ("propagation", "done"), ("attach", "done"),
        ("certificate", "done"), ("check", "done")]
    assert steps == reports
    assert "created A shop.bakery-pebble.com → 127.0.0.1" in reports[0].detail
    assert "Pebble Intermediate" in reports[3].detail
    assert first_answer.status_code == 200
    assert "bakery" in first_answer.text.lower()
    assert NAME in acme.store.domains(acme.slug)

    # HTTP redirects to HTTPS at the proxy's public port.
    plain = httpx.get(f"http://127.0.0.1:{settings.http_port}/menu?day=1",
                      headers={"Host": NAME}, follow_redirects=False)
    assert plain.status_code == 308
    assert plain.headers["location"] == f"https://{NAME}:{settings.https_port}/menu?day=1"

    # Once connected, connect again is a quick no-op that says so.
    again = connect(settings, acme.store, acme.client, NAME, acme.slug, acme.dns,
                    lambda _: None)
    assert "was already attached" in again[2].detail
    assert "the proxy has a certificate" in again[3].detail

    # A renewal, forced as memo §6 says: the stored certificate deleted, the proxy restarted.
    before = served_certificate(settings, NAME)
    assert before is not None and not before.internal
    proxy = acme.client.containers.get(proxy_name(settings))
    proxy.stop(timeout=5)
    stored = stored_certificates(settings, NAME)
    assert stored, "Caddy stores the certificate under its data folder"
    for path in stored:
        shutil.rmtree(path.parent)
    restarted = time.time() - 1
    proxy.start()
    renewed = wait_for_certificate(acme.client, settings, NAME, lambda _: None, timeout=90,
                                   since=restarted)
    assert renewed.serial != before.serial
    assert _https(acme, NAME).status_code == 200
    assert "answers HTTP 200" in check_outside(settings, NAME, lambda _: None,
                                               ca_bundle=acme.pebble.root)


def test_a_failed_challenge_names_the_step_the_app_keeps_serving_and_attach_resumes(
        acme: Acme) -> None:
    settings = acme.install.settings
    broken = f"broken.{ZONE}"
    # Public DNS says here; the CA's DNS says another machine, where nothing listens.
    acme.pebble.point(broken, acme.pebble.challtestsrv_ip)
    with pytest.raises(DomainStepFailed) as caught:
        connect(settings, acme.store, acme.client, broken, acme.slug, acme.dns, lambda _: None)
    error = caught.value
    assert error.step == "certificate", acme.pebble.logs()
    assert str(error).startswith("the certificate step failed: port 80/443 not reachable")
    assert "ports 80 and 443" in (error.hint or "")
    assert [(r.step, r.status) for r in error.reports] == [
        ("records", "done"), ("propagation", "done"), ("attach", "done"),
        ("certificate", "failed")]
    # The app still answers at its own name (the proxy's own CA) and at the connected one.
    own = acme.store.domains(acme.slug)[0]
    with httpx.Client(verify=False, timeout=10) as http:
        response = http.get(f"https://127.0.0.1:{settings.https_port}/", headers={"Host": own},
                            extensions={"sni_hostname": own})
    assert response.status_code == 200
    assert _https(acme, NAME).status_code == 200

    # Once the name points here, attaching it again (the CLI, as a user does) resumes: the
    # proxy tries at once, not after its backoff, and the name is served.
    acme.pebble.point(broken, acme.proxy_ip)
    env = acme.install.env | {"SSL_CERT_FILE": str(acme.pebble.root)}
    proc = acme.install.run_with_env(env, "domain", "attach", broken, acme.slug, "--json")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["connected"], proc.stderr
    assert [(s["step"], s["status"]) for s in result["steps"]] == [
        ("records", "skipped"), ("propagation", "done"), ("attach", "done"),
        ("certificate", "done"), ("check", "done")]
    assert "Pebble Intermediate" in result["steps"][3]["detail"]
    assert _https(acme, broken).status_code == 200


def test_search_buy_and_serve_a_name_end_to_end_through_the_cli(acme: Acme) -> None:
    """What a user types: search, buy with --app (the registrar's DNS, propagation, attach, a
    certificate, the outside check), list. The registrar is the fake Porkbun; its DNS changes
    reach the zone's real DNS server, as Porkbun's own nameservers would serve them."""
    from appforge.dns.records import DnsRecord
    from tests.fake_registrars import FakePorkbun

    name = ZONE  # the zone's apex: the name a person buys

    def published(_zone: str, records: list[dict[str, Any]]) -> None:
        acme.dns.ensure_records([DnsRecord(r["type"], r["name"], r["content"])
                                 for r in records if r["type"] in ("A", "AAAA", "CNAME")])

    with FakePorkbun() as porkbun:
        porkbun.on_records_change = published
        env = {k: v for k, v in acme.install.env.items()
               if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")} | {
            **porkbun.env(), "APPFORGE_DOMAIN_BUDGET": "20",
            "SSL_CERT_FILE": str(acme.pebble.root)}

        def cli(*args: str) -> Any:
            proc = acme.install.run_with_env(env, "domain", *args, "--json")
            return json.loads(proc.stdout.strip().splitlines()[-1])

        found = {row["name"]: row for row in cli("search", "bakery", "pebble", "--tlds", "com")
                 ["names"]}
        assert found[name]["buyable"] and found[name]["first_year"] == "$9.73"

        start = time.monotonic()
        bought = cli("buy", name, "--app", acme.slug, "--yes", "--max-price", "10")
        first_answer = _https(acme, name)
        took = time.monotonic() - start
        print(f"\ndomain buy → first HTTPS answer: {took:.1f} s "
              f"({', '.join(s['step'] for s in bought['steps'])})")
        assert (bought["state"], bought["charged"]) == ("registered", "$9.73")
        assert [(s["step"], s["status"]) for s in bought["steps"]] == [
            ("quote", "done"), ("dry_run", "done"), ("register", "done"), ("records", "done"),
            ("propagation", "done"), ("attach", "done"), ("certificate", "done"),
            ("check", "done")]
        assert first_answer.status_code == 200 and "bakery" in first_answer.text.lower()
        assert porkbun.charges == [(name, 973)]
        assert any(r["name"] == name and r["content"] == "127.0.0.1"
                   for r in porkbun.records[name])

        listed = {row["name"]: row for row in cli("list")}
        assert listed[name]["app"] == acme.slug and listed[name]["purchase"] == "registered"
        assert "Pebble" in listed[name]["certificate"]["issuer"]
        assert listed[name]["dns"]["state"] == "points-here"
        # Bought again (a retry, a second click): owned already, nothing charged.
        again = acme.install.run_with_env(env, "domain", "buy", name, "--app", acme.slug,
                                          "--yes", "--max-price", "10", "--json", check=False)
        assert porkbun.charges == [(name, 973)], again.stdout + again.stderr
