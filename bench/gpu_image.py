"""How much faster appforge's diffusers image path is than a plain diffusers call, on one GPU.

Builds the full-size SD-Turbo architecture (SD 2.1 base: UNet2DConditionModel, AutoencoderKL,
OpenCLIP-H text encoder; random weights, so the same FLOPs as the real model without its
download) and times text-to-image at 512x512, 1 step, no guidance, batch 1 and 4, for:

- ``plain``: what ``from_pretrained`` gives with no arguments: fp32, default attention (SDPA);
- ``appforge``: bf16 plus :func:`appforge.generators.diffusion.optimise` (fused QKV): the
  backend's default path;
- ``+ channels_last``: the UNet and VAE convolutions in NHWC (not yet in ``optimise``);
- ``+ regional compile`` (``--compile``): the UNet's transformer blocks through
  ``torch.compile``, as ``APPFORGE_DIFFUSERS_COMPILE=true`` does.

Every variant starts from the same seeded weights and noise. Warm-up runs (and compilation) are
not timed; each row is the median of ``--repeats`` runs, end to end (prompt encoding, denoising,
VAE decode, pixels on the host). "max |dpx|" is the largest pixel difference (0-255) from the
plain fp32 image of the same batch; random weights amplify rounding more than trained ones do.

Run from the repository root: ``python bench/gpu_image.py [--compile] [--json out.json]``.
``--tiny`` runs the same code on tiny components on the CPU (64x64) as a smoke test.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPT = "a cozy cafe with plants, blue and orange colour palette, bright, airy lighting"

#: stabilityai/sd-turbo's unet, vae and text_encoder config.json (SD 2.1 base), minus the keys
#: left at their defaults.
SD_TURBO_FULL: dict[str, dict[str, Any]] = {
    "unet": {
        "sample_size": 64, "in_channels": 4, "out_channels": 4, "layers_per_block": 2,
        "block_out_channels": (320, 640, 1280, 1280), "attention_head_dim": (5, 10, 20, 20),
        "cross_attention_dim": 1024, "use_linear_projection": True,
        "down_block_types": ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                             "CrossAttnDownBlock2D", "DownBlock2D"),
        "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                           "CrossAttnUpBlock2D"),
    },
    "vae": {
        "sample_size": 768, "in_channels": 3, "out_channels": 3, "latent_channels": 4,
        "layers_per_block": 2, "block_out_channels": (128, 256, 512, 512),
        "down_block_types": ("DownEncoderBlock2D",) * 4,
        "up_block_types": ("UpDecoderBlock2D",) * 4, "scaling_factor": 0.18215,
    },
    "text_encoder": {
        "vocab_size": 49408, "hidden_size": 1024, "intermediate_size": 4096,
        "num_attention_heads": 16, "num_hidden_layers": 23, "max_position_embeddings": 77,
        "projection_dim": 512, "hidden_act": "gelu", "layer_norm_eps": 1e-05,
    },
}

#: Cumulative variants: name, bf16 + optimise(), channels_last, regional compile.
VARIANTS = [("plain fp32", False, False, False), ("appforge (bf16+optimise)", True, False, False),
            ("+ channels_last", True, True, False), ("+ regional compile", True, True, True)]


def build(tiny: bool, device: str, optimised: bool, channels_last: bool, compiled: bool
          ) -> tuple[Any, list[str]]:
    """A fresh pipeline (same seeded weights every time) prepared as one variant."""
    import torch

    from appforge.generators.diffusion import DiffusionOptions, optimise
    from tests.tiny.image_pipelines import SD_TURBO_TINY, sd_turbo_pipeline

    pipe = sd_turbo_pipeline(SD_TURBO_TINY if tiny else SD_TURBO_FULL, device)
    pipe.set_progress_bar_config(disable=True)
    if not optimised:
        return pipe, ["fp32", "default attention"]
    applied = ["bf16"]
    pipe.to(dtype=torch.bfloat16)
    if channels_last:
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
        applied.append("channels_last")
    # The backend's own speed-ups, as load_pipeline applies them.
    applied += optimise(pipe, DiffusionOptions(compile=compiled))
    return pipe, applied


def generate(pipe: Any, batch: int, size: int) -> Any:
    import torch

    generators = [torch.Generator("cpu").manual_seed(i) for i in range(batch)]
    return pipe(prompt=[PROMPT] * batch, height=size, width=size, num_inference_steps=1,
                guidance_scale=0.0, generator=generators, output_type="np").images


def measure(pipe: Any, batch: int, size: int, warmup: int, repeats: int,
            cuda: bool) -> tuple[float, Any, float | None]:
    """Median seconds per call, the images of the last call, peak GPU memory in GiB."""
    import torch

    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for _ in range(warmup):
        generate(pipe, batch, size)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        images = generate(pipe, batch, size)
        sync()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    return statistics.median(times), images, peak


def run(args: argparse.Namespace) -> dict[str, Any]:
    import diffusers
    import numpy as np
    import torch

    cuda = not args.tiny
    device, size = ("cuda", 512) if cuda else ("cpu", 64)
    variants = [v for v in VARIANTS if args.compile or not v[3]]
    plain: dict[int, tuple[float, Any]] = {}
    rows = []
    for name, optimised, channels_last, compiled in variants:
        pipe, applied = build(args.tiny, device, optimised, channels_last, compiled)
        for batch in args.batches:
            seconds, images, peak = measure(pipe, batch, size, args.warmup, args.repeats, cuda)
            base_seconds, base_images = plain.setdefault(batch, (seconds, images))
            diff = np.abs(images.astype(np.float64) - base_images) * 255
            rows.append({"variant": name, "batch": batch, "seconds_per_image": seconds / batch,
                         "images_per_second": batch / seconds, "peak_gib": peak,
                         "speedup": base_seconds / seconds, "max_abs_pixel_diff": diff.max(),
                         "mean_abs_pixel_diff": diff.mean(), "applied": applied})
            # On stderr as each row ends, so a run stopped by a time limit keeps its rows.
            print(f"done {json.dumps(rows[-1], default=float)}", file=sys.stderr, flush=True)
        del pipe
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
    cpu = f"CPU, {torch.get_num_threads()} threads"
    return {
        "device": torch.cuda.get_device_name() if cuda else cpu,
        "model": "SD-Turbo architecture, random weights" + (" (tiny)" if args.tiny else ""),
        "size": f"{size}x{size}", "steps": 1, "torch": torch.__version__,
        "diffusers": diffusers.__version__, "rows": rows,
    }


def print_table(result: dict[str, Any]) -> None:
    print(f"{result['model']}, {result['size']}, {result['steps']} step, on {result['device']} "
          f"(torch {result['torch']}, diffusers {result['diffusers']})")
    header = (f"{'variant':<26}{'batch':>6}{'s/image':>10}{'images/s':>10}{'peak GiB':>10}"
              f"{'speed-up':>10}{'max |dpx|':>11}{'mean |dpx|':>12}")
    print(header)
    print("-" * len(header))
    for row in result["rows"]:
        peak = "-" if row["peak_gib"] is None else f"{row['peak_gib']:.2f}"
        print(f"{row['variant']:<26}{row['batch']:>6}{row['seconds_per_image']:>10.4f}"
              f"{row['images_per_second']:>10.2f}{peak:>10}{row['speedup']:>9.2f}x"
              f"{row['max_abs_pixel_diff']:>11.1f}{row['mean_abs_pixel_diff']:>12.2f}")
    for name, applied in {row["variant"]: row["applied"] for row in result["rows"]}.items():
        print(f"  {name}: {', '.join(applied)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true",
                        help="tiny components on the CPU (a smoke test of this script)")
    parser.add_argument("--compile", action="store_true",
                        help="add the regional torch.compile variant (minutes of compiling)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per row")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed runs per row (default 10 on a GPU, 3 with --tiny)")
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                        help="print the table as JSON instead (or, with a PATH, also write it "
                             "there)")
    args = parser.parse_args()
    args.repeats = args.repeats or (3 if args.tiny else 10)

    import torch

    if not args.tiny and not torch.cuda.is_available():
        print("bench/gpu_image.py needs a CUDA GPU, and torch sees none; "
              "run it with --tiny for a CPU smoke test.", file=sys.stderr)
        return 2
    import diffusers

    diffusers.logging.set_verbosity_error()  # the bf16 cast warns about fp32-only modules
    result = run(args)
    if args.json == "-":
        print(json.dumps(result, indent=2, default=float))
        return 0
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=float) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
