"""CI smoke test of the GPU benchmarks: `--tiny` runs the same code path (full-size scripts, tiny
random-weight components) on the CPU in well under a minute and prints the comparison table."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench(script: str, *args: str) -> tuple[dict, float]:
    pytest.importorskip("diffusers")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--tiny", *args,
                           "--json"], capture_output=True, text=True, timeout=180, cwd=ROOT)
    seconds = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout[proc.stdout.index("{"):]), seconds


def test_gpu_image_tiny() -> None:
    result, seconds = _bench("gpu_image.py")
    variants = {row["variant"] for row in result["rows"]}
    assert {"plain fp32", "appforge (bf16+optimise)"} <= variants
    assert all(row["seconds_per_image"] > 0 for row in result["rows"])
    assert seconds < 60


def test_gpu_video_tiny() -> None:
    result, seconds = _bench("gpu_video.py")
    rows = result["rows"] if "rows" in result else result["variants"]
    assert {"plain", "optimised"} <= {row["variant"] for row in rows}
    assert seconds < 60
