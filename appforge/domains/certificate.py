"""The certificate a name has on the proxy, waiting for one, and the check from outside.

``served_certificate`` asks the proxy itself: a TLS handshake with the name as SNI on its
published HTTPS port, reading the certificate it presents (issuer, expiry, serial) without
trusting it. ``wait_for_certificate`` polls that until a certificate from a CA other than Caddy's
own arrives; meanwhile it reads the proxy's log, and an ACME failure for the name ends the wait
with :class:`CertificateFailed` saying which step failed (DNS, reachability of ports 80/443, the
CA) and what to do. ``check_outside`` makes the request a visitor makes: the name resolved
through DNS, ``https://NAME/`` verified against the system's trust store (or a given bundle).
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from appforge.errors import AppforgeError

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

Log = Callable[[str], None]
#: The issuer name of certificates from Caddy's own CA (``tls=internal``, local names).
INTERNAL_ISSUER = "Caddy Local Authority"
#: Bodies of appforge's own answers, which are not the app's.
PROXY_ANSWERS = ("No app is deployed at this address. (appforge)",
                 "This app is stopped. (appforge)", "The app did not answer. (appforge)")


class CertificateFailed(AppforgeError):
    """No certificate for a name: ``cause`` is ``dns``, ``reachability``, ``ca`` or
    ``timeout``; the message says what the CA or the proxy reported."""

    def __init__(self, message: str, cause: str, *, hint: str | None = None,
                 detail: str | None = None) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.cause = cause


class OutsideCheckFailed(AppforgeError):
    """``https://NAME/`` does not answer with the app from outside the proxy."""


@dataclass(frozen=True)
class CertificateState:
    """What a certificate says about itself."""

    name: str
    issuer: str
    not_after: datetime
    serial: int

    @property
    def internal(self) -> bool:
        """From Caddy's own CA (trusted by no browser), not from an ACME CA."""
        return self.issuer.startswith(INTERNAL_ISSUER)

    def describe(self) -> str:
        return (f"certificate for {self.name} from {self.issuer}, serial {self.serial:x}, "
                f"valid until {self.not_after:%Y-%m-%d}")


def served_certificate(settings: Settings, name: str, timeout: float = 5.0
                       ) -> CertificateState | None:
    """The certificate the proxy presents for ``name`` (None when it has none, or is down)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # read, not trusted: the state is what we report
    try:
        with socket.create_connection((_proxy_address(settings), settings.https_port),
                                      timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    return parse_certificate(der, name) if der else None


def _proxy_address(settings: Settings) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.bind_address,
                                                                       settings.bind_address)


def stored_certificates(settings: Settings, name: str) -> list[Path]:
    """Caddy's stored certificate files for ``name`` (one per issuer), under the proxy's data."""
    root = settings.proxy_dir / "data" / "caddy" / "certificates"
    try:
        return sorted(root.glob(f"*/{name}/{name}.crt"))
    except OSError:
        return []


def wait_for_certificate(client: docker.DockerClient, settings: Settings, name: str, log: Log,
                         timeout: float = 180.0, since: float | None = None,
                         interval: float = 1.0) -> CertificateState:
    """Wait until the proxy serves ``name`` with a certificate from its ACME CA (or, for a
    local name or ``tls=internal``, from its own CA); fail early on an ACME error in its log
    (``since``: the epoch time from which its log counts)."""
    from appforge.sandbox.caddy_config import is_local_name

    want_acme = settings.tls == "acme" and bool(settings.acme_email) and not is_local_name(name)
    since = time.time() if since is None else since
    deadline = time.monotonic() + timeout
    log(f"waiting for the proxy to get a certificate for {name}"
        + (f" from {settings.acme_ca or 'Let’s Encrypt'}" if want_acme else ""))
    while True:
        state = served_certificate(settings, name)
        if state is not None and (state.internal != want_acme):
            log(f"the proxy serves the {state.describe()}")
            return state
        lines = proxy_log(client, settings, since)
        failure = acme_failure(lines, name, since)
        if failure is not None:
            raise failure
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    tail = "\n".join(lines[-15:])
    raise CertificateFailed(
        f"the proxy got no certificate for {name} within {timeout:g} s", "timeout",
        hint="the CA may be slow or the proxy still retrying; run the command again to "
        "resume, and see `docker logs " + _proxy(settings) + "`", detail=tail or None)


def _proxy(settings: Settings) -> str:
    from appforge.sandbox.proxy import proxy_name

    return proxy_name(settings)


def proxy_log(client: docker.DockerClient, settings: Settings, since: float) -> list[str]:
    """The proxy's log lines from the second of the epoch time ``since`` ([] when it has
    none; the engine counts whole seconds, :func:`acme_failure` the lines' own times)."""
    from docker.errors import DockerException

    try:
        raw = client.containers.get(_proxy(settings)).logs(since=max(1, int(since)),
                                                            stdout=True,
                                                            stderr=True)
    except DockerException:
        return []
    return raw.decode(errors="replace").splitlines()


