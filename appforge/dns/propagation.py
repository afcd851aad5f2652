"""Waiting for DNS: does every authoritative server of a name's zone answer as the records say?

A resolver's answer may come from a cache that is hours old, so it proves nothing about a record
just changed. This module finds the zone of a name and its authoritative servers (through the
configured resolvers, ``APPFORGE_DNS_RESOLVERS``, or this machine's), then asks each server
directly, without recursion, and counts only authoritative answers (the AA flag). A CNAME chain
in the answer is followed. The name has propagated when every server (by NS name; any one of its
addresses will do) answers with exactly the expected addresses or names the expected CNAME
target; until then it polls, and after the timeout :class:`DnsNotPropagated` says which server
answers what.

Authoritative servers are asked on port 53, or on the resolvers' port when every configured
resolver names the same other port (a lab or test DNS where everything listens on one port).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from appforge.dns.errors import DnsNotPropagated
from appforge.dns.records import DnsRecord
from appforge.errors import InvalidInput

if TYPE_CHECKING:
    import dns.message
    import dns.resolver

    from appforge.config import Settings

Log = Callable[[str], None]
#: Seconds one query may take before the server counts as not answering this round.
QUERY_TIMEOUT = 3.0
#: CNAME hops followed before giving up (a loop, or a chain nobody should build).
MAX_CHAIN = 8


@dataclass(frozen=True)
class Expected:
    """What a name must resolve to: addresses (A/AAAA) and/or CNAME targets."""

    ipv4: frozenset[str] = frozenset()
    ipv6: frozenset[str] = frozenset()
    targets: frozenset[str] = frozenset()

    @classmethod
    def of(cls, values: Iterable[str | DnsRecord]) -> Expected:
        v4, v6, targets = set(), set(), set()
        for value in values:
            text = value.content if isinstance(value, DnsRecord) else str(value)
            text = text.strip().lower().rstrip(".")
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                targets.add(text)
                continue
            (v4 if address.version == 4 else v6).add(str(address))
        if not (v4 or v6 or targets):
            raise InvalidInput("nothing to wait for: no expected address or CNAME target")
        return cls(frozenset(v4), frozenset(v6), frozenset(targets))

    def describe(self) -> str:
        parts = [f"A {a}" for a in sorted(self.ipv4)] + [f"AAAA {a}" for a in sorted(self.ipv6)]
        parts += [f"CNAME {t}" for t in sorted(self.targets)]
        return ", ".join(parts)


@dataclass
class ServerAnswer:
    """What one authoritative server answers for the name (``problem`` when it did not)."""

    server: str
    address: str = ""
    chain: list[str] = field(default_factory=list)
    ipv4: set[str] = field(default_factory=set)
    ipv6: set[str] = field(default_factory=set)
    problem: str = ""

    def matches(self, expected: Expected) -> bool:
        if self.problem:
            return False
        if not expected.targets <= set(self.chain):
            return False
        if expected.ipv4 and self.ipv4 != expected.ipv4:
            return False
        return not (expected.ipv6 and self.ipv6 != expected.ipv6)

    def describe(self) -> str:
        where = f"{self.server} ({self.address})" if self.address else self.server
        if self.problem:
            return f"{where}: {self.problem}"
        parts = [f"CNAME {t}" for t in self.chain]
        parts += [f"A {a}" for a in sorted(self.ipv4)] + [f"AAAA {a}" for a in sorted(self.ipv6)]
        return f"{where} answers " + (" → ".join(parts) if parts else "no address")


def wait_until_resolves(name: str, expected: Sequence[str | DnsRecord], settings: Settings,
                        log: Log, timeout: float | None = None, *, port: int | None = None,
                        interval: float = 2.0) -> list[ServerAnswer]:
    """Poll until every authoritative server of ``name``'s zone answers with ``expected``.

    ``expected``: addresses and/or CNAME targets (strings or :class:`DnsRecord`). ``timeout``
    defaults to ``settings.dns_propagation_timeout``. Returns the servers' answers; raises
    :class:`DnsNotPropagated` naming what each server answers when time runs out.
    """
    name = name.strip().lower().rstrip(".")
    want = Expected.of(expected)
    limit = settings.dns_propagation_timeout if timeout is None else timeout
    deadline = time.monotonic() + limit
    resolver, default_port = make_resolver(settings.dns_resolvers)
    ask_port = port or default_port
    log(f"waiting for every authoritative server of {name} to answer {want.describe()}")
    answers: list[ServerAnswer] = []
    said = ""
    while True:
        try:
            servers = authoritative_servers(name, resolver)
        except DnsNotPropagated as exc:
            answers = [ServerAnswer(server="(zone lookup)", problem=str(exc))]
        else:
            answers = [ask_server(ns, addresses, ask_port, name, want, resolver)
                       for ns, addresses in servers]
            if all(answer.matches(want) for answer in answers):
                log(f"{name} resolves to {want.describe()} at all {len(answers)} authoritative "
                    f"servers ({', '.join(a.server for a in answers)})")
                return answers
        status = "; ".join(a.describe() for a in answers if not a.matches(want))
        if status != said:
            log(f"not yet: {status}")
            said = status
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(interval, left))
    lines = [a.describe() + ("" if a.matches(want) else "  ✗") for a in answers]
    raise DnsNotPropagated(
        f"{name} did not resolve to {want.describe()} at every authoritative server within "
        f"{limit:g} s",
        hint="check the records at the DNS host (a change reaches every server within the "
        "zone's TTL), then run the command again: it resumes here",
        detail="\n".join(lines))


def make_resolver(spec: str) -> tuple[dns.resolver.Resolver, int]:
    """A resolver for ``APPFORGE_DNS_RESOLVERS`` ("host[:port]", comma separated; empty: this
    machine's), and the port authoritative servers are asked on (see the module's docstring)."""
    import dns.nameserver
    import dns.resolver

    entries = [e.strip() for e in spec.split(",") if e.strip()]
    if not entries:
        try:
            return dns.resolver.Resolver(configure=True), 53
        except dns.resolver.NoResolverConfiguration:
            raise InvalidInput("this machine has no DNS resolver configured",
                               hint="set APPFORGE_DNS_RESOLVERS, e.g. 1.1.1.1,9.9.9.9") from None
    resolver = dns.resolver.Resolver(configure=False)
    servers, ports = [], set()
    for entry in entries:
        host, port = _host_port(entry)
        servers.append(dns.nameserver.Do53Nameserver(_address_of(host), port))
        ports.add(port)
    resolver.nameservers = servers
    resolver.lifetime = QUERY_TIMEOUT * 2
    return resolver, (ports.pop() if len(ports) == 1 else 53)


def _host_port(entry: str) -> tuple[str, int]:
    host, port = entry, "53"
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(f"APPFORGE_DNS_RESOLVERS: {entry!r} is not host[:port]")
    return host, int(port)


def _address_of(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return str(socket.getaddrinfo(host, 53, proto=socket.IPPROTO_UDP)[0][4][0])
    except OSError as exc:
        raise InvalidInput(f"APPFORGE_DNS_RESOLVERS: cannot resolve {host}: {exc}") from None


def authoritative_servers(name: str, resolver: dns.resolver.Resolver
                          ) -> list[tuple[str, list[str]]]:
    """(NS name, its addresses) for each authoritative server of ``name``'s zone."""
    import dns.exception
    import dns.resolver

    try:
        zone = dns.resolver.zone_for_name(name, resolver=resolver)
        ns_names = sorted(str(r.target).rstrip(".") for r in resolver.resolve(zone, "NS"))
    except dns.exception.DNSException as exc:
        raise DnsNotPropagated(f"cannot find the zone of {name} or its servers: "
                               f"{_short(exc)}") from None
    servers = []
    for ns in ns_names:
        addresses: list[str] = []
        for rdtype in ("A", "AAAA"):
            try:
                addresses += [r.address for r in resolver.resolve(ns, rdtype)]
            except dns.exception.DNSException:
                continue
        servers.append((ns, addresses))
    return servers


