"""Point a name at an app and serve it: records, propagation, attach, certificate, check.

``connect`` runs the five steps in order, reports each one (done, skipped or failed, with what
it did and how long it took) and stops at the first failure with :class:`DomainStepFailed`,
which names the step, why, and what to do. Every step is idempotent, so calling ``connect``
again resumes: records already right are left alone, a name that already resolves passes at
once, an attached name stays attached, a certificate already served is reported. A failure
never takes the app off its other hosts: the proxy's routes change only in the attach step,
and only by adding the name. Callers hold the app's lock (``store.locks.app_lock``), as for any
change of an app; the attach step takes the routes lock itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from appforge.config import Settings
from appforge.dns.errors import DnsNotPropagated, DnsProviderError
from appforge.dns.propagation import wait_until_resolves
from appforge.dns.records import format_zone_lines, records_for
from appforge.domains.certificate import (
    CertificateFailed,
    OutsideCheckFailed,
    check_outside,
    served_certificate,
    wait_for_certificate,
)
from appforge.errors import AppforgeError, EngineUnavailable, InvalidInput
from appforge.sandbox.proxy import reload_config
from appforge.spec import validate_custom_domain

if TYPE_CHECKING:
    import docker

    from appforge.dns.provider import DnsProvider
    from appforge.store import Store

Log = Callable[[str], None]
STEPS = ("records", "propagation", "attach", "certificate", "check")


@dataclass
class StepReport:
    step: str
    status: str  # "done" | "skipped" | "failed"
    detail: str
    seconds: float


class DomainStepFailed(AppforgeError):
    """A step of :func:`connect` failed; ``step`` names it, the hint says what to do, and
    ``reports`` holds every step's report up to and including the failed one."""

    def __init__(self, step: str, message: str, *, hint: str | None = None,
                 detail: str | None = None) -> None:
        super().__init__(f"the {step} step failed: {message}", hint=hint, detail=detail)
        self.step = step
        self.reports: list[StepReport] = []


@dataclass
class _Run:
    settings: Settings
    store: Store
    client: docker.DockerClient
    name: str
    slug: str
    dns: DnsProvider | None
    log: Log
    on_step: Callable[[StepReport], None] | None
    reports: list[StepReport] = field(default_factory=list)
    #: The name was attached before this run: a resume, where the proxy may be waiting out its
    #: backoff after a failed certificate.
    resumed: bool = False

    def report(self, step: str, status: str, detail: str, started: float) -> None:
        report = StepReport(step, status, detail, round(time.monotonic() - started, 3))
        self.reports.append(report)
        self.log(f"{step}: {status}: {detail}")
        if self.on_step is not None:
            self.on_step(report)


def connect(settings: Settings, store: Store, client: docker.DockerClient, name: str,
            slug: str, dns: DnsProvider | None, log: Log,
            on_step: Callable[[StepReport], None] | None = None) -> list[StepReport]:
    """Make ``https://NAME/`` (``http://`` with TLS off) answer with app ``slug``; see the
    module's docstring. Returns one report per step; raises :class:`DomainStepFailed`."""
    try:
        name = validate_custom_domain(name, slug, settings.base_domain)
    except InvalidInput as exc:
        raise DomainStepFailed("records", str(exc), hint=exc.hint) from None
    app = store.get_app(slug)
    owner = store.app_for_host(name)
    if owner is not None and owner.slug != slug:
        raise DomainStepFailed(
            "attach", f"{name} is already attached to app {owner.slug!r}",
            hint=f"detach it from {owner.slug} first, or choose another name")
    if app.current_version is None:
        raise DomainStepFailed("attach", f"{slug} has never been deployed",
                               hint=f"build it first (appforge build --app {slug} ...)")
    run = _Run(settings, store, client, name, slug, dns, log, on_step)
    for step, do in (("records", _records), ("propagation", _propagation), ("attach", _attach),
                     ("certificate", _certificate), ("check", _check)):
        started = time.monotonic()
        try:
            status, detail = do(run)
        except DomainStepFailed as exc:
            run.report(step, "failed", str(exc), started)
            exc.reports = list(run.reports)
            raise
        except AppforgeError as exc:
            run.report(step, "failed", str(exc), started)
            failed = DomainStepFailed(step, str(exc), hint=exc.hint, detail=exc.detail)
            failed.reports = list(run.reports)
            raise failed from None
        run.report(step, status, detail, started)
    return run.reports


def _records(run: _Run) -> tuple[str, str]:
    records = records_for(run.name, run.settings)
    if not records:
        return "skipped", f"{run.name} resolves locally; it needs no DNS records"
    lines = format_zone_lines(records)
    if run.dns is None:
        run.log(f"create these records at {run.name}'s DNS host (no DNS provider is "
                "configured):")
        for line in lines:
            run.log(f"  {line}")
        return "skipped", "to create by hand: " + "; ".join(lines)
    try:
        changes = run.dns.ensure_records(records)
    except DnsProviderError as exc:
        raise DomainStepFailed("records", f"{run.dns.name} could not set {run.name}'s records: "
                               f"{exc}", hint=exc.hint, detail=exc.detail) from None
    return "done", f"at {run.dns.name}: " + "; ".join(changes)