_PROBLEM = re.compile(r"urn:ietf:params:acme:error:([A-Za-z]+)")
_TRIED = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}:\d+)")
_UNREACHED = ("connect", "timeout", "no route", "unreachable", "reset by peer")
#: What each cause means, and what the user does about it.
_CAUSES = {
    "dns": ("DNS: {name} does not point at this server yet ({why})",
            ("make {name}'s A/AAAA records point at this machine's public address and wait for "
            "them to propagate, then run the command again")),
    "reachability": (("port 80/443 not reachable: the CA could not connect to this server for "
                     "{name} ({why})"),
                     ("check that {name} resolves to this machine's public address and that "
                     "ports 80 and 443 there reach the proxy (APPFORGE_HTTP_PORT=80, "
                     "APPFORGE_HTTPS_PORT=443, APPFORGE_BIND_ADDRESS=0.0.0.0, the firewall)")),
    "ca": ("the CA refused to certify {name} ({why})",
           ("check the name against the CA's policy (CAA records, rate limits), or "
           "APPFORGE_ACME_CA and APPFORGE_ACME_CA_ROOT when the CA could not be reached")),
}
#: ACME problem types (RFC 8555 section 6.7) and the step they point at.
_PROBLEM_CAUSE = {"dns": "dns", "unauthorized": "dns", "incorrectResponse": "dns",
                  "connection": "reachability", "tls": "reachability"}


def acme_failure(lines: list[str], name: str, since: float = 0.0) -> CertificateFailed | None:
    """The proxy's failed attempt to get a certificate for ``name``, if its log lines hold one.

    Caddy 2.6 logs each failed challenge (logger ``http.acme_client``, msg ``challenge failed``,
    with the ACME ``problem_type``), then the attempt's end (logger ``tls.obtain``, msg ``could
    not get certificate from issuer``) and retries later on its own; the attempt's end decides,
    the challenges say why. Lines logged before the epoch time ``since`` are an earlier attempt.
    """
    challenges: list[dict[str, object]] = []
    for line in lines:
        entry = _json_line(line)
        if entry is None or entry.get("identifier") != name or _at(entry) < since:
            continue
        if entry.get("msg") == "challenge failed":
            challenges.append(entry)
        elif entry.get("logger") == "tls.obtain" and entry.get("level") == "error" \
                and entry.get("msg") == "could not get certificate from issuer":
            return _failure(name, challenges, str(entry.get("error", "")), line)
    return None


def _failure(name: str, challenges: list[dict[str, object]], error: str,
             line: str) -> CertificateFailed:
    causes = []
    for challenge in challenges:
        text = str(challenge.get("error", ""))
        problem = _PROBLEM.search(str(challenge.get("problem_type", "")) or text)
        if any(word in text.lower() for word in _UNREACHED):
            causes.append("reachability")  # Pebble calls a refused TLS-ALPN dial "unauthorized"
        else:
            causes.append(_PROBLEM_CAUSE.get(problem.group(1) if problem else "", "ca"))
    if challenges:
        cause = min(causes, key=["dns", "reachability", "ca"].index)
        why = "; ".join(f"{c.get('challenge_type', 'challenge')}: {_clip(str(c.get('error')), 160)}"
                        for c in challenges)
    else:  # no challenge was tried: the CA refused the order, or could not be reached
        problem = _PROBLEM.search(error)
        cause = _PROBLEM_CAUSE.get(problem.group(1), "ca") if problem else "ca"
        why = _clip(error)
    message, hint = _CAUSES[cause]
    tried = sorted(set(_TRIED.findall(why)))
    if tried and cause == "reachability":
        hint += f"; the CA tried {', '.join(tried)}"
    return CertificateFailed(message.format(name=name, why=why), cause,
                             hint=hint.format(name=name), detail=line)


def _at(entry: dict[str, object]) -> float:
    stamp = entry.get("ts")
    return float(stamp) if isinstance(stamp, int | float) else float("inf")


