"""connect's steps before the proxy, and reading certificates and ACME failures (no Docker)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from appforge.config import Settings
from appforge.domains.certificate import acme_failure, parse_certificate
from appforge.domains.connect import STEPS, DomainStepFailed, StepReport, connect
from appforge.store import Store
from tests.local_dns import LocalDns, ZoneProvider

ZONE = "bakery-shop.com"
NAME = f"www.{ZONE}"


@pytest.fixture
def zone() -> Iterator[LocalDns]:
    server = LocalDns(ZONE)
    yield server
    server.stop()


def _deployed(settings: Settings, slug: str, host: str) -> Store:
    store = Store(settings.db_path)
    store.upsert_app(slug, slug, slug.title(), "landing", host)
    store.set_domains(slug, [host])
    store.new_version(slug, "an app", {}, settings.workspaces)
    store.set_app_state(slug, status="running", current_version=1)
    return store


def test_steps_are_reported_and_a_name_that_never_resolves_stops_at_propagation(
        settings: Settings, zone: LocalDns, tmp_path: Path) -> None:
    settings = settings.model_copy(update={
        "public_ipv4": "203.0.113.7", "dns_resolvers": f"127.0.0.1:{zone.port}",
        "dns_propagation_timeout": 0.5})
    store = _deployed(settings, "bakery", "bakery.localhost")
    said: list[str] = []
    seen: list[StepReport] = []
    with pytest.raises(DomainStepFailed) as caught:
        connect(settings, store, None, NAME, "bakery", None, said.append, seen.append)
    error = caught.value
    assert error.step == "propagation"
    assert str(error).startswith(f"the propagation step failed: {NAME} did not resolve to "
                                 "A 203.0.113.7")
    assert [(r.step, r.status) for r in error.reports] == [("records", "skipped"),
                                                           ("propagation", "failed")]
    assert seen == error.reports
    # without a DNS provider the records to create by hand are printed
    assert f"  {NAME}. 300 IN A 203.0.113.7" in said
    assert store.domains("bakery") == ["bakery.localhost"]  # not attached

    # With a provider the records are made, and propagation passes; attach needs the proxy.
    provider = ZoneProvider(zone)
    with pytest.raises(DomainStepFailed) as caught:
        connect(settings, store, _engine_gone(tmp_path), NAME, "bakery", provider,
                said.append)
    assert [(r.step, r.status) for r in caught.value.reports[:2]] == [
        ("records", "done"), ("propagation", "done")]
    assert caught.value.step == "attach"
    assert "Docker engine did not answer" in str(caught.value)
    assert provider.records[0].content == "203.0.113.7"
    assert store.domains("bakery") == ["bakery.localhost"]  # the proxy refused: not attached
    assert STEPS == ("records", "propagation", "attach", "certificate", "check")


def _engine_gone(tmp_path: Path) -> object:
    """A real Docker client whose engine's socket is gone."""
    import docker

    return docker.DockerClient(base_url=f"unix://{tmp_path}/gone.sock", version="1.41")


def test_a_name_attached_to_another_app_is_refused_before_any_step(settings: Settings) -> None:
    store = _deployed(settings, "bakery", "bakery.localhost")
    Store(settings.db_path).upsert_app("shop", "shop", "Shop", "landing", "shop.localhost")
    store.set_domains("shop", ["shop.localhost", NAME])
    with pytest.raises(DomainStepFailed) as caught:
        connect(settings, store, None, NAME, "bakery", None, lambda _: None)
    assert caught.value.step == "attach"
    assert "already attached to app 'shop'" in str(caught.value)
    assert caught.value.reports == []


def test_a_certificate_is_read_without_trusting_it() -> None:
    import trustme

    ca = trustme.CA(organization_name="Pebble Test")
    der = ssl.PEM_cert_to_DER_cert(ca.issue_cert(NAME).cert_chain_pems[0].bytes().decode())
    state = parse_certificate(der, NAME)
    assert state.issuer == "Pebble Test" and not state.internal
    assert state.not_after.year >= 2030 and state.serial > 0


