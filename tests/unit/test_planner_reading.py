"""The blueprint planner reads descriptions the way a person would: names, slugs, kinds, places,
businesses, fields, picture counts and subjects, in eight languages (cases in planner_cases.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from appforge.agent.planners.blueprint import BlueprintPlanner
from appforge.spec import AppSpec
from tests.unit.planner_cases import CASES

LANGUAGES = {"en", "es", "pt", "fr", "de", "it", "zh", "ja"}


def _id(case: dict[str, Any]) -> str:
    return re.sub(r"\s+", "-", case["text"][:40])


def _problems(case: dict[str, Any], spec: AppSpec) -> list[str]:
    problems: list[str] = []

    def expect(what: str, got: object, wanted: object) -> None:
        if got != wanted:
            problems.append(f"{what}: got {got!r}, expected {wanted!r}")

    for key in ("name", "slug", "language"):
        if key in case:
            expect(key, getattr(spec, key), case[key])
    if "kind" in case:
        expect("kind", spec.kind.value, case["kind"])
    if "name_contains" in case and case["name_contains"] not in spec.name:
        problems.append(f"name {spec.name!r} lacks {case['name_contains']!r}")
    if case.get("slug_readable") and not re.fullmatch(r"(?!app-)[a-z]+(?:-[a-z0-9]+){0,4}",
                                                       spec.slug):
        problems.append(f"slug {spec.slug!r} is not a few readable words")
    if len(spec.slug) > 40:
        problems.append(f"slug {spec.slug!r} is longer than 40 characters")
    for key in ("place", "business"):
        if key in case:
            expect(key, getattr(spec.reading, key), case[key])
    fields = [f.name for f in spec.entities[0].fields] if spec.entities else []
    if "fields" in case:
        expect("fields", fields, case["fields"])
    for name in case.get("fields_include", []):
        if name not in fields:
            problems.append(f"no field {name!r} in {fields}")
    types = {f.name: f.type.value for e in spec.entities[:1] for f in e.fields}
    for name, ftype in case.get("types", {}).items():
        expect(f"type of {name}", types.get(name), ftype)
    gallery = spec.assets_with_role("gallery")
    if "count" in case:
        expect("pictures", len(gallery), case["count"])
        expect("reading.count", spec.reading.count, case["count"])
    captions = [a.alt for a in gallery]
    for caption in captions:
        words = re.sub(r"\b(?:a|an|the)\b", "", caption.lower())
        if not re.search(r"[^\W\d_]", words) or (caption.isascii() and len(words.strip()) < 3):
            problems.append(f"caption {caption!r} describes nothing")
    for subject in case.get("subjects", []):
        if not any(subject.lower() in c.lower() for c in captions):
            problems.append(f"no caption shows {subject!r}: {captions[:4]}")
    first = spec.entities[0] if spec.entities else None
    if "labels" in case:
        expect("labels", [f.label for f in first.fields] if first else [], case["labels"])
    if "record" in case:
        expect("record", first.label if first else None, case["record"])
    for key, got in (("cta", spec.call_to_action), ("tagline", spec.tagline)):
        if key in case:
            expect(key, got, case[key])
    for word in case.get("tagline_without", []):
        if word in spec.tagline.lower():
            problems.append(f"tagline {spec.tagline!r} says {word!r}")
    return problems


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_planner_reads_the_description_as_a_person_would(case: dict[str, Any]) -> None:
    spec = BlueprintPlanner().plan(case["text"])
    assert not _problems(case, spec), "\n".join(_problems(case, spec))


def test_the_case_set_covers_every_kind_and_language() -> None:
    assert len(CASES) >= 60
    assert {c["kind"] for c in CASES if "kind" in c} >= {"landing", "crud", "gallery"}
    assert {c.get("language", "en") for c in CASES} == LANGUAGES
