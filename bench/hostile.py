"""Hostile clients against a generated CRUD app, through the proxy: what they do to it.

Usage: python bench/hostile.py [--port 18470] [--connections 24] [--json]

- body attack: four rounds of a 100 MB request body, then eight 10 MB bodies at once, to the
  app's API. Then: whether its container was killed for memory, its restarts and state, and how
  long until it answers ``/`` again (watched for a minute).
- keep-alive: ``--connections`` clients each send a request, pause 4.90-5.10 s (the old race:
  uvicorn's 5 s keep-alive against the proxy's 2 min pool), then send another on the same
  connection (a GET or a POST); the 502s are counted. The same again around the proxy's idle
  timeout for upstream connections (30 s), where there is one.

It builds the app in a throwaway installation (its own data dir, instance and port) and removes
it at the end. Run it on two commits to compare (the issue-11 figures in docs/performance.md).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appforge.agent.run import build  # noqa: E402
from appforge.config import Settings  # noqa: E402

APP = ("A bike-shop inventory. Each bike has a model, a price, a frame size in cm, the number "
       "in stock and whether it is electric.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18470)
    parser.add_argument("--connections", type=int, default=24)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="appforge-hostile-"))
    settings = Settings(home=home, instance=f"afhostile{os.getpid()}", http_port=args.port,
                        screenshots=False, supervise=False)
    try:
        result = build(APP, settings)
        host = result.url.split("//", 1)[1].split(":", 1)[0]
        api = _collection(args.port, host)
        report: dict[str, Any] = {"app": result.slug}
        idle = getattr(settings, "upstream_idle_timeout", None)  # absent before issue 11
        report["keep_alive"] = _keep_alive(args.port, host, api, args.connections,
                                           [5.0] + ([idle] if idle else []))
        report["body_attack"] = _body_attack(settings, args.port, host, api, result.slug,
                                             result.version)
    finally:
        from appforge.sandbox.containers import purge_instance
        from appforge.sandbox.engine import connect

        purge_instance(connect(settings), settings.instance)
    if args.json:
        print(json.dumps(report))
        return
    attack = report["body_attack"]
    back = attack["serving_again_after_s"]
    print(f"body attack on {report['app']} (4 rounds of 100 MB + 8 x 10 MB): answers "
          f"{attack['answers']}; OOM-killed {attack['oom_killed']}; restarts "
          f"{attack['restarts']}; container {attack['state']}; serving "
          + ("at once" if back == 0 else f"again after {back} s" if back is not None
             else "NOT AGAIN within 60 s"))
    for row in report["keep_alive"]:
        print(f"keep-alive, pauses {row['pauses']}: {row['bad']} of {row['requests']} second "
              f"requests failed ({row['statuses']})")


def _collection(port: int, host: str) -> str:
    """The first API path that takes a POST, from the app's own OpenAPI document."""
    import httpx

    doc = httpx.get(f"http://127.0.0.1:{port}/openapi.json", headers={"Host": host}).json()
    return next(path for path, ops in doc["paths"].items()
                if path.startswith("/api/") and "post" in ops)


def _body_attack(settings: Settings, port: int, host: str, api: str, slug: str,
                 version: int, rounds: int = 4) -> dict[str, Any]:
    """``rounds`` times: a 100 MB body, then eight 10 MB bodies at once. Then how long until the
    app answers ``/`` again (None: not within a minute)."""
    import httpx

    from appforge.sandbox.containers import container_name
    from appforge.sandbox.engine import connect

    answers: list[str] = []

    def send(size: int) -> None:
        try:
            with httpx.Client(timeout=60) as http:
                r = http.post(f"http://127.0.0.1:{port}{api}", content=b"{" * size,
                              headers={"Host": host, "Content-Type": "application/json"})
            answers.append(str(r.status_code))
        except httpx.HTTPError as exc:
            answers.append(type(exc).__name__)

    client = connect(settings)
    oom = False
    for _ in range(rounds):
        send(100 * 2**20)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, [10 * 2**20] * 8))
        container = client.containers.get(container_name(settings, slug, version))
        oom = oom or bool(container.attrs["State"].get("OOMKilled"))
    start, back = time.monotonic(), None
    with httpx.Client(timeout=2) as http:
        while time.monotonic() - start < 60:
            try:
                if http.get(f"http://127.0.0.1:{port}/", headers={"Host": host}).status_code \
                        == 200:
                    back = round(time.monotonic() - start, 1)
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    container = client.containers.get(container_name(settings, slug, version))
    return {"answers": dict(sorted((a, answers.count(a)) for a in set(answers))),
            "serving_again_after_s": back, "oom_killed": oom,
            "restarts": container.attrs["RestartCount"],
            "state": container.attrs["State"].get("Status")}


def _keep_alive(port: int, host: str, api: str, connections: int,
                boundaries: list[float]) -> list[dict[str, Any]]:
    """Half the clients send a GET after the pause (which the proxy may retry), half a POST
    (which it may not): a connection closed under the proxy shows as a 502."""
    rows = []
    for boundary in boundaries:
        pauses = [boundary - 0.1 + 0.2 * i / max(1, connections - 1) for i in range(connections)]
        statuses: list[int | str] = []
        lock = threading.Lock()

        def client(pause: float, post: bool) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("GET", "/", headers={"Host": host})
                conn.getresponse().read()
                time.sleep(pause)
                if post:  # an empty object: the app answers 422, having read it
                    conn.request("POST", api, body=b"{}", headers={
                        "Host": host, "Content-Type": "application/json"})
                else:
                    conn.request("GET", "/", headers={"Host": host})
                status: int | str = conn.getresponse().status
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
            finally:
                conn.close()
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=client, args=(p, i % 2 == 1))
                   for i, p in enumerate(pauses)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rows.append({"pauses": f"{pauses[0]:.2f}-{pauses[-1]:.2f} s", "requests": len(statuses),
                     "bad": sum(1 for s in statuses if s not in (200, 422)),
                     "statuses": dict(sorted((str(s), statuses.count(s))
                                             for s in set(statuses)))})
    return rows


if __name__ == "__main__":
    main()
