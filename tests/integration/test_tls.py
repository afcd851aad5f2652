"""TLS with Caddy's internal CA: HTTPS that verifies against the exported root, HTTP redirects."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from appforge.config import Settings
from appforge.sandbox.containers import purge_instance
from tests.conftest import appforge_env, free_port
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def tls_install(docker_client: Any, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Installation]:
    home = tmp_path_factory.mktemp("appforge-tls")
    instance, http_port, https_port = f"aftls{os.getpid()}", free_port(), free_port()
    env = appforge_env(home, instance, http_port)
    env.update(APPFORGE_TLS="internal", APPFORGE_HTTPS_PORT=str(https_port))
    settings = Settings(home=home, instance=instance, http_port=http_port,
                        https_port=https_port, tls="internal")
    yield Installation(settings=settings, env=env)
    purge_instance(docker_client, instance)


def _https_get(port: int, host: str, path: str, ca: str | None) -> tuple[str, str]:
    """GET over TLS to 127.0.0.1 with ``host`` as SNI; returns (status line, certificate CN)."""
    context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                        .encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
            names = [v for field in tls.getpeercert()["subjectAltName"] for v in field]
    return data.split(b"\r\n", 1)[0].decode(), " ".join(names)


def test_https_with_internal_ca_and_redirect(tls_install: Installation) -> None:
    result = tls_install.run_json("build", "a todo list")
    port = tls_install.settings.https_port
    assert result["url"] == f"https://todo-list.localhost:{port}"
    cert = tls_install.run_json("trust")["certificate"]
    assert "BEGIN CERTIFICATE" in open(cert).read()

    status, names = _https_get(port, "todo-list.localhost", "/healthz", ca=cert)
    assert status == "HTTP/1.1 200 OK"
    assert "todo-list.localhost" in names

    with pytest.raises(ssl.SSLCertVerificationError):
        _https_get(port, "todo-list.localhost", "/healthz", ca=None)  # system CAs only

    plain = httpx.get(f"http://127.0.0.1:{tls_install.settings.http_port}/tasks?page=2",
                      headers={"Host": "todo-list.localhost"}, follow_redirects=False)
    assert plain.status_code == 308
    assert plain.headers["location"] == f"https://todo-list.localhost:{port}/tasks?page=2"

    trust = subprocess.run([sys.executable, "-m", "appforge.cli", "trust"], env=tls_install.env,
                           capture_output=True, text=True, check=True)
    assert "update-ca-certificates" in trust.stdout
