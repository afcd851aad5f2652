"""Sandbox pieces that need no engine: mirror discovery, proxy config, hardening flags, context."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from appforge.config import Settings
from appforge.errors import BaseImageError
from appforge.sandbox.base_images import debian_mirror_from_apt
from appforge.sandbox.build import _write_context, with_labels
from appforge.sandbox.caddy_config import Route, render_config
from appforge.sandbox.hardening import hardened_run_kwargs
from appforge.sandbox.proxy import proxy_run_kwargs


def test_mirror_is_read_from_deb822_sources(tmp_path: Path) -> None:
    (tmp_path / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n")
    assert debian_mirror_from_apt("bookworm", (tmp_path,)) == "http://mirror.example/debian"


def test_mirror_is_read_from_one_line_sources(tmp_path: Path) -> None:
    path = tmp_path / "sources.list"
    path.write_text("# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n")
    assert debian_mirror_from_apt("bookworm", (path,)) == "http://m.example/debian"


def test_missing_mirror_says_which_setting_fixes_it(tmp_path: Path) -> None:
    with pytest.raises(BaseImageError) as info:
        debian_mirror_from_apt("bookworm", (tmp_path,))
    assert "APPFORGE_DEBIAN_MIRROR" in (info.value.hint or "")


def test_proxy_config_routes_each_host_and_answers_404_otherwise() -> None:
    config = render_config([Route("b", ("b.localhost",), "x-b-v2:8000"),
                            Route("a", ("a.localhost", "a.example.com"), "x-a-v1:8000")])
    server = config["apps"]["http"]["servers"]["appforge"]
    routes = server["routes"]
    assert routes[0]["match"] == [{"host": ["a.localhost", "a.example.com"]}]
    assert routes[1]["handle"][0]["upstreams"] == [{"dial": "x-b-v2:8000"}]
    assert routes[-1]["handle"][0]["status_code"] == 404
    assert server["automatic_https"] == {"disable": True}
    stopped = render_config([Route("c", ("c.localhost",))])["apps"]["http"]["servers"]
    assert stopped["appforge"]["routes"][0]["handle"][0]["status_code"] == 503
    assert config["admin"]["listen"].startswith("unix/")


def test_hardening_drops_everything_and_limits_resources(settings: Settings) -> None:
    kw = hardened_run_kwargs(settings)
    assert kw["read_only"] and kw["cap_drop"] == ["ALL"] and kw["user"] == "10001:10001"
    assert "no-new-privileges:true" in kw["security_opt"]
    assert kw["pids_limit"] > 0 and kw["mem_limit"] and kw["nano_cpus"] > 0
    assert "/tmp" in kw["tmpfs"]


def test_app_test_browser_and_proxy_containers_keep_bounded_logs(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, instance="afunit", log_max_size="2m", log_max_files=4)
    capped = {"type": "json-file", "config": {"max-size": "2m", "max-file": "4"}}
    assert hardened_run_kwargs(settings)["log_config"] == capped
    assert proxy_run_kwargs(settings)["log_config"] == capped


def test_build_context_is_reproducible_and_skips_links_and_caches(tmp_path: Path) -> None:
    ws, wheels = tmp_path / "ws", tmp_path / "wheels"
    (ws / "app" / "__pycache__").mkdir(parents=True)
    (ws / "app" / "main.py").write_text("x = 1\n")
    (ws / "app" / "__pycache__" / "main.pyc").write_bytes(b"\0")
    (ws / "Dockerfile").write_text("FROM x\n")
    (ws / "escape").symlink_to("/etc/passwd")
    wheels.mkdir()
    (wheels / "a-1-py3-none-any.whl").write_bytes(b"w")
    blobs = []
    for _ in range(2):
        buf = io.BytesIO()
        _write_context(buf, ws, wheels)
        blobs.append(buf.getvalue())
    assert blobs[0] == blobs[1]
    names = tarfile.open(fileobj=io.BytesIO(blobs[0])).getnames()
    assert "app/main.py" in names and "wheels/a-1-py3-none-any.whl" in names
    assert "escape" not in names and not any("__pycache__" in n for n in names)


STAGES = """FROM base AS deps
RUN make deps

