"""Wan 2.1 (or LTX-Video) on a GPU: the plain diffusers call against appforge's optimised path.

Run from the repository root: ``python bench/gpu_video.py [--steps 30] [--json [PATH]]``;
``--tiny`` runs the same code on tiny components on the CPU (a smoke test, seconds). Nothing is
downloaded: the full-size architecture (Wan2.1-T2V-1.3B's transformer and VAE configs, copied
below) is built with random weights, saved as a model folder and loaded from it, so each variant
goes through the same loading code as a real model. The text encoder keeps the real width (4096,
what the transformer reads) but 2 of its 24 layers: it runs once per video, so its size barely
moves the timings, and the real one is 5.7B parameters.

Variants, each on a freshly loaded pipeline and each after one untimed warm-up call (timed
separately: it includes torch.compile), at the model's standard shape (Wan: 832x480, 81 frames):

- ``plain``: ``DiffusionPipeline.from_pretrained(folder)`` as diffusers gives it (float32,
  default attention, cond and uncond as separate passes, as the pipeline does).
- ``bf16``: the same in bfloat16, nothing else (opt-in with ``--variants``; separates the
  dtype's share of the speed-up from the rest).
- ``optimised``: :class:`DiffusersVideoBackend` loading through ``diffusion.load_pipeline``:
  bfloat16, fused QKV, regional torch.compile of the transformer blocks, VAE tiling and slicing,
  the attention backend of ``--attention`` (``native`` is torch SDPA, which picks FlashAttention
  kernels for bf16 on Hopper).
- ``cached``: ``optimised`` + first-block cache (an opt-in trade: output changes; its effect is
  the difference against ``optimised``).

With random weights the frames are noise, so differences between dtypes look larger than with
trained weights; differences between ``optimised`` and ``cached`` are what the cache changes.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appforge.generators import diffusion
from appforge.generators.diffusion import DiffusionOptions
from appforge.generators.video.diffusers_backend import DiffusersVideoBackend
from appforge.spec import AssetRequest, Theme

THEME = Theme(primary="#2563eb", accent="#f59e0b")
PROMPT = "a surfer riding a wave at sunset, slow motion, cinematic"

#: Wan-AI/Wan2.1-T2V-1.3B-Diffusers: transformer/config.json and vae/config.json.
WAN_1_3B: dict[str, dict[str, Any]] = {
    "transformer": {
        "patch_size": [1, 2, 2], "num_attention_heads": 12, "attention_head_dim": 128,
        "in_channels": 16, "out_channels": 16, "text_dim": 4096, "freq_dim": 256,
        "ffn_dim": 8960, "num_layers": 30, "cross_attn_norm": True,
        "qk_norm": "rms_norm_across_heads", "eps": 1e-6, "image_dim": None,
        "added_kv_proj_dim": None, "rope_max_seq_len": 1024,
    },
    "vae": {
        "base_dim": 96, "z_dim": 16, "dim_mult": [1, 2, 4, 4], "num_res_blocks": 2,
        "attn_scales": [], "temperal_downsample": [False, True, True], "dropout": 0.0,
    },
    # UMT5-XXL's width, heads and feed-forward; 2 of its 24 layers (see the docstring).
    "text_encoder": {
        "d_model": 4096, "d_kv": 64, "d_ff": 10240, "num_heads": 64, "num_layers": 2,
        "relative_attention_num_buckets": 32, "feed_forward_proj": "gated-gelu",
    },
}

#: Lightricks/LTX-Video 0.9: the transformer's and VAE's defaults in diffusers are its configs;
#: T5-XXL's width with 2 of its 24 layers.
LTX_2B: dict[str, dict[str, Any]] = {
    "transformer": {}, "vae": {},
    "text_encoder": {
        "d_model": 4096, "d_kv": 64, "d_ff": 10240, "num_heads": 64, "num_layers": 2,
        "relative_attention_num_buckets": 32, "feed_forward_proj": "gated-gelu",
    },
}


@dataclass(frozen=True)
class Setup:
    """A model and the shot it is timed on."""

    label: str
    width: int
    height: int
    frames: int
    fps: int
    steps: int


SETUPS = {
    ("wan", False): Setup("Wan 2.1 T2V 1.3B (random weights)", 832, 480, 81, 16, 30),
    ("wan", True): Setup("tiny Wan (random weights, CPU)", 32, 32, 9, 16, 2),
    ("ltx", False): Setup("LTX-Video 2B 0.9 (random weights)", 704, 480, 161, 24, 30),
    ("ltx", True): Setup("tiny LTX-Video (random weights, CPU)", 32, 32, 9, 24, 2),
}


@dataclass
class Row:
    variant: str
    seconds: float
    fps: float
    warmup_seconds: float
    peak_gib: float | None
    speedup: float | None = None
    max_diff_vs_plain: float | None = None
    mean_diff_vs_plain: float | None = None
    notes: list[str] = field(default_factory=list)


def build_model(model: str, tiny: bool, dest: Path, device: str) -> Path:
    """Save the random-weight model folder (fp32, as released checkpoints load) at ``dest``."""
    from tests.tiny import video_pipelines as tiny_models

    if model == "wan":
        pipe = tiny_models.wan_pipeline(tiny_models.WAN_TINY if tiny else WAN_1_3B, device)
    else:
        pipe = tiny_models.ltx_pipeline(tiny_models.LTX_TINY if tiny else LTX_2B, device)
    pipe.save_pretrained(dest)
    del pipe
    free()
    return dest


def free() -> None:
    import torch

    diffusion.PIPELINES.free()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def timed(call: Any, repeat: int, device: str) -> tuple[float, Any, float | None]:
    """Median seconds of ``repeat`` calls, the last output, and the peak GPU memory (GiB)."""
    import torch

    times, output = [], None
    for _ in range(repeat):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        output = call()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
    return statistics.median(times), output, peak


def run_plain(folder: Path, request: AssetRequest, setup: Setup, dtype: Any, device: str,
              repeat: int) -> tuple[Row, Any]:
    """The pipeline as ``from_pretrained`` gives it, called with the backend's own arguments."""
    from diffusers import DiffusionPipeline

    pipe = (DiffusionPipeline.from_pretrained(folder, local_files_only=True)
            if dtype is None else
            DiffusionPipeline.from_pretrained(folder, torch_dtype=dtype, local_files_only=True))
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    # Only for its arguments (prompt, size, frames, steps, guidance, seeded generator).
    asks = DiffusersVideoBackend("bench", str(folder), DiffusionOptions(steps=setup.steps))
    warm = DiffusersVideoBackend("bench", str(folder), DiffusionOptions(steps=min(2, setup.steps)))
    start = time.perf_counter()
    pipe(**warm.arguments(pipe, request, THEME, "Bench", None))
    warmup = time.perf_counter() - start
    free_peak()
    seconds, output, peak = timed(
        lambda: pipe(**asks.arguments(pipe, request, THEME, "Bench", None)), repeat, device)
    frames = output.frames[0]
    name = "plain" if dtype is None else "bf16"
    note = ["float32, default attention" if dtype is None else "bfloat16 only"]
    return Row(name, seconds, setup.frames / seconds, warmup, peak, notes=note), frames