#: What Caddy 2.6.2 logged when Pebble could not reach it for either challenge (from a run of
#: tests/integration/test_acme_pebble.py; timestamps and order URLs shortened).
FAILED_ATTEMPT = [
    ('{"level":"info","ts":1.0,"logger":"tls.obtain","msg":"obtaining certificate",'
    '"identifier":"broken.bakery-pebble.com"}'),
    ('{"level":"error","ts":1.2,"logger":"http.acme_client","msg":"challenge failed",'
    '"identifier":"broken.bakery-pebble.com","challenge_type":"tls-alpn-01","status_code":403,'
    '"problem_type":"urn:ietf:params:acme:error:unauthorized",'
    '"error":"Failed to connect to 172.21.0.3:8443 for the tls-alpn-01 challenge"}'),
    ('{"level":"error","ts":1.3,"logger":"http.acme_client","msg":"challenge failed",'
    '"identifier":"broken.bakery-pebble.com","challenge_type":"http-01","status_code":400,'
    '"problem_type":"urn:ietf:params:acme:error:connection",'
    '"error":"Get \\"http://broken.bakery-pebble.com:8080/.well-known/acme-challenge/Zk2\\": '
    'dial tcp 172.21.0.3:8080: connect: connection refused"}'),
    ('{"level":"error","ts":1.4,"logger":"tls.obtain","msg":"could not get certificate from '
    'issuer","identifier":"broken.bakery-pebble.com","issuer":"pebble:14000-dir","error":'
    '"[broken.bakery-pebble.com] solving challenges: broken.bakery-pebble.com: no solvers '
    'available for remaining challenges (configured=[http-01 tls-alpn-01] offered=[http-01 '
    'tls-alpn-01 dns-01] remaining=[dns-01]) (order=https://pebble:14000/my-order/cn3) '
    '(ca=https://pebble:14000/dir)"}'),
]


def test_a_failed_attempt_in_the_proxy_log_names_the_step() -> None:
    name = "broken.bakery-pebble.com"
    assert acme_failure(FAILED_ATTEMPT[:3], name) is None  # still trying
    failure = acme_failure(FAILED_ATTEMPT, name)
    assert failure is not None and failure.cause == "reachability"
    assert str(failure).startswith(f"port 80/443 not reachable: the CA could not connect to "
                                   f"this server for {name} (tls-alpn-01: Failed to connect")
    assert failure.hint is not None
    assert failure.hint.endswith("the CA tried 172.21.0.3:8080, 172.21.0.3:8443")
    assert acme_failure(FAILED_ATTEMPT, "other.example.com") is None
    assert acme_failure(FAILED_ATTEMPT, name, since=1.5) is None  # an earlier attempt


def _line(logger: str, msg: str, error: str, **more: object) -> str:
    return json.dumps({"level": "error", "ts": 1.0, "logger": logger, "msg": msg,
                       "identifier": NAME, "error": error, **more})


@pytest.mark.parametrize(("problem", "error", "cause", "words"), [
    ("unauthorized", "The key authorization file from the server did not match", "dns",
     "does not point at this server yet"),
    ("dns", "DNS problem: NXDOMAIN looking up A", "dns", "does not point at this server yet"),
    ("tls", "remote error: tls: internal error", "reachability", "port 80/443 not reachable"),
    ("rejectedIdentifier", "Error creating new order :: policy forbids", "ca",
     "the CA refused to certify"),
])
def test_each_acme_problem_names_its_step(problem: str, error: str, cause: str,
                                          words: str) -> None:
    lines = ["not json", _line("http.log", "handled", "x"),
             _line("http.acme_client", "challenge failed", error,
                   problem_type=f"urn:ietf:params:acme:error:{problem}",
                   challenge_type="http-01"),
             _line("tls.obtain", "could not get certificate from issuer", "solving failed")]
    failure = acme_failure(lines, NAME)
    assert failure is not None and failure.cause == cause
    assert words in str(failure) and failure.hint


def test_an_attached_name_stays_through_a_rollback_and_a_detached_one_goes(
        tmp_path: Path) -> None:
    from appforge.domains.connect import attach_domain, detach_domain

    store = Store(tmp_path / "appforge.sqlite")
    store.upsert_app("sprout", "Sprout", "Sprout", "crud", "sprout.localhost")
    store.set_domains("sprout", ["sprout.localhost"])
    for n in (1, 2):
        made = store.new_version("sprout", f"v{n}", {"slug": "sprout"}, tmp_path / "apps")
        store.update_version("sprout", made.version,
                             settings={"limits": {}, "domains": ["sprout.localhost"]})
    store.set_app_state("sprout", status="running", current_version=2)
    attach_domain(store, "sprout", "shop.example.com")
    # v1's own settings are what a rollback to it adopts: they keep the name too
    assert [v.settings["domains"] for v in store.list_versions("sprout")] == [
        ["sprout.localhost", "shop.example.com"]] * 2
    detach_domain(store, "sprout", "shop.example.com")
    assert [v.settings["domains"] for v in store.list_versions("sprout")] == [
        ["sprout.localhost"]] * 2
    assert store.domains("sprout") == ["sprout.localhost"]
