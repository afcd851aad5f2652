"""What changed between two plans, and between two versions' files: the lines a chat reply and a
plan awaiting approval show ("fields: + category (text)", "theme: light → dark")."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from appforge.spec import AppSpec

#: Workspace paths that are bookkeeping, not the app.
_IGNORED = (".appforge/",)


def spec_changes(old: AppSpec | None, new: AppSpec) -> list[str]:
    """Human lines for every difference a user would care about; empty when nothing changed."""
    if old is None:
        return []
    lines: list[str] = []
    for key, label in (("name", "name"), ("title", "title"), ("tagline", "tagline"),
                       ("call_to_action", "button"), ("kind", "kind"), ("slug", "address")):
        before, after = getattr(old, key), getattr(new, key)
        if before != after:
            lines.append(f"{label}: {_show(before)} → {_show(after)}")
    if old.domain != new.domain:
        lines.append(f"domain: {old.domain or '(default)'} → {new.domain or '(default)'}")
    if old.theme.mode != new.theme.mode:
        lines.append(f"theme: {old.theme.mode} → {new.theme.mode}")
    if (old.theme.primary, old.theme.accent) != (new.theme.primary, new.theme.accent):
        lines.append(f"colours: {old.theme.primary}/{old.theme.accent} → "
                     f"{new.theme.primary}/{new.theme.accent}")
    lines += _entity_changes(old, new)
    lines += _asset_changes(old, new)
    if [f.title for f in old.features] != [f.title for f in new.features]:
        lines.append(f"features: {', '.join(f.title for f in new.features) or '(none)'}")
    if [f.path for f in old.file_plan] != [f.path for f in new.file_plan]:
        lines.append(f"files planned: {', '.join(f.path for f in new.file_plan) or '(none)'}")
    return lines


def _show(value: Any) -> str:
    text = str(getattr(value, "value", value))
    return repr(text) if " " in text or not text else text


def _entity_changes(old: AppSpec, new: AppSpec) -> list[str]:
    lines: list[str] = []
    before = {e.name: e for e in old.entities}
    after = {e.name: e for e in new.entities}
    for name in after.keys() - before.keys():
        entity = after[name]
        lines.append(f"new record type {entity.label}: "
                     f"{', '.join(f.name for f in entity.fields)}")
    for name in before.keys() - after.keys():
        lines.append(f"removed record type {before[name].label}")
    for name in [n for n in after if n in before]:
        was = {f.name: f for f in before[name].fields}
        now = {f.name: f for f in after[name].fields}
        label = after[name].label_plural
        for field in (f for f in after[name].fields if f.name not in was):
            need = "required" if field.required else "optional"
            lines.append(f"{label}: + {field.name} ({field.type.value}, {need})")
        for field in (f for f in before[name].fields if f.name not in now):
            lines.append(f"{label}: − {field.name}")
        for fname in (n for n in now if n in was and now[n] != was[n]):
            a, b = was[fname], now[fname]
            what = [f"{k} {getattr(a, k)!s} → {getattr(b, k)!s}"
                    for k in ("type", "required", "label", "min", "max")
                    if getattr(a, k) != getattr(b, k)]
            lines.append(f"{label}: {fname}: {', '.join(what)}")
    return lines


def _asset_changes(old: AppSpec, new: AppSpec) -> list[str]:
    lines: list[str] = []
    before = {a.name: a for a in old.assets}
    for asset in new.assets:
        was = before.pop(asset.name, None)
        if was is None:
            lines.append(f"+ {asset.kind} {asset.filename}: {asset.prompt[:80]}")
        elif was.prompt != asset.prompt:
            lines.append(f"{asset.kind} {asset.filename}: {asset.prompt[:80]}")
        elif was != asset:
            lines.append(f"{asset.kind} {asset.filename}: new size or timing")
    lines += [f"− {a.kind} {a.filename}" for a in before.values()]
    return lines


def file_digests(workspace: Path) -> dict[str, str]:
    """sha256 of every file of a version's workspace, by relative path."""
    out: dict[str, str] = {}
    if not workspace.is_dir():
        return out
    for path in sorted(workspace.rglob("*")):
        rel = path.relative_to(workspace).as_posix()
        if path.is_file() and not path.is_symlink() and not rel.startswith(_IGNORED):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def file_changes(old: Path | None, new: Path) -> dict[str, list[str]]:
    """Files added, removed and changed from one version's workspace to the next."""
    before = file_digests(old) if old else {}
    after = file_digests(new)
    return {"added": sorted(after.keys() - before.keys()),
            "removed": sorted(before.keys() - after.keys()),
            "changed": sorted(k for k in after.keys() & before.keys() if after[k] != before[k])}


def plan_summary(spec: AppSpec, host: str) -> list[str]:
    """The plan as a user reviews it: what the app is, its pages, records, assets and address."""
    head = spec.title if spec.name in spec.title else f"{spec.name}: {spec.title}"
    lines = [head, f"kind: {spec.kind.value}"]
    if spec.tagline:
        lines.append(f"tagline: {spec.tagline}")
    pages = ["/ (home)"]
    for entity in spec.entities:
        pages += [f"/{entity.plural} (list, add, edit, delete)"]
        fields = ", ".join(f"{f.name} ({f.type.value}{'' if f.required else ', optional'})"
                           for f in entity.fields)
        lines.append(f"{entity.label_plural}: {fields}")
    if spec.kind.value == "gallery":
        pages.append("/ (gallery with lightbox)")
    pages += [f.path for f in spec.file_plan][:12]
    lines.append(f"pages: {', '.join(pages)}, /healthz")
    lines.append(f"theme: {spec.theme.mode}, {spec.theme.primary} with {spec.theme.accent}")
    for asset in spec.assets:
        size = f"{asset.width}x{asset.height}" + (f", {asset.seconds:g} s" if asset.seconds else "")
        lines.append(f"{asset.kind} {asset.filename} ({size}): {asset.prompt[:90]}")
    lines.append(f"domain: {host}")
    return lines


def unified_diff(old: Path, new: Path, paths: list[str], limit: int = 400) -> str:
    """The text diff of ``paths`` between two workspaces (binary files named, not shown)."""
    import difflib

    out: list[str] = []
    for rel in paths:
        a, b = old / rel, new / rel
        try:
            before = a.read_text().splitlines() if a.is_file() else []
            after = b.read_text().splitlines() if b.is_file() else []
        except UnicodeDecodeError:
            out.append(f"Binary file {rel} differs")
            continue
        out += difflib.unified_diff(before, after, f"a/{rel}", f"b/{rel}", lineterm="")
    if len(out) > limit:
        out = out[:limit] + [f"... {len(out) - limit} more lines"]
    return "\n".join(out)