def run_backend(name: str, folder: Path, request: AssetRequest, setup: Setup,
                options: DiffusionOptions, attention: str, device: str,
                repeat: int) -> tuple[Row, Any]:
    """appforge's path: ``DiffusersVideoBackend.render`` loading through ``load_pipeline``."""
    backend = DiffusersVideoBackend("bench", str(folder), options)
    warm = DiffusersVideoBackend("bench", str(folder), replace(options, steps=min(2, setup.steps)))
    pipe = backend.pipeline()
    if attention != "native":
        try:
            pipe.transformer.set_attention_backend(attention)
        except (ValueError, RuntimeError, ImportError) as exc:
            raise SystemExit(f"attention backend {attention!r} is not usable here: {exc}") from exc
    start = time.perf_counter()
    warm.render(request, THEME, "Bench")
    warmup = time.perf_counter() - start
    free_peak()
    seconds, (frames, report), peak = timed(
        lambda: backend.render(request, THEME, "Bench"), repeat, device)
    notes = [f"transformer {report.extra['dtype']}", *report.extra["optimisations"],
             f"attention {attention}", f"vae {report.extra['vae_dtype']}"]
    return Row(name, seconds, setup.frames / seconds, warmup, peak, notes=notes), frames


def free_peak() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def compare(row: Row, frames: Any, reference: Any, plain_seconds: float | None) -> None:
    import numpy as np

    if plain_seconds:
        row.speedup = plain_seconds / row.seconds
    if reference is not None:
        difference = np.abs(np.asarray(frames, np.float32) - np.asarray(reference, np.float32))
        row.max_diff_vs_plain = float(difference.max() * 255)
        row.mean_diff_vs_plain = float(difference.mean() * 255)