def ask_server(ns: str, addresses: list[str], port: int, name: str, want: Expected,
               resolver: dns.resolver.Resolver) -> ServerAnswer:
    """What ``ns`` answers for ``name`` (its first address that answers at all)."""
    if not addresses:
        return ServerAnswer(server=ns, problem="its own address does not resolve")
    answer = ServerAnswer(server=ns)
    for address in addresses:
        answer = _ask_one(ns, address, port, name, want, resolver)
        if not answer.problem.startswith("no answer"):
            break
    return answer


def _ask_one(ns: str, address: str, port: int, name: str, want: Expected,
             resolver: dns.resolver.Resolver) -> ServerAnswer:
    types = [t for t, wanted in (("A", want.ipv4), ("AAAA", want.ipv6)) if wanted] or ["A"]
    result = ServerAnswer(server=ns, address=address)
    for rdtype in types:
        current, addresses = name, set()
        for _ in range(MAX_CHAIN):
            response, problem = _query(address, port, current, rdtype)
            if problem:
                if current == name:
                    result.problem = problem
                    return result
                addresses = _recursive(resolver, current, rdtype)  # target outside this zone
                break
            chain, addresses = _read_answer(response, current, rdtype)
            for target in chain:
                if target not in result.chain:
                    result.chain.append(target)
            if addresses or not chain:
                break
            current = chain[-1]
        (result.ipv4 if rdtype == "A" else result.ipv6).update(addresses)
    return result


