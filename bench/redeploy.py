"""Redeploys under load, proxy overhead, and the time to redeploy a changed app.

Usage: python bench/redeploy.py [--port 18580] [--threads 4] [--requests 3000] [--redeploys 3]

1. Proxy overhead: the same GET /healthz, N requests from T keep-alive clients, through the
   Caddy proxy (Host header) and straight to the app container's address, in one run.
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
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appforge.agent.run import build  # noqa: E402
from appforge.config import Settings  # noqa: E402
from appforge.sandbox.containers import container_name, purge_instance  # noqa: E402
from appforge.sandbox.engine import connect  # noqa: E402

BASE = ("A plant-watering tracker called Sprout. Each plant has a name, a location, days "
        "between waterings and the date it was last watered")
EXTRA = ["a pot size", "a light level", "a fertiliser", "a species", "a room"]


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def hammer(url: str, host: str, threads: int, total: int) -> tuple[float, list[float], int]:
    """Send ``total`` GETs from ``threads`` clients; return (seconds, latencies, failures)."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    per = total // threads

    def run() -> None:
        mine, bad = [], 0
        with httpx.Client(headers={"Host": host}, timeout=10) as http:
            for _ in range(per):
                start = time.perf_counter()
                try:
                    ok = http.get(url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                mine.append(time.perf_counter() - start)
                bad += not ok
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    workers = [threading.Thread(target=run) for _ in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - start, latencies, failures[0]


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
                        instance=f"afredeploy{os.getpid()}", http_port=args.port)
    client = connect(settings)
    try:
        first = build(BASE + ".", settings)
        proxy_url = f"http://127.0.0.1:{args.port}/healthz"
        app = client.containers.get(container_name(settings, "sprout", first.version))
        ip = next(iter(app.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
        direct_url = f"http://{ip}:8000/healthz"
        hammer(proxy_url, "sprout.localhost", args.threads, 200)  # warm both paths
        hammer(direct_url, "sprout.localhost", args.threads, 200)
        print("proxy overhead: GET /healthz, "
              f"{args.requests} requests from {args.threads} keep-alive clients")
        print(f"{'path':8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}")
        rates = {}
        for name, url in (("direct", direct_url), ("proxy", proxy_url)):
            seconds, lat, failed = hammer(url, "sprout.localhost", args.threads, args.requests)
            rates[name] = len(lat) / seconds
            print(f"{name:8} {rates[name]:8.0f} {_pct(lat, 50) * 1e3:8.2f} "
                  f"{_pct(lat, 99) * 1e3:8.2f} {failed:7d}")
        print(f"proxy/direct throughput: {rates['proxy'] / rates['direct']:.2f}")
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
