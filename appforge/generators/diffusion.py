"""What the diffusers image and video backends share: choosing, loading and caching pipelines.

- :func:`choose` decides ``auto | procedural | diffusers`` for one kind of asset and says why, so
  the build report can tell the user which backend made each file. ``auto`` takes diffusers only
  when a CUDA GPU is present, torch and diffusers are installed, and the model's weights are on
  this machine (a local folder, or the Hugging Face cache); it never downloads.
- :class:`PipelineCache` keeps loaded pipelines per process: eight images load the model once.
- :func:`load_pipeline` loads a pipeline whose class comes from the model's own
  ``model_index.json`` (``DiffusionPipeline.from_pretrained``), in bf16 on the GPU, with the
  memory options asked for (CPU offload, VAE tiling/slicing) and fused QKV projections.

torch and diffusers are imported only inside the functions that need them.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from appforge.errors import GenerationError

Kind = Literal["image", "video"]


@dataclass(frozen=True)
class DiffusionOptions:
    """Knobs of the diffusers path, from the settings."""

    device: str = "auto"  # auto | cuda | cpu
    dtype: str = "bfloat16"
    cpu_offload: bool = False
    vae_tiling: bool = False
    steps: int | None = None  # None: the model family's default
    #: First-block cache threshold (0 = off): an opt-in quality/speed trade.
    step_cache: float = 0.0
    compile: bool = False
    #: Video: the most pixels one frame is sampled at (None: the model family's standard size).
    max_area: int | None = None


@dataclass(frozen=True)
class Choice:
    backend: Literal["procedural", "diffusers"]
    reason: str
    model: str = ""
    model_path: str = ""


def gpu_present() -> bool:
    """Whether an NVIDIA GPU is visible, checked without importing torch."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return Path("/proc/driver/nvidia/gpus").is_dir() or Path("/dev/nvidia0").exists()


def missing_modules(*modules: str) -> list[str]:
    """Which of ``modules`` are missing."""
    return [m for m in modules if importlib.util.find_spec(m) is None]


def resolve_model(model: str) -> Path | None:
    """The local folder holding ``model`` (a path, or a Hugging Face id in the local cache)."""
    path = Path(model).expanduser()
    if (path / "model_index.json").is_file():
        return path
    if "/" not in model or path.is_absolute():
        return None
    # Asked first: importing huggingface_hub to learn that a model is not there costs a build
    # a fifth of a second.
    cache = hub_cache()
    if not (cache / f"models--{model.replace('/', '--')}").is_dir() \
            or missing_modules("huggingface_hub"):
        return None
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        local = Path(snapshot_download(model, local_files_only=True, cache_dir=cache))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    return local if (local / "model_index.json").is_file() else None


def hub_cache() -> Path:
    """The Hugging Face cache folder, by its documented rules (``HF_HUB_CACHE``, else
    ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``), read when asked."""
    cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if cache:
        return Path(cache).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface" / \
        "hub"


def choose(kind: Kind, setting: str, model: str, device: str = "auto") -> Choice:
    """The backend to use for ``kind``, and why. ``diffusers`` asked for and impossible raises.

    Without a GPU, ``diffusers`` runs only when the device is set to ``cpu`` on purpose: the
    default models take minutes per image and hours per video on a CPU.
    """
    if setting == "procedural":
        return Choice("procedural", "procedural backend chosen in the settings")
    if setting not in ("auto", "diffusers"):
        raise GenerationError(f"unknown {kind} backend {setting!r}: use auto, procedural or "
                              "diffusers")
    missing = missing_modules("torch", "diffusers", "transformers")
    path = resolve_model(model) if not missing else None
    problem = ""
    if missing:
        problem = f"{', '.join(missing)} not installed (pip install 'appforge[diffusers]')"
    elif path is None:
        problem = (f"{model} is not on this machine (a model folder or the Hugging Face "
                   "cache; appforge never downloads)")
    elif not gpu_present() and (setting == "auto" or device != "cpu"):
        problem = "no CUDA GPU found"
        if setting == "diffusers":
            problem += " (set APPFORGE_DIFFUSERS_DEVICE=cpu to run it on the CPU anyway)"
    if problem:
        if setting == "diffusers":
            raise GenerationError(f"the diffusers {kind} backend cannot run: {problem}",
                                  hint=f"set APPFORGE_{kind.upper()}_BACKEND=auto to fall back "
                                  "to the procedural renderer")
        return Choice("procedural", f"{kind}s: procedural renderer (auto: {problem})")
    return Choice("diffusers", f"{setting}: {model} found at {path}", model, str(path))


