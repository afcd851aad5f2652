"""A real multi-node Docker Swarm on this one machine, made of Docker-in-Docker nodes.

Usage: python bench/cluster.py [--workers 3] [--json]

Every node is a container running Debian's ``dockerd`` (``docker.io`` in an image bootstrapped
from Debian like appforge's base images, nothing pulled) on a bridge network of the bench's own:
a manager and ``--workers`` workers. appforge talks to the manager's engine
(``APPFORGE_DOCKER_HOST``, a socket in the bench's folder), makes it the swarm's manager
(``appforge cluster init``), and the workers join with the token of ``appforge cluster
join-command``. Images go through the cluster's registry at ``<manager>:<port>``
(``APPFORGE_REGISTRY_ADDRESS``), which every node's dockerd lists in ``--insecure-registries``;
the proxy publishes on the manager's address (``APPFORGE_BIND_ADDRESS``), where the load goes.
The manager is not this machine's engine, so the bench never touches that engine's swarm state
(the single-node test makes and leaves a swarm there) nor its daemon configuration.

1. Spread: six apps (four galleries, a CRUD app and a landing page; the last two keep SQLite and
   are pinned to the manager) and where their replicas run (``appforge cluster nodes --json``).
2. Drain under load: GETs through the proxy on all six apps while ``appforge cluster drain``
   empties the worker with the most replicas; failed requests and latency.
3. Kill: ``docker kill`` of another worker's container under load on its apps; the time until
   each answers 200 again through the proxy, and the failed requests.
4. ``appforge move`` of the CRUD app with its data, manager -> worker -> another worker, under
   load: seconds, failed requests while it is stopped for the copy, its records kept; then a
   snapshot of it on the worker (the relay).
5. A 2-replica gallery redeployed (``build --app``) under load: failed requests and latency.
6. A worker holding one of its replicas killed under load.
7. The worker holding the CRUD app's data killed: a plain move is refused, ``move
   --from-snapshot newest`` starts it on the manager from its snapshot.

Everything the bench made is removed at the end (the node containers and their volumes, with
the swarm and every service in them, the network, the folder), also on Ctrl-C, SIGTERM or an
error. Traffic goes to the bench's own containers only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dind import (
    BASE_IMAGES,
    Cli,
    Cluster,
    Load,
    address,
    ensure_node_image,
    interrupts_as_errors,
    placement,
    wait_moved,
    wait_serving,
)

GALLERIES = [
    "A gallery of surf photos from Ericeira called Swell",
    "A gallery of mountain huts in the Alps called Hutte",
    "A gallery of lighthouses of Brittany called Phare",
    "A gallery of street food in Hanoi called Pho",
]
CRUD = "A notes app called Ledger. Each note has a title and a body."
LANDING = "A landing page for a bakery called Crumb with a sign-up for opening news"
TWIN = "A gallery of old trams of Lisbon called Tram"


def notes(proxy: str, host: str) -> list[str]:
    try:
        with httpx.Client(base_url=f"http://{proxy}", timeout=5, trust_env=False) as http:
            resp = http.get("/api/notes", headers={"Host": host})
    except httpx.HTTPError as exc:
        return [f"no answer: {type(exc).__name__}"]
    return [n["title"] for n in resp.json()] if resp.status_code == 200 else \
        [f"HTTP {resp.status_code}"]


def add_note(proxy: str, host: str, title: str) -> None:
    with httpx.Client(base_url=f"http://{proxy}", timeout=5, trust_env=False) as http:
        resp = http.post("/api/notes", headers={"Host": host}, json={"title": title,
                                                                      "body": "bench"})
        resp.raise_for_status()


def node_of(cli: Cli, slug: str) -> str | None:
    return next((h for h, apps in placement(cli).items()
                 if any(a.split()[0] == slug for a in apps)), None)


def move_data_app(cli: Cli, proxy: str, hosts: dict[str, str], workers: list[str]
                  ) -> dict[str, Any]:
    """``appforge move`` of the CRUD app (data on the manager) to a worker, then to another
    worker, under load: how long each took, the requests that failed while it was stopped for
    the copy, and whether its records came along."""
    slug = next(s for s in hosts if s.startswith("ledger"))
    host = hosts[slug]
    add_note(proxy, host, "before the move")
    moves = []
    for target in workers[:2]:
        with Load(proxy, [host], pause=0.02) as load:
            time.sleep(1)
            done = cli.run("move", slug, target, check=False)
            serving = wait_serving(proxy, [host], 120)[host]
            time.sleep(1)
        moves.append({"to": target, "seconds": done.get("seconds"), "error": done.get("error"),
                      "from": done.get("from"), "files": done.get("files"),
                      "serving_after_s": serving, "runs_on": node_of(cli, slug),
                      "kept": "before the move" in notes(proxy, host), **load.summary()})
    add_note(proxy, host, "after the moves")
    snap = cli.run("backup", slug, check=False)  # taken on the worker, through the relay
    return {"app": slug, "moves": moves, "backup_on_worker": snap.get("id"),
            "backup_error": snap.get("error")}


def recover_data_app(cli: Cli, client: Any, proxy: str, slug: str, names: list[str]
                     ) -> dict[str, Any]:
    """Kill the node holding the app's data; ``move --from-snapshot newest`` to the manager."""
    host = f"{slug}.localhost"
    holder = node_of(cli, slug)
    if holder not in names:
        return {"skipped": f"{slug} runs on {holder}, not on a worker"}
    client.containers.get(holder).kill()
    killed, down_s = time.monotonic(), None
    while time.monotonic() - killed < 90:  # what an operator sees before they move it
        if any(n["hostname"] == holder and n["state"] != "ready"
               for n in cli.run("cluster", "nodes")["nodes"]):
            down_s = round(time.monotonic() - killed, 1)
            break
        time.sleep(1)
    refused = cli.run("move", slug, "afbench-manager", check=False)
    started = time.monotonic()
    done = cli.run("move", slug, "afbench-manager", "--from-snapshot", "newest", check=False)
    serving = wait_serving(proxy, [host], 120)[host]
    return {"node": holder, "down_after_s": down_s, "refused": (refused.get("error") or "")[:300],
            "error": done.get("error"), "snapshot": done.get("snapshot"),
            "seconds": round(time.monotonic() - started, 1), "serving_after_s": serving,
            "kept": sorted(notes(proxy, host))}


