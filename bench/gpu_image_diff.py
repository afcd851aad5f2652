"""Where bf16 moves the full-size SD-Turbo image away from fp32: text encoder, UNet or VAE.

On an H200 (2026-11-30, docs/performance.md) every bf16 row of ``bench/gpu_image.py`` was 255
levels off the fp32 image at some pixel and 42.6 on average, while the same comparison on a CPU
gives 3.4 and 0.44. This builds the plain and the appforge (bf16 + ``optimise``) pipelines as
``bench/gpu_image.py`` does, on ``--device``, and prints the relative difference of the prompt
embeddings and of the denoised latents, then decodes the fp32 latents with each VAE (so the
VAE's share is alone), and again with torch's SDPA held to its math kernel (so an attention
kernel's share shows). Run from the repository root:
``python bench/gpu_image_diff.py [--device cuda] [--size 512]`` (about 4 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()

    import numpy as np
    import torch
    from gpu_image import PROMPT, build
    from torch.nn.attention import SDPBackend, sdpa_kernel

    def latents(pipe):  # one step, no guidance, seed 0: generate()'s first image
        return pipe(prompt=[PROMPT], height=args.size, width=args.size, num_inference_steps=1,
                    guidance_scale=0.0, generator=[torch.Generator("cpu").manual_seed(0)],
                    output_type="latent").images

    def decode(pipe, latent):
        vae = pipe.vae
        image = vae.decode(latent.to(vae.dtype) / vae.config.scaling_factor).sample
        return ((image.float() / 2 + 0.5).clamp(0, 1) * 255).cpu().numpy()

    def measure(pipe, latent=None):
        """The pipeline's prompt embeddings and latents, and ``latent`` (its own by default)
        decoded by its VAE with the default attention kernel and with SDPA's math kernel."""
        embeddings = pipe.encode_prompt(PROMPT, args.device, 1, False)[0]
        own = latents(pipe)
        latent = own if latent is None else latent
        image = decode(pipe, latent)
        with sdpa_kernel(SDPBackend.MATH):
            image_math = decode(pipe, latent)
        return embeddings, own, image, image_math

    def rel(a, b):
        return ((a.float() - b.float()).norm() / b.float().norm()).item()

    with torch.no_grad():
        plain, _ = build(False, args.device, False, False, False)
        emb32, lat32, img32, img32_math = measure(plain)
        del plain
        fast, applied = build(False, args.device, True, False, False)
        emb16, lat16, img16, img16_math = measure(fast, lat32)  # fp32 latents: the VAE alone
        end_to_end = decode(fast, lat16)

    def pixels(a, b):
        d = np.abs(a - b)
        return f"max {d.max():.1f}, mean {d.mean():.2f} levels"

    print(f"{args.device} ({torch.cuda.get_device_name() if args.device == 'cuda' else 'CPU'}), "
          f"torch {torch.__version__}, bf16 path: {', '.join(applied)}")
    print(f"prompt embeddings, relative difference: {rel(emb16, emb32):.4f}")
    print(f"latents after the UNet, relative difference: {rel(lat16, lat32):.4f} "
          f"(fp32 |max| {lat32.abs().max().item():.1f})")
    print(f"fp32 latents through the bf16 VAE: {pixels(img16, img32)}")
    print(f"  the same, SDPA held to math in both: {pixels(img16_math, img32_math)}")
    print(f"  fp32 VAE, default SDPA against math: {pixels(img32, img32_math)}")
    print(f"end to end (bf16 latents, bf16 VAE): {pixels(end_to_end, img32)}")


if __name__ == "__main__":
    main()
