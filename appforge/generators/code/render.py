"""Render a blueprint into a directory: the whole source tree of one app.

A blueprint is ``_shared/`` overlaid with the folder of the spec's kind (a file in the kind's folder
replaces the shared file with the same output path). ``foo.py.j2`` is rendered with Jinja2 to
``foo.py``; every other file is copied byte for byte. Rendering is deterministic: the same spec
gives byte-identical files, so an unchanged app rebuilds from Docker's cache.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from appforge.generators.code.context import build_context
from appforge.generators.code.escape import md_inline, py_literal, py_number
from appforge.spec import AppSpec

BLUEPRINTS_DIR = Path(__file__).parent / "blueprints"
SHARED = "_shared"
TEMPLATE_SUFFIX = ".j2"
_SKIP_DIRS = frozenset({"__pycache__", ".pytest_cache"})
_SKIP_SUFFIXES = (".pyc", ".pyo")
_HTML_SUFFIXES = (".html", ".htm", ".xml", ".svg")


def render_app(spec: AppSpec, dest: Path) -> list[Path]:
    """Write the app described by ``spec`` into ``dest``; return the paths written, relative, sorted."""
    dest = Path(dest)
    env = _environment()
    context = build_context(spec)
    written: list[Path] = []
    # A custom app starts as the landing page (a working page, /healthz, tests); the LLM coder
    # then writes the rest from the spec's file plan.
    kind = "landing" if spec.kind.value == "custom" else spec.kind.value
    for output, source in sorted(blueprint_files(kind).items()):
        target = dest / output
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.name.endswith(TEMPLATE_SUFFIX):
            name = source.relative_to(BLUEPRINTS_DIR).as_posix()
            text = env.get_template(name).render(context)
            target.write_bytes(text.encode("utf-8"))
        else:
            target.write_bytes(source.read_bytes())
        written.append(output)
    return sorted(written)


def blueprint_files(kind: str) -> dict[Path, Path]:
    """Output path (relative) -> source file, for the shared files overlaid with ``kind``'s."""
    kind_dir = BLUEPRINTS_DIR / kind
    if not kind_dir.is_dir():
        raise ValueError(f"no blueprint for kind {kind!r}")
    files: dict[Path, Path] = {}
    for root in (BLUEPRINTS_DIR / SHARED, kind_dir):
        for source in sorted(root.rglob("*")):
            if not source.is_file() or _skipped(source.relative_to(root)):
                continue
            relative = source.relative_to(root)
            if relative.name.endswith(TEMPLATE_SUFFIX):
                relative = relative.with_name(relative.name[: -len(TEMPLATE_SUFFIX)])
            files[relative] = source
    return files


def _skipped(relative: Path) -> bool:
    return any(part in _SKIP_DIRS for part in relative.parts) or relative.suffix in _SKIP_SUFFIXES


def _autoescape(name: str | None) -> bool:
    """Autoescape templates that render to HTML; never Python, CSS, Markdown or text."""
    if name is None:
        return False
    return name.removesuffix(TEMPLATE_SUFFIX).endswith(_HTML_SUFFIXES)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(BLUEPRINTS_DIR)),
        undefined=StrictUndefined,
        autoescape=_autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["py"] = py_literal
    env.filters["num"] = py_number
    env.filters["md"] = md_inline
    return env
