"""The dashboard's Cluster page (APPFORGE_ENGINE=swarm): the nodes, their state and resources and
the replicas on each, with drain and activate; and scaling an app from its overview.

Everything goes through ``appforge.engines.cluster`` and ``appforge.tools.apps``, as the CLI
does (the same refusals: an app that keeps files on one node runs one replica)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from appforge.errors import AppforgeError
from appforge.web import model
from appforge.web.actions import csrf_checked, job_lock, start_job
from appforge.web.jobs import Job
from appforge.web.render import page, redirect

router = APIRouter()
actions = APIRouter(dependencies=[Depends(csrf_checked)])


def _web(request: Request) -> Any:
    return request.app.state.web


@router.get("/cluster")
def cluster(request: Request) -> Response:
    from appforge.engines import cluster as swarm_cluster
    from appforge.sandbox.engine import connect

    web = _web(request)
    nodes: list[dict[str, Any]] = []
    problem = ""
    if web.settings.engine != "swarm":
        problem = ("apps run as plain containers on one Docker engine (APPFORGE_ENGINE=docker); "
                   "`appforge cluster init` and APPFORGE_ENGINE=swarm run them on a Swarm")
    else:
        try:
            nodes = swarm_cluster.nodes(connect(web.settings, timeout=10), web.settings)
        except AppforgeError as exc:
            problem = f"{exc}" + (f" ({exc.hint})" if exc.hint else "")
    return page(request, "cluster.html", {"nodes": nodes, "problem": problem})


@actions.post("/cluster/nodes/{node}/{availability}")
def availability(request: Request, node: str, availability: str) -> Response:
    from appforge.engines import cluster as swarm_cluster
    from appforge.sandbox.engine import connect

    if availability not in ("drain", "active"):
        return redirect("/cluster", f"unknown availability {availability!r}", "error")
    web = _web(request)
    try:
        done = swarm_cluster.set_availability(connect(web.settings), node, availability)
    except AppforgeError as exc:
        return redirect("/cluster", str(exc), "error", exc.hint or "")
    return redirect("/cluster", f"{done['hostname']} is now {done['availability']}")


@actions.post("/apps/{slug}/scale")
def scale(request: Request, slug: str, replicas: int = Form(...)) -> Response:
    from appforge.tools import apps

    web = _web(request)
    model.find_app(web.store, slug)

    def work(job: Job) -> str:
        with job_lock(web, slug, job):
            done = apps.scale(web.settings, slug, replicas, job.say)
        return f"{slug} runs {done['replicas']} replica(s)"

    return start_job(request, slug, "scale", f"Scale to {replicas}", work,
                     back=f"/apps/{slug}")
