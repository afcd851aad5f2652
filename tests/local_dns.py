"""A real DNS server in the test process: dnslib's ``DNSServer`` answering from BIND zone text.

``LocalDns`` serves one zone (SOA, NS with glue, the records a test gives) authoritatively on a
loopback address and a UDP port chosen by the system; ``set_records`` swaps what it answers, as a
DNS host does when its records change. ``ZoneProvider`` is a :class:`DnsProvider` over such a
server (what ``connect`` calls to create records), so tests see propagation through real DNS.
"""

from __future__ import annotations

from dnslib.server import DNSLogger, DNSServer
from dnslib.zoneresolver import ZoneResolver

from appforge.dns.records import DnsRecord, format_zone_lines


class LocalDns:
    """An authoritative server for ``zone`` at ``address``:``port`` (0: any free port)."""

    def __init__(self, zone: str, address: str = "127.0.0.1", port: int = 0,
                 glue: dict[str, str] | None = None) -> None:
        self.zone, self.address = zone, address
        #: NS name (first label) → its address; by default one server, this one.
        self.glue = glue or {"ns1": address}
        self.lines: list[str] = []
        self.serial = 1
        self._server = DNSServer(ZoneResolver(self._text()), address=address, port=port,
                                 logger=DNSLogger(logf=lambda _line: None))
        self._server.start_thread()
        self.port = self._server.server.server_address[1]

    def _text(self) -> str:
        head = [(f"{self.zone}. 60 IN SOA ns1.{self.zone}. hostmaster.{self.zone}. "
                f"{self.serial} 60 60 600 60")]
        for ns, address in self.glue.items():
            head.append(f"{self.zone}. 60 IN NS {ns}.{self.zone}.")
            head.append(f"{ns}.{self.zone}. 60 IN A {address}")
        return "\n".join(head + self.lines) + "\n"

    def set_lines(self, lines: list[str]) -> None:
        """Answer with these zone lines from now on (besides SOA and NS)."""
        self.lines = list(lines)
        self.serial += 1
        self._server.server.resolver = ZoneResolver(self._text())

    def set_records(self, records: list[DnsRecord]) -> None:
        self.set_lines(format_zone_lines(records))

    def stop(self) -> None:
        self._server.stop()
        self._server.server.server_close()


def twin_servers(zone: str, count: int = 2) -> list[LocalDns]:
    """``count`` servers of one zone (ns1, ns2 ...), each on its own loopback address
    (127.0.0.2, 127.0.0.3 ...) and all on the same port: a delegation names servers, not ports."""
    glue = {f"ns{i + 1}": f"127.0.0.{i + 2}" for i in range(count)}
    for _ in range(20):
        servers = [LocalDns(zone, "127.0.0.2", 0, glue)]
        try:
            for i in range(1, count):
                servers.append(LocalDns(zone, f"127.0.0.{i + 2}", servers[0].port, glue))
        except OSError:  # that port is taken on another address: try another
            for server in servers:
                server.stop()
            continue
        return servers
    raise OSError("no port free on every loopback address")


class ZoneProvider:
    """A :class:`appforge.dns.DnsProvider` whose records live in a :class:`LocalDns` zone."""

    name = "local"

    def __init__(self, server: LocalDns) -> None:
        self.server = server
        self.records: list[DnsRecord] = []

    def ensure_records(self, records: list[DnsRecord]) -> list[str]:
        names = {r.name for r in records}
        lines = [f"{'unchanged' if r in self.records else 'created'} {r}" for r in records]
        self.records = [r for r in self.records if r.name not in names] + list(records)
        self.server.set_records(self.records)
        return lines

    def delete_records(self, names: list[str]) -> list[str]:
        gone = [r for r in self.records if r.name in names]
        self.records = [r for r in self.records if r.name not in names]
        self.server.set_records(self.records)
        return [f"deleted {r}" for r in gone]