def _json_line(line: str) -> dict[str, object] | None:
    start = line.find("{")
    if start < 0:
        return None
    try:
        entry = json.loads(line[start:])
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def check_outside(settings: Settings, name: str, log: Log, ca_bundle: Path | None = None,
                  timeout: float = 15.0) -> str:
    """GET ``NAME/`` as a visitor does: the name resolved through DNS (the configured
    resolvers, else this machine's), HTTPS verified against ``ca_bundle`` or the system's trust
    store (which honours ``SSL_CERT_FILE``), never through the proxy's container network.
    Returns a line saying what answered; raises :class:`OutsideCheckFailed`."""
    import httpx

    url = settings.url_for(name) + "/"
    address = resolve_address(settings, name)
    https = settings.tls != "off"
    port = settings.https_port if https else settings.http_port
    host = f"[{address}]" if ":" in address else address
    verify: ssl.SSLContext | bool = False
    if https:
        verify = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    try:
        with httpx.Client(verify=verify, timeout=timeout, trust_env=False) as http:
            response = http.get(f"{'https' if https else 'http'}://{host}:{port}/",
                                headers={"Host": name},
                                extensions={"sni_hostname": name} if https else None)
    except httpx.HTTPError as exc:
        why = _clip(str(exc) or type(exc).__name__)
        raise OutsideCheckFailed(
            f"{url} did not answer from outside the proxy ({name} → {address}): {why}",
            hint="if the certificate is not trusted, the CA is not a public one; otherwise "
            f"check that {address}:{port} reaches this machine's proxy") from None
    body = response.text.strip()
    if response.status_code >= 400 or body in PROXY_ANSWERS:
        raise OutsideCheckFailed(
            f"{url} answered HTTP {response.status_code} from outside the proxy, not the app: "
            f"{_clip(body, 120)}",
            hint=f"is {name} attached to the app (`appforge show SLUG`)?")
    line = f"{url} answers HTTP {response.status_code} ({name} → {address})"
    log(line)
    return line


def resolve_address(settings: Settings, name: str) -> str:
    """An address ``name`` resolves to, through the configured resolvers (IPv4 first)."""
    import dns.exception

    from appforge.dns.propagation import make_resolver

    resolver, _ = make_resolver(settings.dns_resolvers)
    for rdtype in ("A", "AAAA"):
        try:
            return str(next(iter(resolver.resolve(name, rdtype))).address)
        except (dns.exception.DNSException, StopIteration):
            continue
    asked = settings.dns_resolvers or "this machine's resolvers"
    raise OutsideCheckFailed(f"{name} does not resolve (asked {asked})",
                             hint="check its records at the DNS host")


# A few fields of an X.509 certificate, read from its DER bytes (RFC 5280, section 4.1):
# Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version, serialNumber, signature,
# issuer, validity SEQUENCE { notBefore, notAfter }, subject, ... }, ... }
_CN = bytes.fromhex("550403")  # the commonName attribute's OID, 2.5.4.3
_ORG = bytes.fromhex("55040a")  # organizationName, 2.5.4.10


def parse_certificate(der: bytes, name: str) -> CertificateState:
    _, start, end = _tlv(der, 0)
    _, start, end = _tlv(der, start)  # tbsCertificate
    fields = list(_children(der, start, end))
    if fields and fields[0][0] == 0xA0:  # explicit version
        fields = fields[1:]
    (_, s_serial, e_serial), _sig, issuer, validity = fields[:4]
    not_after = list(_children(der, validity[1], validity[2]))[1]
    return CertificateState(name=name, issuer=_issuer_name(der, issuer[1], issuer[2]),
                            not_after=_time(der, not_after),
                            serial=int.from_bytes(der[s_serial:e_serial], "big"))


def _tlv(data: bytes, i: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the element at ``i``."""
    tag, length = data[i], data[i + 1]
    i += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[i:i + count], "big")
        i += count
    return tag, i, i + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    while start < end:
        tag, s, e = _tlv(data, start)
        out.append((tag, s, e))
        start = e
    return out


def _issuer_name(der: bytes, start: int, end: int) -> str:
    found: dict[bytes, str] = {}
    for _set in _children(der, start, end):
        for _seq in _children(der, _set[1], _set[2]):
            (_, so, eo), (_, sv, ev) = _children(der, _seq[1], _seq[2])[:2]
            found[der[so:eo]] = der[sv:ev].decode("utf-8", "replace")
    return found.get(_CN) or found.get(_ORG) or "an unnamed CA"


def _time(der: bytes, element: tuple[int, int, int]) -> datetime:
    tag, start, end = element
    text = der[start:end].decode("ascii")
    layout = "%y%m%d%H%M%SZ" if tag == 0x17 else "%Y%m%d%H%M%SZ"
    return datetime.strptime(text, layout).replace(tzinfo=UTC)