def table(rows: list[Row]) -> str:
    def number(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    head = ("variant", "s/video", "frames/s", "warm-up s", "peak GiB", "speed-up",
            "max|d| vs plain", "mean|d|")
    lines = [head] + [(r.variant, number(r.seconds, ".2f"), number(r.fps, ".2f"),
                       number(r.warmup_seconds, ".2f"), number(r.peak_gib, ".1f"),
                       number(r.speedup, ".2f") + ("x" if r.speedup else ""),
                       number(r.max_diff_vs_plain, ".1f"), number(r.mean_diff_vs_plain, ".2f"))
                      for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)) for line in lines]
    return "\n".join([text[0], "  ".join("-" * w for w in widths), *text[1:]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny components on the CPU")
    parser.add_argument("--model", choices=["wan", "ltx"], default="wan")
    parser.add_argument("--steps", type=int, help="denoising steps (default 30; tiny 2)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per variant (median)")
    parser.add_argument("--variants", default="plain,optimised,cached",
                        help="comma-separated from plain, bf16, optimised, cached")
    parser.add_argument("--cache-threshold", type=float, default=0.05,
                        help="first-block cache threshold for 'cached' (default 0.05)")
    parser.add_argument("--attention", default="native",
                        help="diffusers attention backend for optimised/cached: native (SDPA), "
                        "_native_cudnn, flash, _flash_3, sage ... (default native)")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                        help="print JSON instead of a table (or, with a PATH, also write it "
                        "there)")
    args = parser.parse_args()

    import torch

    if not args.tiny and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU here: this benchmark times the full-size model on a GPU. "
                         "Run with --tiny for the CPU smoke test of the same code.")
    device = "cpu" if args.tiny else "cuda"
    if args.tiny:  # tiny models gain nothing from threads, which spin on a busy machine
        torch.set_num_threads(1)
    setup = SETUPS[(args.model, args.tiny)]
    setup = replace(setup, steps=args.steps or setup.steps)
    request = AssetRequest(kind="video", role="hero", name="bench", prompt=PROMPT,
                           width=setup.width, height=setup.height, fps=setup.fps,
                           seconds=setup.frames / setup.fps, seed=0)
    optimised = DiffusionOptions(device=device, dtype="bfloat16", vae_tiling=True,
                                 steps=setup.steps, compile=not args.no_compile)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]

    rows: list[Row] = []
    outputs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="appforge-bench-") as folder:
        start = time.perf_counter()
        model = build_model(args.model, args.tiny, Path(folder) / args.model, device)
        built = time.perf_counter() - start
        for variant in variants:
            if variant in ("plain", "bf16"):
                dtype = None if variant == "plain" else torch.bfloat16
                row, frames = run_plain(model, request, setup, dtype, device, args.repeat)
            elif variant in ("optimised", "cached"):
                options = optimised if variant == "optimised" else replace(
                    optimised, step_cache=args.cache_threshold)
                row, frames = run_backend(variant, model, request, setup, options,
                                          args.attention, device, args.repeat)
            else:
                raise SystemExit(f"unknown variant {variant!r}")
            free()  # the variant's pipeline went with its function's locals
            plain = next((r.seconds for r in rows if r.variant == "plain"), None)
            compare(row, frames, outputs.get("plain"), plain)
            outputs[variant] = frames
            rows.append(row)
            # On stderr as each variant ends, so a run stopped by a time limit keeps its rows.
            print(f"done {variant}: {json.dumps(vars(row), default=float)}", file=sys.stderr,
                  flush=True)
    if "optimised" in outputs and "cached" in outputs:
        import numpy as np

        cache_effect = float(np.abs(outputs["cached"] - outputs["optimised"]).max() * 255)
        next(r for r in rows if r.variant == "cached").notes.append(
            f"max|d| vs optimised {cache_effect:.1f}")

    gpu = torch.cuda.get_device_name() if device == "cuda" else "CPU (no GPU used)"
    meta = {"model": setup.label, "device": gpu, "torch": torch.__version__,
            "shape": f"{setup.width}x{setup.height}, {setup.frames} frames at {setup.fps} fps",
            "steps": setup.steps, "build_seconds": round(built, 1),
            "text_encoder": ("tiny" if args.tiny else
                             "real width, 2 of 24 layers (runs once per video)")}
    rounded = [{k: round(v, 4) if isinstance(v, float) else v for k, v in vars(r).items()}
               for r in rows]
    report = json.dumps({**meta, "rows": rounded}, indent=2)
    if args.json == "-":
        print(report)
        return
    for key, value in meta.items():
        print(f"{key:>14}: {value}")
    print()
    print(table(rows))
    print("\nmax|d|/mean|d|: decoded frames vs plain, in 0-255 pixel levels")
    for row in rows:
        print(f"  {row.variant}: {', '.join(row.notes)}")
    if args.json:
        Path(args.json).write_text(report + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
