"""Redeploys under load, proxy overhead, and the time to redeploy a changed app.

Usage: python bench/redeploy.py [--port 18580] [--threads 4] [--requests 3000] [--redeploys 3]

1. Proxy overhead: the same GET /healthz, N requests from T keep-alive clients, through the
   Caddy proxy (Host header) and straight to the app, in one run, both from one client container
   on the app's network (the host has no address on it).
2. Redeploy under load: T clients GET /api/plants through the proxy without pause while the app
   is rebuilt with a changed description (`build --app`, a new field each time). Every request
   counts: sent, failed (must be 0), and the latency p50/p99 overall and inside the switch
   window (from the deploy stage's start to its end).
3. Time to redeploy a changed app: the whole `build --app` (plan → verify), warm, with no load
   running; goal < 5 s.

Traffic goes to 127.0.0.1 and the project's own containers only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appforge.agent.run import build  # noqa: E402
from appforge.config import Settings  # noqa: E402
from appforge.sandbox.containers import network_name, purge_instance, upstream  # noqa: E402
from appforge.sandbox.engine import connect  # noqa: E402
from appforge.sandbox.hardening import log_config  # noqa: E402
from appforge.sandbox.proxy import proxy_name  # noqa: E402

BASE = ("A plant-watering tracker called Sprout. Each plant has a name, a location, days "
        "between waterings and the date it was last watered")
EXTRA = ["a pot size", "a light level", "a fertiliser", "a species", "a room"]


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# Runs in a container on the app's network: N keep-alive clients (stdlib only), one JSON line.
_HAMMER = """
import http.client, json, sys, threading, time
address, threads, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
host, port = address.rsplit(":", 1)
lat, failed, lock = [], [0], threading.Lock()
def run(n):
    conn, mine, bad = http.client.HTTPConnection(host, int(port), timeout=10), [], 0
    for _ in range(n):
        t = time.perf_counter()
        try:
            conn.request("GET", "/healthz", headers={"Host": "sprout.localhost"})
            r = conn.getresponse(); r.read(); bad += r.status != 200
        except Exception:
            bad += 1; conn.close()
        mine.append(time.perf_counter() - t)
    with lock:
        lat.extend(mine); failed[0] += bad
run(50)
workers = [threading.Thread(target=run, args=(total // threads,)) for _ in range(threads)]
start = time.perf_counter()
[w.start() for w in workers]; [w.join() for w in workers]
seconds = time.perf_counter() - start
lat = sorted(lat[50:]) if len(lat) > 50 else sorted(lat)
print(json.dumps({"rate": total / seconds, "p50": lat[len(lat) // 2],
                  "p99": lat[int(len(lat) * 0.99)], "failed": failed[0]}))
"""


def hammer_in_container(client: Any, settings: Settings, address: str, threads: int,
                        total: int) -> dict[str, float]:
    out = client.containers.run(
        settings.python_base_image, ["python3", "-c", _HAMMER, address, str(threads), str(total)],
        network=network_name(settings, "sprout"), remove=True, user="10001:10001",
        labels={"io.appforge.instance": settings.instance}, log_config=log_config(settings))
    return json.loads(out.decode().strip().splitlines()[-1])


class Load(threading.Thread):
    """Steady GETs until stopped (bounded by ``limit_s``), recording (time, latency, ok)."""

    def __init__(self, url: str, host: str, limit_s: float = 300) -> None:
        super().__init__(daemon=True)
        self.url, self.host, self.deadline = url, host, time.monotonic() + limit_s
        self.samples: list[tuple[float, float, bool]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(headers={"Host": self.host}, timeout=10) as http:
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                start = time.monotonic()
                try:
                    ok = http.get(self.url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.samples.append((start, time.monotonic() - start, ok))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18580)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--redeploys", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(home=Path(tempfile.mkdtemp(prefix="appforge-bench-redeploy-")),
                        instance=f"afredeploy{os.getpid()}", http_port=args.port,
                        supervise=False)
    client = connect(settings)
    try:
        first = build(BASE + ".", settings)
        print(f"proxy overhead: GET /healthz, {args.requests} requests from {args.threads} "
              "keep-alive clients, run from one container on the app's network (the host has "
              "no address there), straight to the app and through the proxy")
        print(f"{'path':8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}")
        rates = {}
        targets = (("direct", upstream(settings, "sprout")),
                   ("proxy", f"{proxy_name(settings)}:8080"))
        for name, address in targets:
            stats = hammer_in_container(client, settings, address, args.threads, args.requests)
            rates[name] = stats["rate"]
            print(f"{name:8} {stats['rate']:8.0f} {stats['p50'] * 1e3:8.2f} "
                  f"{stats['p99'] * 1e3:8.2f} {stats['failed']:7d}")
        print(f"proxy/direct throughput: {rates['proxy'] / rates['direct']:.2f}")
        del first
        print()
        print(f"redeploy under load: {args.threads} clients on GET /api/plants through the proxy")
        print(f"{'v':>3} {'build s':>8} {'deploy s':>8} {'sent':>6} {'failed':>6} "
              f"{'p50 ms':>7} {'p99 ms':>7} {'switch p99 ms':>13} {'switch max ms':>13}")
        totals = []
        for i in range(args.redeploys):
            loads = [Load(f"http://127.0.0.1:{args.port}/api/plants", "sprout.localhost")
                     for _ in range(args.threads)]
            for load in loads:
                load.start()
            time.sleep(0.5)
            marks: dict[str, float] = {}

            def mark(event: dict, marks: dict[str, float] = marks) -> None:
                if event.get("stage") == "deploy" and event.get("event") in ("start", "end"):
                    marks[event["event"]] = time.monotonic()

            result = build(f"{BASE} and {EXTRA[i % len(EXTRA)]}.", settings, on_event=mark,
                           app="sprout")
            time.sleep(0.5)
            for load in loads:
                load.stop.set()
            for load in loads:
                load.join()
            samples = [s for load in loads for s in load.samples]
            lat = [s[1] for s in samples]
            window = [s[1] for s in samples if marks["start"] <= s[0] <= marks["end"]]
            failed = sum(1 for s in samples if not s[2])
            totals.append(result.timings["total"])
            print(f"{result.version:3d} {result.timings['total']:8.2f} "
                  f"{result.timings['deploy']:8.2f} {len(samples):6d} {failed:6d} "
                  f"{_pct(lat, 50) * 1e3:7.1f} {_pct(lat, 99) * 1e3:7.1f} "
                  f"{_pct(window, 99) * 1e3:13.1f} {max(window, default=0) * 1e3:13.1f}")
        print(f"median build --app under that load: {statistics.median(totals):.2f} s "
              "(the load generator shares the 2 cores)")
        print()
        quiet = []
        for i in range(args.redeploys):
            result = build(f"{BASE} and {EXTRA[(i + 2) % len(EXTRA)]}.", settings, app="sprout")
            quiet.append(result.timings)
        stages = [k for k in quiet[0] if k != "total"]
        print("time to redeploy a changed app, no load (build --app, warm), per stage, median:")
        print("  " + "  ".join(f"{k} {statistics.median(t[k] for t in quiet):.2f}s"
                               for k in stages))
        median = statistics.median(t["total"] for t in quiet)
        print(f"  total {median:.2f} s over {len(quiet)} (goal < 5 s: "
              f"{'ok' if median < 5 else 'MISS'})")
    finally:
        purge_instance(client, settings.instance)


if __name__ == "__main__":
    main()