def slugs_on(where: dict[str, list[str]], node: str) -> list[str]:
    return sorted({a.split()[0] for a in where.get(node, [])})


def bench(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    import docker

    client = docker.from_env()
    ensure_node_image(client, log)
    work = Path(tempfile.mkdtemp(prefix="afbench-cluster-"))
    cluster = Cluster(client, work, log)
    home, wheels = work / "home", Path(tempfile.gettempdir()) / "appforge-test-wheels"
    for folder in (home, wheels, cluster.socket.parent):
        folder.mkdir(parents=True, exist_ok=True)
    manager_ip = address(10)
    http_port, reg_port = 18480, 18481
    results: dict[str, Any] = {"workers": args.workers}
    try:
        cluster.network()
        started = time.monotonic()
        cluster.start_node("afbench-manager", manager_ip, mounts=(home, wheels))
        workers = [cluster.start_node(f"afbench-node-{i}", address(10 + i))
                   for i in range(1, args.workers + 1)]
        for node in cluster.nodes:
            cluster.wait_dockerd(node)
        cluster.load_images(BASE_IMAGES)
        results["nodes_up_s"] = round(time.monotonic() - started, 1)
        env = {k: v for k, v in os.environ.items() if not k.startswith("APPFORGE_")} | {
            "APPFORGE_HOME": str(home), "APPFORGE_INSTANCE": "afbc",
            "APPFORGE_DOCKER_HOST": f"unix://{cluster.socket}",
            "APPFORGE_HTTP_PORT": str(http_port), "APPFORGE_BIND_ADDRESS": manager_ip,
            "APPFORGE_ENGINE": "swarm", "APPFORGE_REGISTRY_PORT": str(reg_port),
            "APPFORGE_REGISTRY_ADDRESS": f"{manager_ip}:{reg_port}",
            "APPFORGE_SCREENSHOTS": "false", "APPFORGE_SUPERVISE": "false",
            "APPFORGE_WHEELHOUSE_DIR": str(wheels),
            "APPFORGE_TEST_CACHE_DIR": str(Path(tempfile.gettempdir()) / "appforge-test-passed")}
        cli = Cli(env, log)
        proxy = f"{manager_ip}:{http_port}"
        started = time.monotonic()
        cli.run("cluster", "init", "--advertise-addr", manager_ip)
        joining = cli.run("cluster", "join-command")
        results["join_command_notes"] = joining.get("notes")
        token = joining["command"].split("--token", 1)[1].split()[0]
        for node in workers:
            code, out = cluster.node_docker(node, "swarm", "join", "--token", token,
                                            joining["manager"])
            if code != 0:
                raise RuntimeError(f"{node.name} could not join: {out}")
        nodes: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            nodes = cli.run("cluster", "nodes")["nodes"]
            if len([n for n in nodes if n["state"] == "ready"]) == args.workers + 1:
                break
            time.sleep(1)
        results["join_s"] = round(time.monotonic() - started, 1)
        results["nodes"] = [{k: n[k] for k in ("hostname", "role", "state", "address")}
                            for n in nodes]

        # 1. Six apps, and where they run
        started = time.monotonic()
        for prompt in [*GALLERIES, CRUD, LANDING]:
            built = cli.run("build", prompt, check=False)
            if "error" in built:
                log(f"build failed: {built['error']}")
        hosts = {a["slug"]: f"{a['slug']}.localhost" for a in cli.run("list")}
        results["apps"] = sorted(hosts)
        results["build_s"] = round(time.monotonic() - started, 1)
        results["serving_after_build"] = wait_serving(proxy, list(hosts.values()), 60)
        where = placement(cli)
        results["spread"] = where

        names = [n.name for n in workers]
        # 2. Drain the worker with the most replicas, under load on all six apps
        target = max(names, key=lambda w: len(where.get(w, [])))
        moved = slugs_on(where, target)
        with Load(proxy, list(hosts.values())) as load:
            time.sleep(3)
            started = time.monotonic()
            cli.run("cluster", "drain", target)
            moved_s = wait_moved(cli, target, moved, 120)
            serving = wait_serving(proxy, [hosts[s] for s in moved], 120)
            time.sleep(3)
        results["drain"] = {"node": target, "apps": moved, "rescheduled_s": moved_s,
                            "serving_s": serving, **load.summary(),
                            "failed_by_app": {h: len(f) for h, f in load.failed.items() if f}}
        cli.run("cluster", "activate", target)

        # 3. Kill a worker: the time until its apps serve again
        where = placement(cli)
        candidates = [w for w in names if w != target]
        victim = max(candidates, key=lambda w: len(where.get(w, [])))
        lost = slugs_on(where, victim)
        with Load(proxy, [hosts[s] for s in lost]) as load:
            time.sleep(3)
            started = time.monotonic()
            client.containers.get(victim).kill()
            serving = wait_serving(proxy, [hosts[s] for s in lost], 180) if lost else {}
            after = round(time.monotonic() - started, 1)
            time.sleep(3)
        results["kill"] = {"node": victim, "apps": lost, "serving_s": serving,
                           "all_serving_s": after, **load.summary()}
        results["spread_after"] = placement(cli)

        # 4. The CRUD app, with its data, moved from the manager to a worker, then to another
        results["move"] = move_data_app(cli, proxy, hosts, [n for n in names if n != victim])

        # 5. A 2-replica gallery redeployed under load
        twin = cli.run("build", "--replicas", "2", TWIN)
        slug = twin.get("slug", "tram")
        results["twin_placement"] = {h: [a for a in apps if a.startswith(f"{slug} ")]
                                     for h, apps in placement(cli).items()}
        with Load(proxy, [f"{slug}.localhost"], pause=0.02) as load:
            time.sleep(2)
            started = time.monotonic()
            again = cli.run("build", "--app", slug, TWIN + " at dusk", check=False)
            redeploy_s = round(time.monotonic() - started, 1)
            time.sleep(2)
        results["redeploy"] = {"app": slug, "replicas": 2, "version": again.get("version"),
                               "error": again.get("error"), "build_s": redeploy_s,
                               **load.summary()}

        # 6. A worker holding one of the 2-replica gallery's replicas dies under load
        holders = [h for h, apps in placement(cli).items()
                   if any(a.startswith(f"{slug} ") for a in apps) and h in names]
        if holders:
            with Load(proxy, [f"{slug}.localhost"], pause=0.02) as load:
                time.sleep(2)
                client.containers.get(holders[0]).kill()
                time.sleep(20)  # through Swarm noticing the node and starting a new task
            results["kill_replica"] = {"app": slug, "node": holders[0], **load.summary()}

        # 7. The node holding the CRUD app's data dies: it starts elsewhere from its snapshot
        results["lost_node"] = recover_data_app(cli, client, proxy, results["move"]["app"],
                                                names)
        return results
    finally:
        log("cleaning up")
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)