# the runtime
FROM deps AS runtime
COPY app/ ./app/

# the tests, on top
FROM deps AS test
COPY tests/ ./tests/
"""


def test_labels_are_one_instruction_at_the_end_of_the_target_stage(tmp_path: Path) -> None:
    labels = {"io.appforge.app": "notes", "io.appforge.version": "3"}
    runtime = with_labels(STAGES, "runtime", labels)
    assert runtime is not None
    assert 'COPY app/ ./app/\nLABEL "io.appforge.app"="notes" "io.appforge.version"="3"\n\n' \
        '# the tests' in runtime
    test = with_labels(STAGES, "test", labels)
    assert test is not None and test.endswith('COPY tests/ ./tests/\nLABEL "io.appforge.app"='
                                              '"notes" "io.appforge.version"="3"\n')
    assert test.count("LABEL") == 1
    # no such stage, or one that ends inside a continued line: the engine adds the labels
    assert with_labels(STAGES, "browser", labels) is None
    assert with_labels("FROM x AS test\nRUN a \\\n", "test", labels) is None
    # and the context carries the labelled Dockerfile, not the workspace's
    ws, wheels = tmp_path / "ws", tmp_path / "wheels"
    ws.mkdir()
    wheels.mkdir()
    (ws / "Dockerfile").write_text(STAGES)
    buf = io.BytesIO()
    _write_context(buf, ws, wheels, dockerfile=runtime)
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tar:
        packed = tar.extractfile("Dockerfile")
        assert packed is not None and packed.read().decode() == runtime
    assert (ws / "Dockerfile").read_text() == STAGES


def test_per_app_limits_override_the_defaults_and_bad_ones_are_refused(settings: Settings) -> None:
    from appforge.errors import InvalidInput
    from appforge.sandbox.hardening import Limits

    kw = hardened_run_kwargs(settings, Limits.resolve(settings, "512M", 0.5, 64))
    assert (kw["mem_limit"], kw["nano_cpus"], kw["pids_limit"]) == ("512m", 500_000_000, 64)
    for bad in ({"memory": "lots"}, {"memory": "1k"}, {"cpus": 0.0}, {"cpus": 512.0},
                {"pids": 2}, {"body": "big"}, {"body": "100"}, {"body": "2g"}):
        with pytest.raises(InvalidInput):
            Limits.resolve(settings, **bad)
    assert Limits.resolve(settings).body_bytes == 2**20  # the default, 1m
    assert Limits.resolve(settings, body="10M").body_bytes == 10 * 2**20


@pytest.mark.parametrize("limit", [1024, 1000, 999, 2**20, 10**6, 9, 5 * 2**30, 1099])
def test_the_content_length_pattern_matches_exactly_the_numbers_above_the_limit(
        limit: int) -> None:
    import re

    from appforge.sandbox.caddy_config import above_pattern

    above = re.compile(above_pattern(limit))
    near = list(range(max(0, limit - 1200), limit + 1200)) + [0, 10 * limit, 10**18]
    wrong = [n for n in near if bool(above.match(str(n))) != (n > limit)]
    assert wrong == []
    assert above.match("000" + str(limit + 1)) and not above.match("0" + str(limit))
    assert not above.match("") and not above.match("12x") and not above.match("-5")


def test_each_route_limits_the_body_and_keeps_idle_upstream_connections_short() -> None:
    config = render_config([Route("a", ("a.localhost",), "x-a:8000", max_body=2**20)],
                           idle_timeout=12)
    servers = config["apps"]["http"]["servers"]
    subroute, = servers["appforge"]["routes"][0]["handle"]
    declared, streamed = subroute["routes"]
    assert declared["match"][0]["header_regexp"]["Content-Length"]["pattern"].startswith("^0*")
    assert declared["handle"][0]["status_code"] == 413
    assert "1 MiB" in declared["handle"][0]["body"]
    body, proxy = streamed["handle"]
    assert body == {"handler": "request_body", "max_size": 2**20}
    assert proxy["transport"]["keep_alive"] == {"idle_timeout": "12s"}
    assert proxy["load_balancing"]["retry_match"] == [{"method": ["GET", "HEAD", "OPTIONS"]}]
    too_large, other = subroute["errors"]["routes"]  # a chunked body cut at the limit: 413
    assert too_large["handle"][0]["status_code"] == 413
    # any other error keeps its status (no route matching would make Caddy answer an empty 200)
    assert other == {"handle": [{**other["handle"][0], "status_code": "{http.error.status_code}"}]}
    # the health check's own server, on the container's loopback only, in every TLS mode
    for tls in ("off", "internal"):
        health = render_config([], tls=tls)["apps"]["http"]["servers"]["health"]
        assert health["listen"] == ["127.0.0.1:8081"]


def test_tls_config_uses_internal_ca_for_local_names_and_acme_for_public_ones() -> None:
    routes = [Route("a", ("a.localhost", "shop.example.com"), "x-a:8000")]
    internal = render_config(routes, tls="internal", public_https_port=8443)
    assert internal["apps"]["tls"]["automation"]["policies"] == [
        {"issuers": [{"module": "internal"}]}]
    redirect = internal["apps"]["http"]["servers"]["redirect"]["routes"][0]["handle"][0]
    assert redirect["status_code"] == 308
    assert redirect["headers"]["Location"] == [
        "https://{http.request.host}:8443{http.request.uri}"]
    acme = render_config(routes, tls="acme", acme_email="ops@example.com")
    policies = acme["apps"]["tls"]["automation"]["policies"]
    assert policies[0] == {"subjects": ["a.localhost"], "issuers": [{"module": "internal"}]}
    assert policies[1] == {"issuers": [{"module": "acme", "email": "ops@example.com"}]}
    server = acme["apps"]["http"]["servers"]["redirect"]["routes"][0]["handle"][0]
    assert server["headers"]["Location"] == ["https://{http.request.host}{http.request.uri}"]


def test_acme_config_names_the_ca_and_the_root_it_trusts_for_public_names_only() -> None:
    routes = [Route("a", ("a.localhost", "shop.example.com"), "x-a:8000")]
    config = render_config(routes, tls="acme", acme_email="ops@example.com",
                           acme_ca="https://pebble:14000/dir",
                           acme_ca_root="/data/acme-ca-root.pem")
    local, public = config["apps"]["tls"]["automation"]["policies"]
    assert local == {"subjects": ["a.localhost"], "issuers": [{"module": "internal"}]}
    assert public == {"issuers": [{"module": "acme", "email": "ops@example.com",
                                   "ca": "https://pebble:14000/dir",
                                   "trusted_roots_pem_files": ["/data/acme-ca-root.pem"]}]}
    # the challenges are answered on the proxy's own ports, which the HTTP app names
    assert config["apps"]["http"]["http_port"] == 8080
    assert config["apps"]["http"]["https_port"] == 8443


def test_the_acme_ca_root_is_copied_where_the_proxy_reads_it(settings: Settings,
                                                             tmp_path: Path) -> None:
    from appforge.errors import ProxyError
    from appforge.sandbox.proxy import config_for

    root = tmp_path / "ca.pem"
    root.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    acme = settings.model_copy(update={"tls": "acme", "acme_email": "ops@example.com",
                                       "acme_ca": "https://ca.example.net/dir",
                                       "acme_ca_root": root})
    issuer = config_for(acme, [])["apps"]["tls"]["automation"]["policies"][-1]["issuers"][0]
    assert issuer["trusted_roots_pem_files"] == ["/data/acme-ca-root.pem"]
    assert (settings.proxy_dir / "data" / "acme-ca-root.pem").read_text() == root.read_text()
    # without ACME the root is not used, and a file that holds no certificate is refused
    assert "tls" not in config_for(settings.model_copy(update={"acme_ca_root": root}),
                                   [])["apps"]
    root.write_text("not a certificate")
    with pytest.raises(ProxyError, match="holds no PEM certificate"):
        config_for(acme, [])
