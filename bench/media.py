"""How fast the offline media backends are: a hero, a logo, a gallery and a hero video.

Run from the repository root with ``python -m bench.media [--repeat N]``. Each row is the median
of N timed runs after one untimed warm-up (imports, font lookup), written to a temporary folder.
The targets: a 1280x720 hero well under 0.5 s, a 960x540 4-second video in about 2 s, on two cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from appforge.generators.image import ProceduralImageBackend
from appforge.generators.video import ProceduralVideoBackend
from appforge.spec import AssetRequest, Theme

THEME = Theme(primary="#2563eb", accent="#f59e0b")


def _median_seconds(job: Callable[[], object], repeat: int) -> float:
    job()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per row (default 3)")
    args = parser.parse_args()

    images, videos = ProceduralImageBackend(), ProceduralVideoBackend()
    hero = AssetRequest(
        kind="image",
        role="hero",
        name="hero",
        prompt="surf school by the sea",
        width=1280,
        height=720,
    )
    logo = AssetRequest(
        kind="image", role="logo", name="logo", prompt="logo", width=512, height=512
    )
    gallery = [
        AssetRequest(
            kind="image",
            role="gallery",
            name=f"photo-{i:02d}",
            prompt="owl and fox photos",
            width=768,
            height=768,
            seed=i,
        )
        for i in range(6)
    ]
    clip = AssetRequest(
        kind="video",
        role="hero",
        name="intro",
        prompt="alpine mountain huts",
        width=960,
        height=540,
        seconds=4,
        fps=24,
    )
    frames = round(4 * 24)

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        rows = [
            (
                "hero image",
                "1280x720",
                _median_seconds(
                    lambda: images.generate(hero, THEME, "Surf", out / "hero.png"), args.repeat
                ),
                "",
            ),
            (
                "logo",
                "512x512",
                _median_seconds(
                    lambda: images.generate(logo, THEME, "Surf", out / "logo.png"), args.repeat
                ),
                "",
            ),
            (
                "6 gallery images",
                "768x768",
                _median_seconds(
                    lambda: [images.generate(g, THEME, "Owls", out / g.filename) for g in gallery],
                    args.repeat,
                ),
                "",
            ),
        ]
        video_seconds = _median_seconds(
            lambda: videos.generate(clip, THEME, "Huts", out / "intro.mp4"), args.repeat
        )
        rows.append(
            (
                "hero video, 4 s @ 24 fps",
                "960x540",
                video_seconds,
                f"{frames / video_seconds:.0f} frames/s",
            )
        )

    print(f"procedural media, {os.cpu_count()} CPUs, median of {args.repeat}")
    print(f"{'asset':<26}{'size':>10}{'seconds':>10}  note")
    for name, size, seconds, note in rows:
        print(f"{name:<26}{size:>10}{seconds:>10.3f}  {note}")


if __name__ == "__main__":
    main()
