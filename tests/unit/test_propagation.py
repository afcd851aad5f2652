"""Waiting for DNS to propagate, against real DNS servers in this process (dnslib)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from appforge.config import Settings
from appforge.dns.errors import DnsNotPropagated
from appforge.dns.propagation import wait_until_resolves
from appforge.dns.records import DnsRecord
from tests.local_dns import LocalDns, twin_servers

ZONE = "shop-example.com"
NAME = f"www.{ZONE}"


@pytest.fixture
def servers() -> Iterator[list[LocalDns]]:
    pair = twin_servers(ZONE)
    yield pair
    for server in pair:
        server.stop()


def _settings(settings: Settings, servers: list[LocalDns]) -> Settings:
    """Zones are found through the first server, as a resolver would find them."""
    return settings.model_copy(update={"dns_resolvers": f"127.0.0.2:{servers[0].port}"})


def test_a_name_that_every_server_answers_has_propagated(settings: Settings,
                                                         servers: list[LocalDns]) -> None:
    for server in servers:
        server.set_lines([f"{NAME}. 300 IN A 203.0.113.7", f"{NAME}. 300 IN AAAA 2001:db8::7"])
    said: list[str] = []
    answers = wait_until_resolves(NAME, [DnsRecord("A", NAME, "203.0.113.7"),
                                         DnsRecord("AAAA", NAME, "2001:db8::7")],
                                  _settings(settings, servers), said.append, timeout=10)
    assert sorted(a.server for a in answers) == [f"ns1.{ZONE}", f"ns2.{ZONE}"]
    assert all(a.ipv4 == {"203.0.113.7"} and a.ipv6 == {"2001:db8::7"} for a in answers)
    assert "at all 2 authoritative servers" in said[-1]


def test_a_lagging_server_is_waited_for_until_it_catches_up(settings: Settings,
                                                            servers: list[LocalDns]) -> None:
    fresh, lagging = servers
    fresh.set_lines([f"{NAME}. 300 IN A 203.0.113.7"])
    lagging.set_lines([f"{NAME}. 300 IN A 198.51.100.1"])  # the old address
    said: list[str] = []
    caught_up = threading.Event()

    def log(line: str) -> None:
        said.append(line)
        if line.startswith("not yet") and not caught_up.is_set():
            caught_up.set()  # the waiter has seen the old answer: now the server catches up
            lagging.set_lines([f"{NAME}. 300 IN A 203.0.113.7"])

    wait_until_resolves(NAME, ["203.0.113.7"], _settings(settings, servers), log, timeout=30,
                        interval=0.2)
    waiting = next(line for line in said if line.startswith("not yet"))
    assert f"ns2.{ZONE} (127.0.0.3) answers A 198.51.100.1" in waiting
    assert "ns1" not in waiting  # the server that already answers right is not named
    assert said[-1].startswith(f"{NAME} resolves to A 203.0.113.7 at all 2")


def test_a_cname_chain_is_followed_to_its_addresses(settings: Settings,
                                                    servers: list[LocalDns]) -> None:
    for server in servers:
        server.set_lines([f"{NAME}. 300 IN CNAME edge.{ZONE}.",
                          f"edge.{ZONE}. 300 IN CNAME apps.{ZONE}.",
                          f"apps.{ZONE}. 300 IN A 203.0.113.9"])
    answers = wait_until_resolves(NAME, [f"apps.{ZONE}"], _settings(settings, servers),
                                  lambda _: None, timeout=10)
    assert answers[0].chain == [f"edge.{ZONE}", f"apps.{ZONE}"]
    assert answers[0].ipv4 == {"203.0.113.9"}
    # the same chain, asked by the address it ends at
    wait_until_resolves(NAME, ["203.0.113.9"], _settings(settings, servers), lambda _: None,
                        timeout=10)


def test_a_name_that_never_resolves_fails_saying_what_each_server_answers(
        settings: Settings, servers: list[LocalDns]) -> None:
    servers[0].set_lines([f"{NAME}. 300 IN A 198.51.100.1"])
    servers[1].set_lines([])
    with pytest.raises(DnsNotPropagated) as caught:
        wait_until_resolves(NAME, ["203.0.113.7"], _settings(settings, servers),
                            lambda _: None, timeout=0.5, interval=0.1)
    error = caught.value
    assert str(error) == (f"{NAME} did not resolve to A 203.0.113.7 at every authoritative "
                          "server within 0.5 s")
    assert error.detail is not None
    assert f"ns1.{ZONE} (127.0.0.2) answers A 198.51.100.1" in error.detail
    assert f"ns2.{ZONE} (127.0.0.3): answers that {NAME} does not exist (NXDOMAIN)" \
        in error.detail
    assert error.hint is not None and "run the command again" in error.hint


def test_an_answer_without_authority_does_not_count(settings: Settings) -> None:
    from dnslib.zoneresolver import ZoneResolver

    class Cache(ZoneResolver):
        """Right address, no AA flag: as a resolver answers from its cache."""

        def resolve(self, request, handler):  # type: ignore[no-untyped-def]
            reply = super().resolve(request, handler)
            if request.q.qtype == 1:  # A
                reply.header.aa = 0
            return reply

    zone = LocalDns(ZONE)
    try:
        zone.set_lines([f"{NAME}. 300 IN A 203.0.113.7"])
        zone._server.server.resolver = Cache(zone._text())
        with pytest.raises(DnsNotPropagated) as caught:
            wait_until_resolves(NAME, ["203.0.113.7"], settings.model_copy(
                update={"dns_resolvers": f"127.0.0.1:{zone.port}"}), lambda _: None,
                timeout=0.3, interval=0.1)
    finally:
        zone.stop()
    assert f"ns1.{ZONE} (127.0.0.1): is not authoritative" in (caught.value.detail or "")
