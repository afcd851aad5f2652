#!/usr/bin/env python3
"""Unpacks the picture set the offline image backend draws subjects with (run by install.sh).

Takes the npm tarballs of Twemoji's SVGs (``@twemoji/svg``, graphics CC-BY 4.0) and of
Emojibase's data (``emojibase-data``, MIT; names and keywords from Unicode CLDR) and writes, into
``appforge/generators/image/artwork/`` (or ``--into``):

- ``svg/<codepoints>.svg``: the pictures of things (animals, plants, food, places, activities,
  objects, people at work or play), not faces, hands, symbols or flags;
- ``index.json``: for each picture its group and subgroup and, in each language appforge plans
  in, its CLDR name and keywords ("fox", "Fuchs", "zorro", "狐狸", "キツネ" ...);
- ``LICENSE.md``: the notices that every app using the pictures carries.

Standard library only: it runs before (and without) appforge's own dependencies.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
from pathlib import Path

LANGUAGES = ("en", "es", "pt", "fr", "de", "it", "zh", "ja")
#: Emojibase's groups of things a picture can show (smileys, hand shapes, symbols and flags are
#: left out; of people, only the ones at work, at play or doing something).
KEPT_GROUPS = {3, 4, 5, 6, 7}
KEPT_PEOPLE = {"person-role", "person-activity", "person-sport", "person-resting"}
DEFAULT_INTO = Path(__file__).resolve().parent.parent / "appforge/generators/image/artwork"

NOTICE = """# Pictures in this app

Some pictures of this app were drawn by appforge with artwork from **Twemoji** {twemoji}
(https://github.com/jdecked/twemoji), Copyright 2019 Twitter, Inc and other contributors,
licensed under CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0/). appforge placed the
artwork in scenes, resized it, recoloured some of it and set type over it (changes were made).

Their subjects were found with names and keywords from Unicode CLDR (https://cldr.unicode.org,
Unicode License v3, Copyright 1991-2025 Unicode, Inc.) as packaged by **Emojibase** {emojibase}
(https://emojibase.dev, MIT License, Copyright (c) 2017-2019 Miles Johnson).
"""


def _member(archive: tarfile.TarFile, name: str) -> bytes:
    handle = archive.extractfile(f"package/{name}")
    if handle is None:
        raise SystemExit(f"{name} is missing from {archive.name}")
    return handle.read()


def _version(archive: tarfile.TarFile) -> str:
    return str(json.loads(_member(archive, "package.json"))["version"])


def build(twemoji_tgz: Path, emojibase_tgz: Path, into: Path) -> int:
    """Write the set into ``into`` (replacing what was there); returns how many pictures."""
    with tarfile.open(twemoji_tgz) as svgs, tarfile.open(emojibase_tgz) as data:
        meta = json.loads(_member(data, "meta/groups.json"))
        groups, subgroups = meta["groups"], meta["subgroups"]
        names: dict[str, dict[str, list[str]]] = {}
        kept: dict[str, dict[str, str]] = {}
        # The compact files leave out subgroups; the full English one has them.
        subgroup_of = {e["hexcode"]: subgroups.get(str(e.get("subgroup")), "")
                       for e in json.loads(_member(data, "en/data.json"))}
        for language in LANGUAGES:
            for entry in json.loads(_member(data, f"{language}/compact.json")):
                group, sub = entry.get("group"), subgroup_of.get(entry["hexcode"], "")
                if group not in KEPT_GROUPS and sub not in KEPT_PEOPLE:
                    continue
                code = entry["hexcode"]
                kept[code] = {"group": groups[str(group)], "subgroup": sub}
                words = [entry["label"], *entry.get("tags", [])]
                names.setdefault(code, {})[language] = list(dict.fromkeys(words))
        available = {Path(m.name).name.lower(): m for m in svgs.getmembers()
                     if m.name.endswith(".svg")}
        staging = into.with_name(into.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "svg").mkdir(parents=True)
        entries = []
        for code, where in kept.items():
            file = _svg_name(code, available)
            if file is None:
                continue
            handle = svgs.extractfile(available[file])
            assert handle is not None
            (staging / "svg" / f"{code}.svg").write_bytes(handle.read())
            entries.append({"id": code, **where, "names": names[code]})
        index = {"set": "Twemoji", "version": _version(svgs),
                 "keywords": f"Emojibase {_version(data)} (Unicode CLDR)",
                 "languages": list(LANGUAGES), "entries": entries}
        (staging / "index.json").write_text(json.dumps(index, ensure_ascii=False) + "\n")
        (staging / "LICENSE.md").write_text(
            NOTICE.format(twemoji=_version(svgs), emojibase=_version(data)))
    shutil.rmtree(into, ignore_errors=True)
    staging.rename(into)
    return len(entries)


def _svg_name(code: str, available: dict[str, tarfile.TarInfo]) -> str | None:
    """Twemoji names files by code points without the emoji variation selector (FE0F)."""
    lower = code.lower()
    for candidate in (lower, "-".join(p for p in lower.split("-") if p != "fe0f")):
        if f"{candidate}.svg" in available:
            return f"{candidate}.svg"
    return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("twemoji", type=Path, help="the @twemoji/svg .tgz (npm pack)")
    parser.add_argument("emojibase", type=Path, help="the emojibase-data .tgz (npm pack)")
    parser.add_argument("--into", type=Path, default=DEFAULT_INTO)
    args = parser.parse_args(argv)
    count = build(args.twemoji, args.emojibase, args.into)
    print(f"artwork: {count} Twemoji pictures with names in {', '.join(LANGUAGES)} in {args.into}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