def table(results: dict[str, Any]) -> str:
    def load(r: dict[str, Any]) -> str:
        why = f" ({', '.join(f'{n} {k}' for k, n in r['why'].items())})" if r["why"] else ""
        return (f"{r['failed']} failed of {r['requests']}{why}; latency p50 {r['p50_ms']} ms, "
                f"p99 {r['p99_ms']} ms, max {r['max_ms']} ms")

    lines = [(f"nodes: {len(results['nodes'])} (a DinD manager + {results['workers']} DinD "
              f"workers), dockerd up in {results['nodes_up_s']} s, joined and ready in "
              f"{results['join_s']} s"),
             f"six apps built one after the other in {results['build_s']} s", "spread:"]
    for host, apps in results["spread"].items():
        lines.append(f"  {host:16} {', '.join(apps) or '-'}")
    d = results["drain"]
    lines.append(f"drain {d['node']} ({', '.join(d['apps'])}) under load on all six apps: "
                 f"{load(d)}; off the node in {d['rescheduled_s']} s")
    k = results["kill"]
    lines.append(f"kill {k['node']} ({', '.join(k['apps'])}): serving again after "
                 + ", ".join(f"{h.split('.')[0]} {t} s" for h, t in k["serving_s"].items())
                 + f"; under load on them: {load(k)}")
    lines.append("spread after the kill:")
    for host, apps in results["spread_after"].items():
        lines.append(f"  {host:16} {', '.join(apps) or '-'}")
    r = results["redeploy"]
    on = [h for h, apps in results["twin_placement"].items() for _ in apps]
    lines.append(f"2-replica {r['app']} (on {', '.join(on)}) redeployed to v{r['version']} "
                 f"under load: {load(r)}; build --app took {r['build_s']} s")
    m = results["move"]
    for step in m["moves"]:
        lines.append(f"move {m['app']} {step['from']} -> {step['to']}: "
                     + (f"error {step['error'][:200]}" if step["error"] else
                        f"{step['seconds']} s ({step['files']} file(s)), serving again after "
                        f"{step['serving_after_s']} s, runs on {step['runs_on']}, records "
                        f"{'kept' if step['kept'] else 'LOST'}")
                     + f"; under load: {load(step)}")
    lines.append(f"snapshot of {m['app']} on its worker: "
                 + (m["backup_on_worker"] or f"error {m['backup_error']}"))
    if "kill_replica" in results:
        k = results["kill_replica"]
        lines.append(f"kill {k['node']}, holding one of {k['app']}'s 2 replicas, under load on "
                     f"it (20 s): {load(k)}")
    lost = results.get("lost_node") or {}
    if "skipped" in lost:
        lines.append(f"lost node: skipped ({lost['skipped']})")
    elif lost:
        lines.append(f"kill {lost['node']}, holding {results['move']['app']}'s data (reported "
                     f"down after {lost['down_after_s']} s): a plain "
                     f"move is refused ({lost['refused'][:120]!r}); --from-snapshot "
                     f"{lost['snapshot']} to the manager took {lost['seconds']} s, serving "
                     f"after {lost['serving_after_s']} s, records {lost['kept']}"
                     + (f"; error {lost['error'][:200]}" if lost["error"] else ""))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.workers < 2:
        parser.error("--workers must be 2 or more: one is drained, another killed")
    started = time.monotonic()

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    with interrupts_as_errors():
        results = bench(args, log)
    print(json.dumps(results) if args.json else table(results))


if __name__ == "__main__":
    main()
