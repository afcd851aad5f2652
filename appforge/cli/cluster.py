"""`appforge cluster`: the Docker Swarm that runs the apps when APPFORGE_ENGINE=swarm."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from appforge.cli import JsonFlag, app, fail, load_settings, log_to, out
from appforge.errors import AppforgeError

cluster_app = typer.Typer(name="cluster", no_args_is_help=True,
                          help="The Docker Swarm apps run on (APPFORGE_ENGINE=swarm).")
app.add_typer(cluster_app)


def _ask(settings: Any, work: Callable[[Any], Any], as_json: bool,
         as_object: Callable[[Any], Any] = lambda done: done) -> Any:
    """``work(client)``'s answer; an appforge error ends the command as every command's does,
    and with ``--json`` the answer is printed (``as_object`` of it) and None returned."""
    from appforge.sandbox.engine import connect

    try:
        done = work(connect(settings))
    except AppforgeError as exc:
        fail(exc)
        return None
    if as_json:
        print(json.dumps(as_object(done)))
        return None
    return done


@cluster_app.command()
def init(advertise_addr: Annotated[str, typer.Option(
             "--advertise-addr", help="The address other hosts reach this one at (when the "
             "engine cannot choose one).")] = "",
         as_json: JsonFlag = False) -> None:
    """Make this Docker engine a Swarm manager (or use the one it is) and start the cluster's
    image registry."""
    from appforge.engines import cluster

    settings = load_settings()
    done = _ask(settings, lambda c: cluster.init(c, settings, log_to(as_json), advertise_addr),
                as_json)
    if done is None:
        return
    what = "made this engine a Swarm manager" if done["initialised"] else \
        "this engine is already a Swarm manager"
    out.print(f"[bold]{what}[/] (node {done['node_id'][:12]}, {done['address']}); image "
              f"registry at {done['registry']}", highlight=False)
    if settings.engine != "swarm":
        out.print("  set APPFORGE_ENGINE=swarm to run apps on it", style="dim", highlight=False)


@cluster_app.command("join-command")
def join_command(as_json: JsonFlag = False) -> None:
    """Print what to run on another host to add it to the swarm as a worker."""
    from appforge.engines import cluster

    settings = load_settings()
    done = _ask(settings, lambda c: cluster.join_command(c, settings), as_json)
    if done is None:
        return
    out.print(done["command"], highlight=False, markup=False)
    for note in done["notes"]:
        out.print(f"  note: {note}", style="dim", highlight=False, markup=False)


@cluster_app.command()
def nodes(as_json: JsonFlag = False) -> None:
    """List the nodes: role, state, availability, resources and the app replicas on each."""
    from appforge.engines import cluster

    settings = load_settings()
    found = _ask(settings, lambda c: cluster.nodes(c, settings), as_json,
                 lambda done: {"nodes": done})
    if found is None:
        return
    from collections import Counter

    table = Table("node", "role", "state", "availability", "address", "cpus", "memory",
                  "replicas")
    for n in found:
        replicas = ", ".join(f"{name} x{count}" if count > 1 else name
                             for name, count in sorted(Counter(n["apps"]).items()))
        table.add_row(n["hostname"] + (" *" if n["leader"] else ""), n["role"], n["state"],
                      n["availability"], n["address"], f"{n['cpus']:g}",
                      f"{n['memory'] / 2**30:.1f} GiB", replicas or "-")
    out.print(table)


def _availability(name: str, availability: str, as_json: bool, force: bool = False) -> None:
    from appforge.engines import cluster

    settings = load_settings()
    done = _ask(settings, lambda c: cluster.set_availability(c, name, availability, force),
                as_json)
    if done is None:
        return
    out.print(f"[bold]{done['hostname']}[/] is now {done['availability']}", highlight=False)


@cluster_app.command()
def drain(node: Annotated[str, typer.Argument(help="The node's name or id.")],
          force: Annotated[bool, typer.Option(
              "--force", help="Drain a node that holds apps' data (they stop until it is "
              "active again).")] = False,
          as_json: JsonFlag = False) -> None:
    """Move every replica off a node (for maintenance); apps that can move keep serving."""
    _availability(node, "drain", as_json, force)


@cluster_app.command()
def activate(node: Annotated[str, typer.Argument(help="The node's name or id.")],
             as_json: JsonFlag = False) -> None:
    """Let a drained node run replicas again."""
    _availability(node, "active", as_json)
