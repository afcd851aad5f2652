"""Tiny random-weight Wan 2.1 and LTX-Video pipelines, saved as model folders.

The components follow diffusers' own ``get_dummy_components`` (tests/pipelines/wan/test_wan.py,
tests/pipelines/ltx/test_ltx.py) with fixed seeds; the text encoders are built from a config
instead of downloaded, and the T5 tokenizer comes from :mod:`tests.tiny.tokenizers`. Saved with
``save_pretrained``, each folder loads through the same ``DiffusionPipeline.from_pretrained(path)``
as a real model. A tiny Wan makes nine 32x32 frames in two steps in a fraction of a second on a
CPU. :func:`wan_pipeline` also builds the full-size architecture for ``bench/gpu_video.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tests.tiny.tokenizers import t5_tokenizer

#: WanTransformer3DModel, AutoencoderKLWan and UMT5 text encoder configs (test_wan.py's sizes).
WAN_TINY: dict[str, dict[str, Any]] = {
    "transformer": {
        "patch_size": (1, 2, 2), "num_attention_heads": 2, "attention_head_dim": 12,
        "in_channels": 16, "out_channels": 16, "text_dim": 32, "freq_dim": 256, "ffn_dim": 32,
        "num_layers": 2, "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads",
        "rope_max_seq_len": 1024,  # room for full-size shapes (832x480) in the e2e test
    },
    "vae": {
        "base_dim": 3, "z_dim": 16, "dim_mult": [1, 1, 1, 1], "num_res_blocks": 1,
        "temperal_downsample": [False, True, True],
    },
    "text_encoder": {
        "d_model": 32, "d_kv": 8, "d_ff": 37, "num_layers": 2, "num_heads": 4,
        "relative_attention_num_buckets": 8,
    },
}

#: LTXVideoTransformer3DModel, AutoencoderKLLTXVideo and T5 text encoder configs (test_ltx.py's,
#: with two transformer blocks: the first-block cache needs a first block and a last one).
LTX_TINY: dict[str, dict[str, Any]] = {
    "transformer": {
        "in_channels": 8, "out_channels": 8, "patch_size": 1, "patch_size_t": 1,
        "num_attention_heads": 4, "attention_head_dim": 8, "cross_attention_dim": 32,
        "num_layers": 2, "caption_channels": 32,
    },
    "vae": {
        "latent_channels": 8, "block_out_channels": (8, 8, 8, 8),
        "decoder_block_out_channels": (8, 8, 8, 8),
        "spatio_temporal_scaling": (True, True, False, False),
        "decoder_spatio_temporal_scaling": (True, True, False, False),
        "layers_per_block": (1, 1, 1, 1, 1), "decoder_layers_per_block": (1, 1, 1, 1, 1),
        "patch_size": 1, "patch_size_t": 1, "encoder_causal": True, "decoder_causal": False,
    },
    "text_encoder": WAN_TINY["text_encoder"],
}


def _tokenizer() -> Any:
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory() as folder:
        t5_tokenizer(Path(folder))
        return AutoTokenizer.from_pretrained(folder)


def wan_pipeline(configs: dict[str, dict[str, Any]] = WAN_TINY, device: str = "cpu") -> Any:
    """A WanPipeline with random weights (seeded) of the given component configs, in fp32."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanPipeline,
        WanTransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = _tokenizer()
    with torch.device(device):
        torch.manual_seed(0)
        vae = AutoencoderKLWan(**configs["vae"])
        torch.manual_seed(0)
        text_encoder = UMT5EncoderModel(
            UMT5Config(vocab_size=len(tokenizer), **configs["text_encoder"]))
        torch.manual_seed(0)
        transformer = WanTransformer3DModel(**configs["transformer"])
    # The scheduler Wan 2.1's model folders ship with.
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                        flow_shift=3.0)
    return WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder.eval(), vae=vae.eval(),
                       transformer=transformer.eval(), scheduler=scheduler)


def ltx_pipeline(configs: dict[str, dict[str, Any]] = LTX_TINY, device: str = "cpu") -> Any:
    """An LTXPipeline with random weights (seeded) of the given component configs, in fp32."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    tokenizer = _tokenizer()
    with torch.device(device):
        torch.manual_seed(0)
        transformer = LTXVideoTransformer3DModel(**configs["transformer"])
        torch.manual_seed(0)
        vae = AutoencoderKLLTXVideo(**configs["vae"])
        torch.manual_seed(0)
        text_encoder = T5EncoderModel(
            T5Config(vocab_size=len(tokenizer), **configs["text_encoder"]))
    vae.use_framewise_encoding = vae.use_framewise_decoding = False
    return LTXPipeline(tokenizer=tokenizer, text_encoder=text_encoder.eval(), vae=vae.eval(),
                       transformer=transformer.eval(), scheduler=FlowMatchEulerDiscreteScheduler())


def tiny_wan(dest: Path) -> Path:
    """Save a tiny Wan 2.1 text-to-video model folder at ``dest``; return ``dest``."""
    wan_pipeline().save_pretrained(dest)
    return dest


def tiny_ltx(dest: Path, image_to_video: bool = False) -> Path:
    """Save a tiny LTX-Video model folder at ``dest``; return ``dest``.

    ``image_to_video`` saves the same components as an LTXImageToVideoPipeline.
    """
    pipe = ltx_pipeline()
    if image_to_video:
        from diffusers import LTXImageToVideoPipeline

        pipe = LTXImageToVideoPipeline(**pipe.components)
    pipe.save_pretrained(dest)
    return dest
