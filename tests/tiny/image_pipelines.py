"""Tiny random-weight SD-Turbo and FLUX.1-schnell pipelines, saved as model folders.

The component configs follow the ``get_dummy_components()`` of diffusers' own tests
(tests/pipelines/stable_diffusion/test_stable_diffusion.py, tests/pipelines/flux/
test_pipeline_flux.py) with fixed seeds; the tokenizers come from :mod:`tests.tiny.tokenizers`.
Saved with ``save_pretrained``, each folder loads through the same
``DiffusionPipeline.from_pretrained(path)`` as stabilityai/sd-turbo or FLUX.1-schnell. The pictures
are noise; the code path is the real one. :func:`sd_turbo_pipeline` also builds the full-size
architecture for ``bench/gpu_image.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tests.tiny.tokenizers import clip_tokenizer, t5_tokenizer

_CLIP_TINY = {"hidden_size": 32, "intermediate_size": 37, "layer_norm_eps": 1e-05,
              "num_attention_heads": 4, "num_hidden_layers": 5}

#: UNet2DConditionModel, AutoencoderKL and CLIP text encoder configs (test_stable_diffusion.py's,
#: with SD 2.x's linear projections and per-block head sizes).
SD_TURBO_TINY: dict[str, dict[str, Any]] = {
    "unet": {
        "block_out_channels": (32, 64), "layers_per_block": 2, "sample_size": 32,
        "in_channels": 4, "out_channels": 4, "cross_attention_dim": 32,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
        "attention_head_dim": (2, 4), "use_linear_projection": True,
    },
    "vae": {
        "block_out_channels": (32, 64), "in_channels": 3, "out_channels": 3,
        "down_block_types": ("DownEncoderBlock2D", "DownEncoderBlock2D"),
        "up_block_types": ("UpDecoderBlock2D", "UpDecoderBlock2D"), "latent_channels": 4,
    },
    "text_encoder": _CLIP_TINY,
}

#: FluxTransformer2DModel, AutoencoderKL, CLIP and T5 encoder configs (test_pipeline_flux.py's).
FLUX_SCHNELL_TINY: dict[str, dict[str, Any]] = {
    "transformer": {
        "patch_size": 1, "in_channels": 4, "num_layers": 1, "num_single_layers": 1,
        "attention_head_dim": 16, "num_attention_heads": 2, "joint_attention_dim": 32,
        "pooled_projection_dim": 32, "axes_dims_rope": (4, 4, 8),
    },
    "vae": {
        "sample_size": 32, "in_channels": 3, "out_channels": 3, "block_out_channels": (4,),
        "layers_per_block": 1, "latent_channels": 1, "norm_num_groups": 1,
        "use_quant_conv": False, "use_post_quant_conv": False, "shift_factor": 0.0609,
        "scaling_factor": 1.5035,
    },
    "text_encoder": {**_CLIP_TINY, "projection_dim": 32},
    "text_encoder_2": {"d_model": 32, "d_kv": 8, "d_ff": 37, "num_layers": 2, "num_heads": 4,
                       "relative_attention_num_buckets": 8},
}


def _tokenizer(save: Any, cls: str) -> Any:
    import transformers

    with tempfile.TemporaryDirectory() as folder:
        save(Path(folder))
        return getattr(transformers, cls).from_pretrained(folder)


def _clip_text_encoder(tokenizer: Any, config: dict[str, Any]) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel

    ids = {"vocab_size": len(tokenizer), "bos_token_id": tokenizer.bos_token_id,
           "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}
    return CLIPTextModel(CLIPTextConfig(**{**ids, **config}))  # a config may set vocab_size


def sd_turbo_pipeline(configs: dict[str, dict[str, Any]] = SD_TURBO_TINY,
                      device: str = "cpu") -> Any:
    """A StableDiffusionPipeline shaped like SD-Turbo, random weights (seeded), in fp32."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )

    tokenizer = _tokenizer(clip_tokenizer, "CLIPTokenizer")
    with torch.device(device):
        torch.manual_seed(0)
        unet = UNet2DConditionModel(**configs["unet"])
        torch.manual_seed(0)
        vae = AutoencoderKL(**configs["vae"])
        torch.manual_seed(0)
        text_encoder = _clip_text_encoder(tokenizer, configs["text_encoder"])
    # stabilityai/sd-turbo's scheduler_config.json, minus the keys left at their defaults.
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1,
        prediction_type="epsilon", timestep_spacing="trailing",
    )
    return StableDiffusionPipeline(
        vae=vae.eval(), text_encoder=text_encoder.eval(), tokenizer=tokenizer, unet=unet.eval(),
        scheduler=scheduler, safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )


def flux_pipeline(configs: dict[str, dict[str, Any]] = FLUX_SCHNELL_TINY,
                  device: str = "cpu") -> Any:
    """A FluxPipeline shaped like FLUX.1-schnell, random weights (seeded), in fp32."""
    import torch
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        FluxPipeline,
        FluxTransformer2DModel,
    )
    from transformers import T5Config, T5EncoderModel

    tokenizer = _tokenizer(clip_tokenizer, "CLIPTokenizer")
    tokenizer_2 = _tokenizer(t5_tokenizer, "T5TokenizerFast")
    with torch.device(device):
        torch.manual_seed(0)
        transformer = FluxTransformer2DModel(**configs["transformer"])
        torch.manual_seed(0)
        text_encoder = _clip_text_encoder(tokenizer, configs["text_encoder"])
        torch.manual_seed(0)
        text_encoder_2 = T5EncoderModel(T5Config(
            vocab_size=len(tokenizer_2), pad_token_id=tokenizer_2.pad_token_id,
            eos_token_id=tokenizer_2.eos_token_id, **configs["text_encoder_2"]))
        torch.manual_seed(0)
        vae = AutoencoderKL(**configs["vae"])
    # FLUX.1-schnell's scheduler: no resolution-dependent shift of the sigmas.
    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0, use_dynamic_shifting=False)
    return FluxPipeline(
        scheduler=scheduler, vae=vae.eval(), transformer=transformer.eval(),
        text_encoder=text_encoder.eval(), tokenizer=tokenizer,
        text_encoder_2=text_encoder_2.eval(), tokenizer_2=tokenizer_2,
    )


def tiny_sd_turbo(dest: Path) -> Path:
    """Save a tiny SD-Turbo model folder at dest/tiny-sd-turbo ("turbo": 1 step) and return it."""
    folder = Path(dest) / "tiny-sd-turbo"
    sd_turbo_pipeline().save_pretrained(folder)
    return folder


def tiny_flux(dest: Path) -> Path:
    """Save a tiny FLUX.1-schnell model folder at dest/tiny-flux-schnell and return it."""
    folder = Path(dest) / "tiny-flux-schnell"
    flux_pipeline().save_pretrained(folder)
    return folder
