"""End-to-end build times per app kind: a cold machine, a new app, a rebuild; medians of 3.

Usage: python bench/e2e.py [--port 18480] [--runs 3] [--cold] [--json]

- cold (with ``--cold``): the first build on a machine without appforge's images. The bench uses
  image tags of its own (``afbench<pid>/...``) so the machine's images stay as they are, starts
  from an empty data dir (no wheelhouse, no asset cache), and removes its images at the end.
  Reported: until the app is live (the build's return), and how long each image took to make.
- new: a new app of each kind on a warm machine (images and Docker's dependency layers there);
  each run is another app (``--app``), so nothing of the app itself is cached.
- rebuild: the same app built again (a new version, deployed blue/green).

Goals on a 2-core machine (issue 10): live in under 90 s on a cold machine, under 5 s for a new
landing page with video and a new CRUD app, under 3 s for a rebuild. The screenshot is taken in
the background after the build returns, so it is in none of these figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appforge.agent.graph import STAGES  # noqa: E402
from appforge.agent.run import build  # noqa: E402
from appforge.config import Settings  # noqa: E402

APPS = {
    "landing": "A landing page for a surf school in Ericeira with a hero video of waves at sunrise",
    "crud": ("A plant-watering tracker called Sprout. Each plant has a name, a location, days "
             "between waterings and the date it was last watered."),
    "gallery": "a portfolio of six photos of foxes and owls",
}
GOALS = {("landing", "new"): 5.0, ("crud", "new"): 5.0, ("landing", "rebuild"): 3.0,
         ("crud", "rebuild"): 3.0, ("gallery", "rebuild"): 3.0, ("crud", "cold"): 90.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18480)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also measure a cold machine")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    instance = f"afbench{os.getpid()}"
    home = Path(tempfile.mkdtemp(prefix="appforge-bench-"))
    rows: list[dict[str, Any]] = []
    settings = Settings(home=home, instance=instance, http_port=args.port, screenshots=False,
                        supervise=False)
    try:
        if args.cold:
            rows.append(_cold(instance, args.port))
        _build("crud", settings, app="warmup")  # the wheelhouse and dependency layers
        for kind, description in APPS.items():
            new = [_build(kind, settings, app=f"{kind}-{i}") for i in range(args.runs)]
            rows.append(_row(kind, "new", new))
            rebuilds = [_build(kind, settings, app=f"{kind}-0") for _ in range(args.runs)]
            rows.append(_row(kind, "rebuild", rebuilds))
    finally:
        _cleanup(settings)
    if args.json:
        print(json.dumps({"rows": rows}))
        return
    _print(rows)


def _build(kind: str, settings: Settings, app: str) -> dict[str, float]:
    result = build(APPS[kind], settings, app=app)
    print(f"{kind:8} {app:12} v{result.version:<3} {result.timings['total']:6.2f} s",
          file=sys.stderr)
    return result.timings


def _row(kind: str, run: str, timings: list[dict[str, float]], **extra: Any) -> dict[str, Any]:
    """The median run's stage times (the run whose total is the median)."""
    ranked = sorted(timings, key=lambda t: t["total"])
    median = ranked[len(ranked) // 2]
    return {"kind": kind, "run": run, "runs": len(timings),
            "total": round(statistics.median(t["total"] for t in timings), 2),
            "stages": {s: median.get(s, 0.0) for s in STAGES}, "goal": GOALS.get((kind, run)),
            **extra}


def _cold(instance: str, port: int) -> dict[str, Any]:
    """The first build on a machine without the images: bench-only tags, an empty data dir."""
    from appforge.sandbox.prepare import read_progress

    tags = {"python_base_image": f"{instance}/python:cold", "proxy_image": f"{instance}/caddy:cold",
            "browser_image": f"{instance}/browser:cold"}
    home = Path(tempfile.mkdtemp(prefix="appforge-bench-cold-"))
    settings = Settings(home=home, instance=f"{instance}c", http_port=port + 1, supervise=False,
                        **tags)
    try:
        timings = _build("crud", settings, app="cold")
        images = {job["label"]: job["seconds"] for job in read_progress(settings)
                  if job["state"] == "ready" and job["name"] != "browser"}
    finally:
        _cleanup(settings)
        _remove_images(settings, list(tags.values()))
    return _row("crud", "cold", [timings], images=images)


def _print(rows: list[dict[str, Any]]) -> None:
    header = (f"{'kind':8} {'run':8} " + " ".join(f"{s[:10]:>10}" for s in STAGES[:-1])
              + f" {'total':>8} {'goal':>6}")
    print(header)
    print("-" * len(header))
    for row in rows:
        goal = row["goal"]
        verdict = "" if goal is None else ("ok" if row["total"] < goal else "MISS")
        print(f"{row['kind']:8} {row['run']:8} "
              + " ".join(f"{row['stages'][s]:10.2f}" for s in STAGES[:-1])
              + f" {row['total']:8.2f} {verdict:>6}")
        if row.get("images"):
            print("  images made meanwhile: " + ", ".join(
                f"{label} {seconds:.1f} s" for label, seconds in row["images"].items()))
    print(f"(medians of {rows[-1]['runs']} runs; screenshots are taken in the background after "
          "a build returns and are not in these figures)")


def _remove_images(settings: Settings, tags: list[str]) -> None:
    """Wait for the background setup to end (it may still make the browser image), then
    remove the bench's own images."""
    from docker.errors import DockerException

    from appforge.sandbox.engine import connect
    from appforge.sandbox.prepare import setup_lock

    client = connect(settings)
    with setup_lock(settings):
        for tag in tags:
            try:
                client.images.remove(tag, force=True)
            except DockerException:
                pass


def _cleanup(settings: Settings) -> None:
    from appforge.sandbox.containers import purge_instance
    from appforge.sandbox.engine import connect

    purge_instance(connect(settings), settings.instance)


if __name__ == "__main__":
    main()