def _propagation(run: _Run) -> tuple[str, str]:
    records = records_for(run.name, run.settings)
    if not records:
        return "skipped", f"{run.name} resolves locally"
    try:
        answers = wait_until_resolves(run.name, records, run.settings, run.log)
    except DnsNotPropagated as exc:
        raise DomainStepFailed("propagation", str(exc), hint=exc.hint,
                               detail=exc.detail) from None
    servers = ", ".join(a.server for a in answers)
    return "done", f"{run.name} resolves as its records say at {servers}"


def _attach(run: _Run) -> tuple[str, str]:
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    from appforge.sandbox.proxy import apply_routes
    from appforge.store.locks import routes_lock
    from appforge.tools.apps import routes

    # Under the routes lock, as every change of what the proxy serves: a deploy finishing now
    # routes from the store, which must already hold the name, or the proxy holds it.
    with routes_lock(run.settings.home):
        run.resumed = run.name in run.store.domains(run.slug)
        if not run.resumed:
            attach_domain(run.store, run.slug, run.name)
        try:
            apply_routes(run.client, run.settings, routes(run.settings, run.store), run.log)
        except (AppforgeError, DockerException, RequestException) as exc:
            if not run.resumed:  # the proxy kept its previous routes: the store says so too
                detach_domain(run.store, run.slug, run.name)
            if isinstance(exc, AppforgeError):
                raise
            raise EngineUnavailable(f"the Docker engine did not answer: {exc}",
                                    hint="start it (see `appforge doctor`), then run the "
                                    "command again") from None
    if run.resumed:
        return "done", f"{run.name} was already attached to {run.slug}"
    return "done", f"{run.slug} now answers at {', '.join(run.store.domains(run.slug))}"


def attach_domain(store: Store, slug: str, name: str) -> None:
    """Add ``name`` to the app's domains, and to every version's, so that a restart, a redeploy
    or a rollback to an older version keeps it (refused when another app has it)."""
    hosts = store.domains(slug)
    if name in hosts:
        return
    store.set_domains(slug, [*hosts, name])
    _set_version_domains(store, slug, lambda kept: [*kept, name] if name not in kept else kept)


def detach_domain(store: Store, slug: str, name: str) -> None:
    """Remove ``name`` from the app's domains and every version's (its other names stay; the
    last one never goes)."""
    hosts = [h for h in store.domains(slug) if h != name]
    if hosts:
        store.set_domains(slug, hosts)
        _set_version_domains(store, slug, lambda kept: [h for h in kept if h != name] or kept)


def _set_version_domains(store: Store, slug: str,
                         change: Callable[[list[str]], list[str]]) -> None:
    """A name attached or detached is the app's, not one version's: each version that names
    its domains (what its build asked for) gets the change."""
    for version in store.list_versions(slug):
        kept = version.settings.get("domains")
        if kept:
            store.update_version(slug, version.version,
                                 settings={**version.settings, "domains": change(list(kept))})


def _certificate(run: _Run) -> tuple[str, str]:
    if run.settings.tls == "off":
        return "skipped", "TLS is off (APPFORGE_TLS=off): the app answers over plain HTTP"
    already = served_certificate(run.settings, run.name)
    since = time.time()
    if run.resumed and already is None:
        # Caddy retries a failed certificate after a growing backoff (a minute, then more):
        # a resume asks it to try now.
        run.log(f"asking the proxy to try again for {run.name}'s certificate now")
        reload_config(run.settings)
    try:
        state = wait_for_certificate(run.client, run.settings, run.name, run.log,
                                     timeout=run.settings.certificate_timeout,
                                     since=since)
    except CertificateFailed as exc:
        raise DomainStepFailed(
            "certificate", str(exc), hint=exc.hint,
            detail=(exc.detail or "") + f"\n{run.name} stays attached: the proxy keeps "
            f"asking for its certificate, and {run.slug} answers at its other names") from None
    verb = "has" if already is not None and already.serial == state.serial else "got"
    return "done", f"the proxy {verb} a {state.describe()}"


def _check(run: _Run) -> tuple[str, str]:
    from appforge.sandbox.caddy_config import is_local_name

    # A certificate from the proxy's own CA is checked against that CA's root (what `appforge
    # trust` exports); an ACME one against the system's trust store.
    internal = run.settings.tls == "internal" or is_local_name(run.name)
    root = run.settings.proxy_dir / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    try:
        return "done", check_outside(run.settings, run.name, run.log,
                                     ca_bundle=root if internal else None)
    except OutsideCheckFailed as exc:
        raise DomainStepFailed("check", str(exc), hint=exc.hint) from None
