"""`appforge plan`: the plan a build would use for a description, printed without building
anything: the name and slug, the kind and language, the records and their fields (and the fields
the planner added on its own, with why), the pages, the pictures with their subjects and counts,
and the colours.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Annotated, Any

import typer

from appforge.cli import JsonFlag, app, fail, load_settings, out
from appforge.errors import AppforgeError


@app.command()
def plan(
    description: Annotated[str, typer.Argument(help="What the app is, in your own words.")],
    as_json: JsonFlag = False,
    planner: Annotated[str | None, typer.Option(help="Planner to use (default: settings).")]
    = None,
) -> None:
    """Print the plan a build would use for DESCRIPTION; builds nothing."""
    from appforge.agent.planners import get_planner

    settings = load_settings()
    try:
        chosen = get_planner(planner or settings.planner, settings)
        spec = chosen.plan(description)
    except AppforgeError as exc:
        fail(exc)
        return
    summary = plan_summary(spec)
    if as_json:
        print(json.dumps({"planner": chosen.name, **summary, "spec": spec.model_dump(mode="json")},
                         ensure_ascii=False))
        return
    _print(summary, chosen.name, getattr(spec, "reading", None))


def pages(spec: Any) -> list[str]:
    """The pages the app will serve (its API aside)."""
    if spec.kind.value != "crud":
        return ["/"]
    found = ["/"]
    for entity in spec.entities:
        base = f"/{entity.plural}"
        found += [base, f"{base}/new", f"{base}/<id>", f"{base}/<id>/edit"]
    return found


def plan_summary(spec: Any) -> dict[str, Any]:
    """The parts of a plan a person checks first, as plain data."""
    reading = getattr(spec, "reading", None)
    assets = []
    for role, count in Counter(a.role for a in spec.assets).items():
        of_role = [a for a in spec.assets if a.role == role]
        assets.append({"role": role, "kind": of_role[0].kind, "count": count,
                       "subjects": list(dict.fromkeys(a.alt or a.prompt for a in of_role))})
    return {
        "name": spec.name, "slug": spec.slug, "title": spec.title, "kind": spec.kind.value,
        "language": spec.language, "tagline": spec.tagline,
        "entities": [{"name": e.name, "label": e.label,
                      "fields": [{"name": f.name, "type": f.type.value, "required": f.required}
                                 for f in e.fields]} for e in spec.entities],
        "pages": pages(spec),
        "assets": assets,
        "theme": {"mode": spec.theme.mode, "primary": spec.theme.primary,
                  "accent": spec.theme.accent},
        "domain": spec.domain,
        "reading": reading.model_dump(mode="json") if reading is not None else None,
    }


def _print(summary: dict[str, Any], planner: str, reading: Any) -> None:
    out.print(f"[bold]{summary['name']}[/] ({summary['slug']}): {summary['kind']} app, "
              f"language {summary['language']}, planned by the {planner} planner",
              highlight=False)
    if summary["title"] != summary["name"]:
        out.print(f"  title: {summary['title']}", highlight=False)
    if summary["tagline"]:
        out.print(f"  tagline: {summary['tagline']}", highlight=False)
    for entity in summary["entities"]:
        fields = ", ".join(f"{f['name']} ({f['type']}{'' if f['required'] else ', optional'})"
                           for f in entity["fields"])
        out.print(f"  {entity['label']}: {fields}", highlight=False)
    out.print(f"  pages: {' '.join(summary['pages'])}", highlight=False)
    for asset in summary["assets"]:
        subjects = "; ".join(asset["subjects"][:4])
        out.print(f"  {asset['count']} {asset['role']} {asset['kind']}"
                  f"{'s' if asset['count'] > 1 else ''}: {subjects}", highlight=False)
    theme = summary["theme"]
    out.print(f"  theme: {theme['mode']}, primary {theme['primary']}, accent {theme['accent']}",
              highlight=False)
    if summary["domain"]:
        out.print(f"  domain: {summary['domain']}", highlight=False)
    for line in reading.lines() if reading is not None else []:
        out.print(f"  [dim]{line}[/]", highlight=False)
