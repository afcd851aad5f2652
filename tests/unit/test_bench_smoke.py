"""CI smoke test of the GPU benchmarks: `--tiny` runs the same code path (full-size scripts, tiny
random-weight components) on the CPU and prints the comparison table. No wall-clock limit is
asserted here: on a shared machine that fails at random; bench/ reports the figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench(script: str, *args: str) -> dict:
    pytest.importorskip("diffusers")
    # The timeout only stops a hung benchmark; how fast it runs is the benchmark's own report.
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--tiny", *args,
                           "--json"], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout[proc.stdout.index("{"):])


def test_gpu_image_tiny() -> None:
    result = _bench("gpu_image.py", "--warmup", "0", "--repeats", "1")
    variants = {row["variant"] for row in result["rows"]}
    assert {"plain fp32", "appforge (bf16+optimise)"} <= variants
    assert all(row["seconds_per_image"] > 0 for row in result["rows"])


def test_gpu_video_tiny() -> None:
    result = _bench("gpu_video.py")
    rows = result["rows"] if "rows" in result else result["variants"]
    assert {"plain", "optimised"} <= {row["variant"] for row in rows}
