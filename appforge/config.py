"""Settings, read once from ``APPFORGE_*`` environment variables and an optional TOML file.

Nothing else in appforge reads the environment: the CLI builds one :class:`Settings` and passes it
down. The TOML file is ``$APPFORGE_HOME/config.toml`` (keys are the field names below).
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from appforge.spec import validate_domain


def _default_home() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "appforge"


class Settings(BaseSettings):
    """Every knob appforge has, with defaults that work offline on one machine."""

    model_config = SettingsConfigDict(env_prefix="APPFORGE_", extra="ignore",
                                      populate_by_name=True)

    #: Data dir: workspaces, SQLite store and checkpoints, wheelhouse, proxy socket.
    home: Path = Field(default_factory=_default_home)
    #: Apps answer at ``<slug>.<base_domain>`` unless they have their own domain.
    base_domain: str = "localhost"
    #: Prefix of every Docker object this installation makes (containers, networks, volumes,
    #: image names), so two installations (or a test run) on one engine never touch each other.
    instance: str = Field(default="appforge", pattern=r"^[a-z][a-z0-9-]{0,20}$")
    #: Host port the proxy publishes (on ``bind_address``).
    http_port: int = Field(default=80, ge=1, le=65535)
    bind_address: str = "127.0.0.1"
    #: Docker engine address; empty means the docker SDK's own default (DOCKER_HOST or the socket).
    docker_host: str = ""
    #: Where apps run: ``docker`` (plain containers on that engine) or ``swarm`` (services on
    #: the Docker Swarm that engine manages: ``appforge cluster init``; see engines/swarm.py).
    engine: Literal["docker", "swarm"] = "docker"
    #: Swarm: the port of the cluster's image registry on the manager, and the address nodes
    #: pull from (empty: 127.0.0.1:<port>, which only a single-node swarm reaches).
    registry_port: int = Field(default=5000, ge=1, le=65535)
    registry_address: str = Field(default="", pattern=r"^(|[A-Za-z0-9.\[\]:-]+:[0-9]+)$")
    registry_image: str = "appforge/registry:bookworm"
    #: Swarm: replicas of a new app (``--replicas`` and ``appforge scale`` set them per app).
    replicas: int = Field(default=1, ge=1, le=100)
    #: Base images; pulled when a registry answers, else bootstrapped from Debian packages.
    python_base_image: str = "appforge/python:3.11-bookworm"
    #: (``-2``: with busybox's wget for its health check; the older image lacks it.)
    proxy_image: str = "appforge/caddy:bookworm-2"
    #: Registry image tried first for the Python base (skipped when ``pull_base`` is off).
    python_pull_ref: str = "python:3.11-slim-bookworm"
    pull_base: bool = True
    debian_suite: str = "bookworm"
    #: Debian mirror for debootstrap; empty means "read it from this machine's apt sources".
    debian_mirror: str = ""
    #: Per-app container limits.
    memory_limit: str = "256m"
    cpu_limit: float = 1.0
    pids_limit: int = 128
    #: The largest request body an app takes (per app: `appforge build --max-body`); the proxy
    #: and the app both answer 413 above it.
    max_body: str = "1m"
    #: All files people upload to one app together (apps with image or file fields): above it
    #: an upload is answered 507, saying how much is used. Passed as APP_UPLOAD_QUOTA_BYTES.
    upload_quota: str = "1g"

    @field_validator("upload_quota")
    @classmethod
    def _a_size(cls, value: str) -> str:
        from appforge.errors import InvalidInput
        from appforge.sandbox.hardening import size_in_bytes

        try:
            size_in_bytes(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return value.lower()
    #: Seconds the proxy keeps an idle connection to an app open. Below the apps' own keep-alive
    #: (75 s, in their Dockerfile), so the proxy always closes first and never sends a request on
    #: a connection the app is closing.
    upstream_idle_timeout: float = Field(default=30.0, gt=0, lt=75)
    #: Run the supervisor (``appforge/supervisor.py``) in the background: it brings back the proxy
    #: and apps that were killed or removed by hand. ``appforge up`` and builds start it.
    supervise: bool = True
    #: Seconds a command waits for an app another appforge process is building or deploying
    #: (``--wait`` on a command overrides it); then it fails, saying which process holds the app.
    lock_wait: float = Field(default=600.0, ge=0)
    #: Seconds to wait for a new container to turn healthy.
    health_timeout: float = 60.0
    #: The address people reach this machine at, for the DNS records of custom domains.
    public_ipv4: str = ""
    public_ipv6: str = ""
    #: A host name that already points here (CNAME target), e.g. ``apps.example.com``.
    public_hostname: str = ""
    #: DNS provider that creates records for custom domains: ``none`` or ``cloudflare``.
    dns_provider: str = "none"
    cloudflare_api_token: str = ""
    cloudflare_api_base: str = "https://api.cloudflare.com/client/v4"
    #: TLS: ``off`` (plain HTTP), ``internal`` (Caddy's own CA) or ``acme`` (Let's Encrypt for
    #: public names, Caddy's CA for local ones); ACME needs ``acme_email``.
    tls: Literal["off", "internal", "acme"] = "off"
    acme_email: str = ""
    https_port: int = Field(default=443, ge=1, le=65535)
    #: ACME directory the proxy asks for certificates (empty: Let's Encrypt's production one),
    #: e.g. a staging CA or, in tests, Pebble. ``acme_ca_root``: a PEM file the proxy trusts for
    #: that directory's HTTPS (only for a CA whose listener a public root does not sign).
    acme_ca: str = ""
    acme_ca_root: Path | None = None
    #: After DNS records change, seconds to wait for the name to resolve to this machine at
    #: every authoritative server before a certificate is asked for.
    dns_propagation_timeout: float = Field(default=600.0, gt=0)
    #: Resolvers used to find a zone's authoritative servers ("host" or "host:port", comma
    #: separated); empty: this machine's resolvers.
    dns_resolvers: str = ""
    #: Seconds ``domain buy``/``attach`` wait for the proxy's certificate of a name (the CA's
    #: challenge, then issuance) before they say which step failed.
    certificate_timeout: float = Field(default=180.0, gt=0)
    #: Domains bought through a registrar (issue 13). ``registrar``: ``none``, ``porkbun``,
    #: ``cloudflare`` or ``namecheap``. ``domain_budget``: US dollars that all purchases together
    #: may spend; no budget means no purchase. Credentials come from the environment
    #: (``APPFORGE_PORKBUN_API_KEY`` ...) or ``registrar_credentials``, a TOML file that only its
    #: owner may read (mode 0600).
    registrar: Literal["none", "porkbun", "cloudflare", "namecheap"] = "none"
    domain_budget: Decimal | None = Field(default=None, ge=0)
    registrar_credentials: Path | None = None
    #: The registrar's sandbox (Porkbun sandbox keys, Cloudflare's registrar-sandbox, Namecheap's
    #: sandbox host): no money moves.
    registrar_sandbox: bool = False
    #: Override of the registrar's API base URL (a test server, a proxy); empty: its real one.
    registrar_api_base: str = ""
    porkbun_api_key: SecretStr = SecretStr("")
    porkbun_secret_key: SecretStr = SecretStr("")
    cloudflare_account_id: str = ""
    namecheap_api_user: str = ""
    namecheap_api_key: SecretStr = SecretStr("")
    namecheap_username: str = ""
    namecheap_client_ip: str = ""
    #: ``auto`` uses diffusers when a GPU and the model's weights are here, else procedural.
    image_backend: Literal["auto", "procedural", "diffusers"] = "auto"
    video_backend: Literal["auto", "procedural", "diffusers"] = "auto"
    #: A Hugging Face model id (found in the local cache, never downloaded) or a local folder.
    image_model: str = "stabilityai/sd-turbo"
    video_model: str = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
    diffusers_device: Literal["auto", "cuda", "cpu"] = "auto"
    diffusers_dtype: str = "bfloat16"
    diffusers_cpu_offload: bool = False
    diffusers_vae_tiling: bool = False
    #: Denoising steps; 0 means the model family's default (1 for SD-Turbo, 4 for FLUX-schnell).
    image_steps: int = Field(default=0, ge=0, le=200)
    video_steps: int = Field(default=0, ge=0, le=200)
    #: The largest size the video model samples at, ``WIDTHxHEIGHT`` (its area caps the model's
    #: standard one, e.g. Wan's 832x480); the clip is scaled to the page's size. Smaller is
    #: faster and needs less GPU memory: drafts, small GPUs. Empty: the model's standard size.
    video_sample_size: str = Field(default="", pattern=r"^(|[1-9][0-9]*x[1-9][0-9]*)$")
    #: First-block cache threshold for video (0 = off): faster, slightly different output.
    diffusers_step_cache: float = Field(default=0.0, ge=0.0, le=1.0)
    diffusers_compile: bool = False
    #: ``auto``: the LLM planner when an endpoint or model is configured, else the blueprint one.
    planner: Literal["auto", "blueprint", "llm"] = "auto"
    #: Any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp's server, LM Studio).
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = Field(default="", validation_alias=AliasChoices(
        "APPFORGE_LLM_API_KEY", "OPENAI_API_KEY", "llm_api_key"))
    llm_timeout: float = Field(default=120.0, gt=0)
    #: Stream answers: keeps a slow local server from hitting the read timeout on a long answer
    #: (each delta restarts it), lets appforge stop a runaway answer early, and makes a closed
    #: connection stop the server's generation (llama.cpp, vLLM and Ollama stop only then).
    llm_stream: bool = True
    #: The most tokens one answer may have: a plan, a revised plan (the chat), one coder step.
    llm_max_tokens_plan: int = Field(default=1200, ge=64)
    llm_max_tokens_revise: int = Field(default=1200, ge=64)
    llm_max_tokens_step: int = Field(default=2048, ge=64)
    #: Seconds for the whole planning step (every attempt) and for one coder session; past
    #: them the calls are cancelled and the build goes on with what it has (0: no deadline).
    llm_plan_deadline: float = Field(default=150.0, ge=0)
    llm_coder_deadline: float = Field(default=240.0, ge=0)
    #: ``llm``: after the blueprint writes its code, the LLM edits it (tools confined to the
    #: workspace, tests run in the sandbox) until the tests pass or a budget is spent.
    coder: Literal["blueprint", "llm"] = "blueprint"
    coder_max_steps: int = Field(default=40, ge=1, le=500)
    #: Tokens the coder may use per session (0: no limit besides the steps).
    coder_max_tokens: int = Field(default=0, ge=0)
    #: US dollars per million prompt / completion tokens, for the cost report (0: unknown;
    #: endpoints that report a cost per call, such as OpenRouter, need none).
    llm_price_input: float = Field(default=0.0, ge=0)
    llm_price_output: float = Field(default=0.0, ge=0)
    #: Rounds of the fix loop (failing tests or an unhealthy version back to the LLM coder).
    coder_fix_rounds: int = Field(default=2, ge=0, le=10)
    #: An app the LLM coder writes gets appforge's contract test of its API in its test stage
    #: (Schemathesis, all checks): at most this many generated requests per operation (0: off).
    api_check_examples: int = Field(default=15, ge=0, le=1000)
    #: The review dashboard (``appforge serve``): bound to loopback unless configured; bound
    #: anywhere else it asks for ``serve_token``.
    serve_host: str = "127.0.0.1"
    serve_port: int = Field(default=8470, ge=1, le=65535)
    serve_token: str = ""
    #: Chromium for the screenshot of each deployed version (run inside a sandbox container).
    screenshots: bool = True
    #: An image whose content (layers and run config) already passed its tests is not tested
    #: again: a rebuild that changed nothing does not wait for the same tests twice.
    test_cache: bool = True
    #: The browser image for screenshots (built once per machine on top of the Python base);
    #: empty means ``appforge/browser:<debian_suite>``.
    browser_image: str = ""
    #: Container logs (apps, proxy, tests, helpers) are capped: json-file rotation at this size,
    #: keeping this many files, so an app that logs without end cannot fill the disk.
    log_max_size: str = Field(default="10m", pattern=r"^[0-9]+[kmg]$")
    log_max_files: int = Field(default=3, ge=1, le=100)
    #: Snapshots of app data before deploys, rollbacks, restores and destroys; empty means
    #: ``$APPFORGE_HOME/backups``. ``backup_keep`` snapshots are kept per app (oldest go first).
    backup_dir: Path | None = None
    backup_keep: int = Field(default=10, ge=1, le=1000)
    #: Where apps' Python wheels are kept (empty: ``$APPFORGE_HOME/wheelhouse``); several
    #: installations on one machine may share one (folders are named by the requirements' hash,
    #: and filled under a lock).
    wheelhouse_dir: Path | None = None
    #: Where the test cache keeps the reports of image contents whose tests passed (empty:
    #: ``$APPFORGE_HOME/cache/tests``); shareable the same way.
    test_cache_dir: Path | None = None
    #: Crash tests only: at this point appforge writes ``test_pause_file`` and waits there, so
    #: the test can kill it: a build stage as it starts (``plan``, ``write_code``,
    #: ``make_assets``, ``test``, ``package``, ``deploy``, ``verify``), ``test:running``,
    #: ``deploy:started`` (new version started), ``deploy:switched`` (routed beside the old one),
    #: ``deploy:recorded`` (the store names it, the old one still runs), ``deploy:snapshotted``
    #: and ``rollback:snapshotted`` (the data kept, nothing started yet).
    test_pause_at: str = ""
    test_pause_file: str = ""

    @field_validator("base_domain")
    @classmethod
    def _base_domain(cls, value: str) -> str:
        return validate_domain(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlFile(settings_cls))

    # Paths under home -------------------------------------------------------------------------
    @property
    def workspaces(self) -> Path:
        return self.home / "apps"

    @property
    def db_path(self) -> Path:
        return self.home / "appforge.sqlite"

    @property
    def checkpoint_path(self) -> Path:
        return self.home / "checkpoints.sqlite"

    @property
    def wheelhouse(self) -> Path:
        return self.wheelhouse_dir or self.home / "wheelhouse"

    @property
    def backups(self) -> Path:
        return self.backup_dir or self.home / "backups"

    @property
    def proxy_dir(self) -> Path:
        return self.home / "proxy"

    @property
    def planner_name(self) -> str:
        """The planner ``auto`` stands for here."""
        if self.planner != "auto":
            return self.planner
        return "llm" if (self.llm_base_url or self.llm_model) else "blueprint"

    def diffusion_options(self, kind: str) -> Any:
        from appforge.generators.diffusion import DiffusionOptions

        steps = self.image_steps if kind == "image" else self.video_steps
        return DiffusionOptions(device=self.diffusers_device, dtype=self.diffusers_dtype,
                                cpu_offload=self.diffusers_cpu_offload,
                                vae_tiling=self.diffusers_vae_tiling, steps=steps or None,
                                step_cache=self.diffusers_step_cache if kind == "video" else 0.0,
                                compile=self.diffusers_compile,
                                max_area=_area(self.video_sample_size) if kind == "video" else None)

    def url_for(self, host: str) -> str:
        if self.tls != "off":
            port = "" if self.https_port == 443 else f":{self.https_port}"
            return f"https://{host}{port}"
        port = "" if self.http_port == 80 else f":{self.http_port}"
        return f"http://{host}{port}"


def _area(size: str) -> int | None:
    """The pixel count of ``WIDTHxHEIGHT``; None for empty."""
    if not size:
        return None
    width, height = size.split("x")
    return int(width) * int(height)


class _TomlFile(PydanticBaseSettingsSource):
    """Reads ``config.toml`` from the data dir named by the environment or the default."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        import tomllib

        home = os.environ.get("APPFORGE_HOME")
        path = (Path(home) if home else _default_home()) / "config.toml"
        if not path.is_file():
            return {}
        with path.open("rb") as fh:
            return tomllib.load(fh)
