"""End-to-end build times per app kind: cold (new data dir) and warm (same app rebuilt).

Usage: python bench/e2e.py [--port 18480] [--keep]

"Cold" is the first build in a fresh data dir (one per kind): empty wheelhouse and asset cache, a
new proxy, network and volume. The base images and Docker's layer cache are shared with the
machine: the base image bootstrap (about 35 s per image) is a one-time cost, not per build, and
the dependency layers of the images are cached once any app has been built. "Warm"
rebuilds the same description, which deploys v2 of the app. Goals on a 2-core machine: a warm
landing page under 5 s, a warm CRUD app under 10 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

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
GOALS = {"landing": 5.0, "crud": 10.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18480)
    parser.add_argument("--keep", action="store_true", help="leave the apps running")
    args = parser.parse_args()
    rows = []
    for kind, description in APPS.items():
        # A fresh data dir per kind: each cold build fetches its wheels and draws its assets.
        home = Path(tempfile.mkdtemp(prefix=f"appforge-bench-{kind}-"))
        settings = Settings(home=home, instance=f"afbench{os.getpid()}", http_port=args.port)
        try:
            for run in ("cold", "warm"):
                result = build(description, settings)
                rows.append((kind, run, result.timings))
                print(f"{kind:8} {run:5} {result.timings['total']:6.2f} s  {result.url}",
                      file=sys.stderr)
        finally:
            if not args.keep:
                _cleanup(settings)
    header = f"{'kind':8} {'run':5} " + " ".join(f"{s[:10]:>10}" for s in STAGES) + \
        f" {'total':>8} {'goal':>6}"
    print(header)
    print("-" * len(header))
    for kind, run, t in rows:
        goal = GOALS.get(kind) if run == "warm" else None
        verdict = "" if goal is None else ("ok" if t["total"] < goal else "MISS")
        print(f"{kind:8} {run:5} " + " ".join(f"{t.get(s, 0):10.2f}" for s in STAGES)
              + f" {t['total']:8.2f} {verdict:>6}")


def _cleanup(settings: Settings) -> None:
    from appforge.sandbox.containers import purge_instance
    from appforge.sandbox.engine import connect

    purge_instance(connect(settings), settings.instance)


if __name__ == "__main__":
    main()
