"""Every blueprint's API keeps the contract its own OpenAPI document states, under hostile clients.

The judge is a tool nobody on the project wrote: Schemathesis (``st run``, every check) against
each app's ``/openapi.json`` through the real proxy, with the app's Host header. It sends
schema-valid and schema-violating data, unknown methods, stateful sequences (create, read, change,
delete), and fails on a 500, on a status code or body the document does not state, on invalid
data accepted or valid data refused, and on a wrong ``Allow``. Issue 11 counted 27 and 25 such
failures on two CRUD apps before the generated APIs were made strict.

The run is deterministic (Schemathesis' derandomized mode; the seed is fixed too) and bounded
(``EXAMPLES`` per operation, one worker), so CI never fails by chance and the module stays near
a minute and a half on two cores. The same apps passed with other seeds and with 200 examples
when this was written.

Last, a 100 MB body sent straight to an app (inside its container, past the proxy) gets 413
without the app reading it, and the app keeps serving.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from appforge.sandbox.containers import container_name
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

APPS = {
    # text, money, decimal (cm), integer (a count) and boolean fields
    "bikes": "A bike-shop inventory: each bike has a model, a price, a frame size in cm, stock "
             "count and whether it is electric",
    # text, email, phone, url, date, long text and image fields (an upload: raw bodies, 415)
    "contacts": "A contacts app: each contact has a name, an email, a phone number, a website, "
                "a birthday, notes and a photo",
    "landing": "A landing page for a surf school in Ericeira with a hero video of waves at sunrise",
    "gallery": "a portfolio of six photos of foxes and owls",
}
EXAMPLES = 20
SEED = 11


@pytest.fixture(scope="module")
def apps(installation: Installation) -> dict[str, dict[str, Any]]:
    # Four builds at once: each waits on the engine (image build, health check) more than it
    # computes, and different apps never wait for each other's lock.
    with ThreadPoolExecutor(max_workers=len(APPS)) as pool:
        futures = {name: pool.submit(installation.run_json, "build", description)
                   for name, description in APPS.items()}
        built = {name: future.result() for name, future in futures.items()}
    for name, app in built.items():
        assert app["status"] == "running", (name, app)
    assert [built[name]["kind"] for name in APPS] == ["crud", "crud", "landing", "gallery"]
    return built


def host_of(app: dict[str, Any]) -> str:
    """``http://bike-shop-inventory.localhost:18611`` -> ``bike-shop-inventory.localhost``."""
    return app["url"].split("//", 1)[1].rsplit(":", 1)[0]


@pytest.mark.parametrize("name", list(APPS))
def test_schemathesis_finds_nothing_wrong_with_the_api(
        installation: Installation, apps: dict[str, dict[str, Any]], name: str,
        tmp_path: Any) -> None:
    base = f"http://127.0.0.1:{installation.settings.http_port}"
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json",
        "--header", f"Host: {host_of(apps[name])}",
        "--checks", "all",
        "--max-examples", str(EXAMPLES),
        # Derandomized: the same apps get the same requests on every run (the seed is then
        # unused, and fixed all the same).
        "--generation-deterministic", "--seed", str(SEED),
        "--workers", "1",
        "--request-timeout", "30",
        "--no-color",
    ]
    # Schemathesis keeps its files in the working directory: a temporary one, not the repository.
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"Schemathesis found failures in the {name} app (exit {result.returncode}):\n"
        f"{' '.join(command)}\n\n{output[-20000:]}")
    assert "No issues found" in output, output[-5000:]


# Runs inside the app's container, as the app's user: two 100 MB bodies straight to uvicorn,
# one with a declared length and one chunked, each written until the app answers; then an
# ordinary request on a new connection. Prints each status and how much of the body got sent.
BIG_BODIES = textwrap.dedent("""
    import json, select, socket, sys
    PATH, MiB = sys.argv[1], 2**20

    def exchange(head, chunks):
        sock = socket.create_connection(("127.0.0.1", 8000), timeout=60)
        sock.sendall(head)
        sent = 0
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # answered: the app wants no more
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += len(chunk)
        answer = b""
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
                if b"\\r\\n\\r\\n" in answer:
                    sock.settimeout(2)
        except OSError:
            pass
        sock.close()
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None
        body = answer.partition(b"\\r\\n\\r\\n")[2].decode("utf-8", "replace")
        return {"status": status, "sent": sent, "body": body[:300]}

    head = f"POST {PATH} HTTP/1.1\\r\\nHost: app\\r\\nContent-Type: application/json\\r\\n"
    declared = exchange(f"{head}Content-Length: {100 * MiB}\\r\\n\\r\\n".encode(),
                        (b"{" * MiB for _ in range(100)))
    chunked = exchange(f"{head}Transfer-Encoding: chunked\\r\\n\\r\\n".encode(),
                       (b"%x\\r\\n" % MiB + b"{" * MiB + b"\\r\\n" for _ in range(100)))
    after = exchange(f"GET {PATH} HTTP/1.1\\r\\nHost: app\\r\\nConnection: close\\r\\n\\r\\n"
                     .encode(), ())
    print(json.dumps({"declared": declared, "chunked": chunked, "after": after}))
""")


def test_a_100_mb_body_sent_straight_to_the_app_gets_413_and_it_keeps_serving(
        installation: Installation, apps: dict[str, dict[str, Any]], docker_client: Any) -> None:
    bikes = apps["bikes"]
    container = docker_client.containers.get(
        container_name(installation.settings, bikes["slug"], bikes["version"]))
    exit_code, output = container.exec_run(["python3", "-c", BIG_BODIES, "/api/bikes"],
                                           user="10001")
    assert exit_code == 0, output.decode()
    seen = json.loads(output.decode().strip().splitlines()[-1])
    for way in ("declared", "chunked"):
        assert seen[way]["status"] == 413, seen
        assert json.loads(seen[way]["body"]) == {
            "detail": "The request body is larger than this app accepts (1 MiB)."}
        assert seen[way]["sent"] < 100 * 2**20, seen  # answered before the body was all sent
    assert seen["after"]["status"] == 200, seen
    container.reload()
    assert container.attrs["State"]["Running"] and not container.attrs["State"]["OOMKilled"]
    assert container.attrs["RestartCount"] == 0
    assert installation.get(host_of(bikes), "/api/bikes").status_code == 200


def test_an_app_people_upload_photos_to_takes_larger_bodies_than_one_of_text(
        installation: Installation, apps: dict[str, dict[str, Any]]) -> None:
    contacts, bikes = apps["contacts"], apps["bikes"]
    assert installation.run_json("show", contacts["slug"])["limits"]["body"] == "50m"
    assert installation.run_json("show", bikes["slug"])["limits"]["body"] == "1m"
    created = httpx.post(f"http://127.0.0.1:{installation.settings.http_port}/api/contacts",
                         headers={"Host": host_of(contacts)}, json={"name": "Ada"}, timeout=10)
    assert created.status_code == 201, created.text
    photo = b"\x89PNG\r\n\x1a\n" + bytes(3 * 2**20)  # 3 MiB: over 1m, through the proxy
    url = f"http://127.0.0.1:{installation.settings.http_port}/api/contacts/" \
          f"{created.json()['id']}/photo"
    sent = httpx.put(url, headers={"Host": host_of(contacts), "Content-Type": "image/png"},
                     content=photo, timeout=30)
    assert sent.status_code == 200, sent.text
    assert sent.json()["photo"]["size"] == len(photo)
    got = httpx.get(url, headers={"Host": host_of(contacts)}, timeout=30)
    assert got.content == photo and got.headers["content-type"] == "image/png"