class PipelineCache:
    """Loaded pipelines, one per (model, options), shared by every backend in this process."""

    def __init__(self) -> None:
        self._pipes: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], load: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._pipes:
                self._pipes[key] = load()
            return self._pipes[key]

    def __len__(self) -> int:
        return len(self._pipes)

    def free(self) -> None:
        """Drop every pipeline and give the GPU memory back."""
        with self._lock:
            self._pipes.clear()
        if not missing_modules("torch"):
            import gc

            import torch

            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()


PIPELINES = PipelineCache()


def device_and_dtype(options: DiffusionOptions) -> tuple[str, Any]:
    import torch

    device = options.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise GenerationError("APPFORGE_DIFFUSERS_DEVICE=cuda but torch sees no CUDA GPU")
    dtype = getattr(torch, options.dtype, None)
    if not isinstance(dtype, torch.dtype):
        raise GenerationError(f"unknown torch dtype {options.dtype!r} (try bfloat16)")
    if device == "cpu" and dtype == torch.float16:
        dtype = torch.float32  # half precision kernels are missing or slow on CPUs
    return device, dtype


def load_pipeline(path: str, options: DiffusionOptions, pipeline_class: Any = None) -> Any:
    """Load (once per process) the pipeline stored at ``path``, ready to run."""
    device, dtype = device_and_dtype(options)
    key = (path, device, str(dtype), options.cpu_offload, options.vae_tiling,
           options.step_cache, options.compile, getattr(pipeline_class, "__name__", ""))
    return PIPELINES.get(key, lambda: _load(path, device, dtype, options, pipeline_class))


def _load(path: str, device: str, dtype: Any, options: DiffusionOptions,
          pipeline_class: Any) -> Any:
    from diffusers import DiffusionPipeline

    cls = pipeline_class or DiffusionPipeline
    try:
        pipe = cls.from_pretrained(path, torch_dtype=dtype, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise GenerationError(f"could not load the diffusers model at {path}: {exc}") from None
    if options.cpu_offload and device == "cuda":
        pipe.enable_model_cpu_offload()
    else:
        pipe.to(device)
    # Kept on the pipeline so every backend using it can report what was applied.
    pipe.appforge_optimisations = optimise(pipe, options)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def optimise(pipe: Any, options: DiffusionOptions) -> list[str]:
    """Apply the exact (output-preserving up to rounding) speed-ups a pipeline supports.

    Returns what was applied, for the build report and the benchmarks.
    """
    applied = []
    vae = getattr(pipe, "vae", None)
    if options.vae_tiling and vae is not None:
        for name in ("enable_tiling", "enable_slicing"):
            if hasattr(vae, name):
                getattr(vae, name)()
                applied.append(f"vae.{name}")
    denoiser = getattr(pipe, "transformer", None) or getattr(pipe, "unet", None)
    if denoiser is not None and hasattr(denoiser, "fuse_qkv_projections"):
        try:
            denoiser.fuse_qkv_projections()
            applied.append("fused qkv")
        except (AttributeError, NotImplementedError, ValueError):
            pass
    if options.step_cache and denoiser is not None and hasattr(denoiser, "enable_cache"):
        from diffusers.hooks import FirstBlockCacheConfig

        denoiser.enable_cache(FirstBlockCacheConfig(threshold=options.step_cache))
        applied.append(f"first-block cache {options.step_cache:g}")
    if options.compile and denoiser is not None:
        if hasattr(denoiser, "compile_repeated_blocks"):
            # The first-block cache decides per step, in Python, whether to run the other
            # blocks; that graph break makes fullgraph compilation fail, so allow it then.
            denoiser.compile_repeated_blocks(fullgraph=not options.step_cache)
            applied.append("regional torch.compile")
        else:
            import torch

            setattr(pipe, "transformer" if hasattr(pipe, "transformer") else "unet",
                    torch.compile(denoiser))
            applied.append("torch.compile")
    return applied


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a GPU (or CPU allocator) out-of-memory error."""
    name = type(exc).__name__
    return name == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def oom_error(kind: str, exc: BaseException) -> GenerationError:
    return GenerationError(
        f"the GPU ran out of memory making the {kind}: {str(exc).splitlines()[0][:200]}",
        hint="set APPFORGE_DIFFUSERS_CPU_OFFLOAD=true and APPFORGE_DIFFUSERS_VAE_TILING=true, "
        "ask for a smaller size, or use APPFORGE_" + kind.upper() + "_BACKEND=procedural")


class DiffusersBackend:
    """What the image and video backends share: the model they run and their last report."""

    name: str = "diffusers"

    def __init__(self, model: str, model_path: str, options: DiffusionOptions) -> None:
        self.model = model
        self.model_path = model_path
        self.options = options
        #: What the last ``generate`` did (steps, seed, seconds, pipeline, speed-ups).
        self.last_report: Report | None = None


@dataclass
class Report:
    """What a diffusers run did, recorded in the asset manifest."""

    model: str
    steps: int
    seed: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)