def _query(address: str, port: int, name: str, rdtype: str
           ) -> tuple[dns.message.Message | None, str]:
    """One non-recursive query; (response, '') or (None, what went wrong)."""
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode

    query = dns.message.make_query(name, rdtype)
    query.flags &= ~dns.flags.RD
    try:
        response = dns.query.udp(query, address, port=port, timeout=QUERY_TIMEOUT)
        if response.flags & dns.flags.TC:
            response = dns.query.tcp(query, address, port=port, timeout=QUERY_TIMEOUT)
    except (dns.exception.DNSException, OSError) as exc:
        return None, f"no answer ({_short(exc)})"
    rcode = response.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return None, f"answers that {name} does not exist (NXDOMAIN)"
    if rcode != dns.rcode.NOERROR:
        return None, f"answers {dns.rcode.to_text(rcode)} for {name}"
    if not response.flags & dns.flags.AA:
        return None, f"is not authoritative for {name} (a referral or a cached answer)"
    return response, ""


def _read_answer(response: dns.message.Message | None, name: str, rdtype: str
                 ) -> tuple[list[str], set[str]]:
    """The CNAME chain from ``name`` within the answer, and the addresses at its end."""
    import dns.name
    import dns.rdatatype

    assert response is not None
    chain: list[str] = []
    current = dns.name.from_text(name)
    for _ in range(MAX_CHAIN):
        cname = next((rrset for rrset in response.answer if rrset.name == current
                      and rrset.rdtype == dns.rdatatype.CNAME), None)
        if cname is None:
            break
        current = next(iter(cname)).target
        chain.append(str(current).rstrip(".").lower())
    want = dns.rdatatype.from_text(rdtype)
    addresses = {r.address for rrset in response.answer
                 if rrset.name == current and rrset.rdtype == want for r in rrset}
    return chain, addresses


def _recursive(resolver: dns.resolver.Resolver, name: str, rdtype: str) -> set[str]:
    import dns.exception

    try:
        return {r.address for r in resolver.resolve(name, rdtype)}
    except dns.exception.DNSException:
        return set()


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
