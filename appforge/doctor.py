"""``appforge doctor``: what a newcomer's machine lacks, and how to fix each thing.

Each check returns a :class:`Check` with a status (ok, warn, fail), what was found and, when not
ok, the command or setting that fixes it. Checks never change anything.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from typing import Any, Literal

from appforge.config import Settings
from appforge.errors import AppforgeError

Status = Literal["ok", "warn", "fail"]
MIN_FREE_GB = 2.0


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def run_checks(settings: Settings) -> list[Check]:
    checks = [_python(), _data_dir(settings), _disk(settings), _video_encoder(), _artwork(),
              _llm(settings), *_diffusion(settings)]
    engine = _engine(settings)
    checks.append(engine[0])
    client = engine[1]
    checks += _base_images(settings, client)
    checks.append(_proxy(settings, client))
    from appforge.engines.cluster import doctor_checks

    return checks + doctor_checks(settings, client) + _domains(settings)


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < (3, 11):
        return Check("python", "fail", f"Python {version}", "install Python 3.11 or newer")
    return Check("python", "ok", f"Python {version}")


def _data_dir(settings: Settings) -> Check:
    home = settings.home
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home):
            pass
    except OSError as exc:
        return Check("data dir", "fail", f"{home} is not writable: {exc.strerror or exc}",
                     "set APPFORGE_HOME to a writable folder")
    return Check("data dir", "ok", f"{home} is writable")


def _disk(settings: Settings) -> Check:
    target = settings.home if settings.home.exists() else settings.home.parent
    while not target.exists():
        target = target.parent
    free_gb = shutil.disk_usage(target).free / 1e9
    detail = f"{free_gb:.1f} GB free under {target}"
    if free_gb < MIN_FREE_GB:
        return Check("disk space", "warn" if free_gb > 0.5 else "fail", detail,
                     f"free at least {MIN_FREE_GB:.0f} GB (images and wheels need room); "
                     "`docker system prune` removes unused images")
    return Check("disk space", "ok", detail)


def _video_encoder() -> Check:
    try:
        import av

        av.codec.Codec("libx264", "w")
    except Exception as exc:  # any failure here means: no H.264 encoder
        return Check("video encoder", "warn", f"no libx264 encoder in PyAV: {exc}",
                     "pip install --upgrade av")
    return Check("video encoder", "ok", f"PyAV {av.__version__} with libx264")


def _artwork() -> Check:
    from appforge.generators.image.artwork import doctor_line

    ok, detail, fix = doctor_line()
    return Check("pictures", "ok" if ok else "warn", detail, fix)


def _llm(settings: Settings) -> Check:
    """Which planner builds will use; for the LLM one, whether the endpoint knows the model."""
    planner = settings.planner_name
    if planner != "llm":
        return Check("planner", "ok", f"{planner} planner (rules, no LLM); set "
                     "APPFORGE_LLM_MODEL (and APPFORGE_LLM_BASE_URL) to plan with an LLM")
    from appforge.agent.planners import OPENAI_BASE_URL

    base = settings.llm_base_url or OPENAI_BASE_URL
    if not settings.llm_model:
        return Check("planner", "fail", f"LLM planner at {base} but no model is set",
                     "set APPFORGE_LLM_MODEL")
    import openai

    client = openai.OpenAI(base_url=base, api_key=settings.llm_api_key or "not-needed",
                           timeout=10, max_retries=0)
    try:
        models = [m.id for m in client.models.list()]
    except openai.APIError as exc:
        return Check("planner", "fail", f"the LLM endpoint {base} does not answer: "
                     f"{str(exc).splitlines()[0][:160]}",
                     "start the server (ollama serve, vllm serve ..., llama-server ...) or fix "
                     "APPFORGE_LLM_BASE_URL / APPFORGE_LLM_API_KEY")
    if models and settings.llm_model not in models:
        return Check("planner", "fail", f"{base} does not serve {settings.llm_model} "
                     f"(it serves: {', '.join(models[:8])})", "set APPFORGE_LLM_MODEL to one "
                     "of those, or pull the model first (e.g. ollama pull NAME)")
    from appforge.agent.llm_endpoint import capabilities, known

    kept = known(base, settings.llm_model, settings.home)
    caps = kept or capabilities(client.with_options(timeout=60), base, settings.llm_model,
                                settings.home)
    when = "kept from an earlier probe" if kept else "probed now"
    return Check("planner", "ok", f"LLM planner: {settings.llm_model} at {base}; "
                 f"{caps.line()} ({when}, in {settings.home / 'llm-endpoints.json'})")


def _diffusion(settings: Settings) -> list[Check]:
    """GPU, CUDA, torch and diffusers, the configured models, and what ``auto`` would pick."""
    from appforge.generators.diffusion import choose, gpu_present, missing_modules, resolve_model

    checks = []
    missing = missing_modules("torch", "diffusers", "transformers")
    if missing:
        checks.append(Check("diffusers", "warn", f"{', '.join(missing)} not installed; images "
                            "and videos use the procedural renderers",
                            "pip install 'appforge[diffusers]' (and a CUDA build of torch on a "
                            "GPU machine)"))
    else:
        import diffusers
        import torch

        cuda = torch.cuda.is_available()
        gpu = (f"{torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda}" if cuda
               else "no CUDA GPU" + (" (a GPU is visible but this torch build has no CUDA)"
                                     if gpu_present() else ""))
        checks.append(Check("gpu", "ok" if cuda else "warn", gpu,
                            "" if cuda else "diffusers runs only on a CUDA GPU in auto mode"))
        checks.append(Check("diffusers", "ok", f"torch {torch.__version__}, diffusers "
                            f"{diffusers.__version__}"))
    for kind, model, setting in (("image", settings.image_model, settings.image_backend),
                                 ("video", settings.video_model, settings.video_backend)):
        path = None if missing else resolve_model(model)
        checks.append(Check(f"{kind} model", "ok" if path else "warn",
                            f"{model} at {path}" if path else f"{model} is not on this machine",
                            "" if path else f"put its files in a folder and set "
                            f"APPFORGE_{kind.upper()}_MODEL to it, or download it into the "
                            "Hugging Face cache on a machine with network"))
        try:
            choice = choose(kind, setting, model)  # type: ignore[arg-type]
        except AppforgeError as exc:
            checks.append(Check(f"{kind} backend", "fail", str(exc), exc.hint or ""))
        else:
            checks.append(Check(f"{kind} backend", "ok", f"{setting} → {choice.backend}: "
                                f"{choice.reason}"))
    return checks


def _engine(settings: Settings) -> tuple[Check, Any]:
    from appforge.sandbox.engine import connect

    try:
        client = connect(settings, timeout=10)
    except AppforgeError as exc:
        return Check("docker engine", "fail", str(exc), exc.hint or ""), None
    version = client.version().get("Version", "?")
    return Check("docker engine", "ok", f"Docker {version} reachable"), client


def _base_images(settings: Settings, client: Any) -> list[Check]:
    from appforge.sandbox.base_images import image_exists
    from appforge.sandbox.prepare import images_for, tags

    can_bootstrap = bool(shutil.which("debootstrap")) and os.geteuid() == 0
    out = []
    wanted = tags(settings)
    for name in images_for(settings):
        label, tag = f"{_IMAGE_LABELS[name]} image", wanted[name]
        if client is not None and image_exists(client, tag):
            out.append(Check(label, "ok", f"{tag} present"))
        elif can_bootstrap:
            out.append(Check(label, "warn", f"{tag} missing; the first build makes it from "
                                            "Debian packages (under a minute, once)",
                             "`appforge setup` (or `appforge doctor --fix`) makes the images "
                             "now, all at once"))
        else:
            out.append(Check(label, "fail", f"{tag} missing and cannot be bootstrapped here",
                             "run as root with debootstrap installed "
                             "(`sudo apt-get install -y debootstrap`), or make a registry "
                             "reachable"))
    return out


_IMAGE_LABELS = {"python": "python base", "proxy": "proxy", "browser": "browser"}


def _proxy(settings: Settings, client: Any) -> Check:
    from appforge.sandbox.proxy import proxy_status

    if client is None:
        return Check("proxy", "fail", "unknown: no Docker engine", "start the Docker engine first")
    status = proxy_status(client, settings)
    where = f"{settings.bind_address}:{settings.http_port}"
    if status == "running":
        return Check("proxy", "ok", f"Caddy proxy running on {where}")
    return Check("proxy", "warn", f"Caddy proxy {status}; the next build starts it on {where}",
                 "nothing to do, or `appforge build ...`; set APPFORGE_HTTP_PORT if port "
                 f"{settings.http_port} is taken")


def _domains(settings: Settings) -> list[Check]:
    """Buying names and serving them over ACME: the registrar's credentials, the budget, the
    address DNS records point at, and the ports a public CA must reach."""
    checks: list[Check] = []
    if settings.registrar == "none":
        checks.append(Check("registrar", "ok", "none: names are not bought here (a name you own "
                            "is attached with `appforge domain attach NAME SLUG`)"))
    else:
        try:
            from appforge.domains.registrar import get_registrar

            get_registrar(settings).close()
        except AppforgeError as exc:
            checks.append(Check("registrar", "fail", str(exc), exc.hint or ""))
        else:
            sandbox = " (its sandbox: no money moves)" if settings.registrar_sandbox else ""
            checks.append(Check("registrar", "ok", f"{settings.registrar}{sandbox}, credentials "
                                "set"))
        if settings.domain_budget is None:
            checks.append(Check("domain budget", "warn", "no budget: appforge buys no name",
                                "set APPFORGE_DOMAIN_BUDGET (US dollars, all purchases together)"))
        else:
            checks.append(Check("domain budget", "ok", f"${settings.domain_budget} in all"))
    if (settings.registrar != "none" or settings.dns_provider != "none") and not (
            settings.public_ipv4 or settings.public_ipv6 or settings.public_hostname):
        checks.append(Check("public address", "warn", "DNS records need the address people "
                            "reach this machine at", "set APPFORGE_PUBLIC_IPV4 (or _IPV6, or "
                            "APPFORGE_PUBLIC_HOSTNAME for a CNAME)"))
    if settings.tls == "acme":
        checks.append(_acme(settings))
    return checks


def _acme(settings: Settings) -> Check:
    """A public CA checks a name on port 80 (HTTP-01) or 443 (TLS-ALPN-01) of its address."""
    problems = []
    if settings.http_port != 80 or settings.https_port != 443:
        problems.append(f"the proxy listens on {settings.http_port}/{settings.https_port}, "
                        "not 80/443")
    if settings.bind_address in ("127.0.0.1", "::1", "localhost"):
        problems.append(f"it is bound to {settings.bind_address}, which the CA cannot reach")
    if not settings.acme_email:
        problems.append("no APPFORGE_ACME_EMAIL for the CA's notices")
    ca = settings.acme_ca or "Let's Encrypt"
    if problems and not settings.acme_ca:
        return Check("acme", "fail", f"certificates from {ca}: " + "; ".join(problems),
                     "APPFORGE_HTTP_PORT=80 APPFORGE_HTTPS_PORT=443 APPFORGE_BIND_ADDRESS=0.0.0.0"
                     " APPFORGE_ACME_EMAIL=you@example.com (and forward 80/443 to this machine)")
    if problems:  # a CA of one's own (staging, Pebble) may reach other ports
        return Check("acme", "warn", f"certificates from {ca}: " + "; ".join(problems))
    return Check("acme", "ok", f"certificates from {ca} on ports 80/443")

