"""The training configuration: typed dataclasses, named presets, stages as data (rule 4).

A run is a list of stages. Each stage says what trains (all / temporal layers / spatial layers
/ LoRA / the autoencoder / its decoder alone), on what data, at what size and frame count, with
which task mix, for how many steps. Image pre-training -> video -> higher resolution, LoRA
fine-tuning of a frozen model, or a decoder fine-tune after the video stages are different stage
lists, not different scripts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinema.conditioning.conditioner import ConditionerConfig
from kinema.conditioning.tasks import TaskMix
from kinema.config import apply_overrides, check_choice, check_positive, check_range, from_dict, to_dict
from kinema.errors import ConfigError, InputError


@dataclass
class ModelSpec:
    kind: str = "unet3d"  # backbone family: "unet3d" | "stdit"
    preset: str = "tiny"  # a name in kinema.models.PRESETS[kind]
    overrides: dict[str, Any] = field(default_factory=dict)  # fields of the backbone config
    # a trained kinema model (.safetensors) whose backbone (spec + weights) starts the run (fine-tuning);
    # preset and overrides are then unused
    path: str | None = None


TRAIN_NOISES: tuple[str, ...] = ("iid", "mixed")


@dataclass
class DiffusionSpec:
    parameterization: str = "v"  # eps | v | x0 | flow | edm
    schedule: str = "cosine"  # VP betas for eps/v/x0: linear | scaled_linear | cosine
    density: str = "uniform"  # training noise levels: uniform | lognormal | logitnormal
    weighting: str = "native"  # native | min_snr | edm | uniform
    min_snr_gamma: float = 5.0
    sampler: str = "euler"  # default sampler for validation samples and inference
    sample_steps: int = 25
    image_guidance: float = 1.0  # default image guidance scale at inference (1 = off)
    plan_guidance: float = 1.0  # default motion-plan guidance scale at inference (planned models; 1 = off)
    strength: float = 1.0  # default SDEdit start at inference: < 1 noises the reference video partway (1 = pure noise)
    noise_prior: str = "iid"  # default initial-noise prior at inference (kinema.sampling.noise_priors)
    # the noise the training loss draws: "iid", or "mixed" (PYoCo: frames share 0.9 of it, the
    # structure the "mixed" prior samples with, so the model learns to remove that noise)
    train_noise: str = "iid"
    options: dict[str, Any] = field(default_factory=dict)  # extra parameterization kwargs

    def __post_init__(self) -> None:
        from kinema.sampling.noise_priors import NOISE_PRIORS

        if not 0.0 < self.strength <= 1.0:
            raise ConfigError(f"diffusion.strength={self.strength!r} must be in (0, 1]")
        check_choice("diffusion.noise_prior", self.noise_prior, tuple(NOISE_PRIORS))
        check_choice("diffusion.train_noise", self.train_noise, TRAIN_NOISES)
        check_range("diffusion.sample_steps", self.sample_steps, 1, 1000)  # the range inference accepts
        check_positive("diffusion.min_snr_gamma", self.min_snr_gamma)
        check_range("diffusion.image_guidance", self.image_guidance, 0.0, 50.0)
        check_range("diffusion.plan_guidance", self.plan_guidance, 0.0, 50.0)


@dataclass
class AutoencoderSpec:
    kind: str = "identity"  # identity (pixel space) | kl (per-frame KL autoencoder)
    preset: str = "tiny"  # preset of kinema.vae for kind "kl"
    path: str | None = None  # a trained autoencoder (.safetensors) to load and freeze
    overrides: dict[str, Any] = field(default_factory=dict)


DATA_SOURCES = ("world", "manifest", "folder", "images", "latent_cache")
CLIP_CROPS = ("random", "center")  # = kinema.data.real.geometry.CROPS (not imported: it loads cv2 and av)
CLIP_WINDOWS = ("random", "start", "center")  # = kinema.data.real.sampling.TEMPORAL_POLICIES


@dataclass
class DataSpec:
    source: str = "world"  # world | manifest | folder | images | latent_cache
    # manifest file or folder for real data; for latent_cache the folder `kinema data cache-latents`
    # wrote (or its index.json)
    path: str | None = None
    size: tuple[int, int] = (32, 32)  # (W, H) of training clips (latent_cache: must be the cache's)
    frames: int = 8  # frames per clip (latent_cache: must be the cache's)
    fps: float = 8.0  # target fps for real data; world clips are rendered at this fps
    num_workers: int = 0  # DataLoader worker processes
    world: dict[str, Any] = field(default_factory=dict)  # WorldConfig overrides
    crop: str = "random"  # real clips: where the crop sits, random | center (a latent cache uses center)
    temporal: str = "random"  # real clips: where the window starts, random | start | center (cache: start)
    # aspect-ratio buckets for manifest/folder videos (a batch never mixes shapes): "auto" = one
    # bucket per common aspect ratio at the pixel area of `size` (needs a scanned manifest, else
    # one size as with "none"); "none" = every clip cropped to `size`; or a list of [W, H] or
    # [W, H, batch_size] buckets
    buckets: str | list[list[int]] = "auto"

    def __post_init__(self) -> None:
        check_choice("data.source", self.source, DATA_SOURCES)
        if self.source != "world" and not self.path:
            raise ConfigError(f"data.path is required for data.source={self.source!r}")
        if len(self.size) != 2 or min(self.size) < 1:
            raise ConfigError(f"data.size={list(self.size)!r} must be two positive integers [W, H]")
        check_range("data.frames", self.frames, 1, None)
        check_positive("data.fps", self.fps)
        check_range("data.num_workers", self.num_workers, 0, 256)
        check_choice("data.crop", self.crop, CLIP_CROPS)
        check_choice("data.temporal", self.temporal, CLIP_WINDOWS)
        self._check_buckets()

    def _check_buckets(self) -> None:
        if isinstance(self.buckets, str):
            check_choice("data.buckets", self.buckets, ("auto", "none"))
            return
        if self.source not in ("manifest", "folder"):
            raise ConfigError(f"data.buckets: a list of buckets needs videos (data.source manifest or folder), "
                              f"not {self.source!r}")
        if not self.buckets:
            raise ConfigError('data.buckets: an empty list; give [[W, H], ...] or "auto" / "none"')
        for i, b in enumerate(self.buckets):
            if len(b) not in (2, 3) or min(b) < 1:
                raise ConfigError(f"data.buckets[{i}]={b!r} must be [W, H] or [W, H, batch_size], all >= 1")


@dataclass
class OptimSpec:
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 0.0
    warmup_steps: int = 50  # linear learning-rate warm-up
    grad_clip: float = 1.0  # max global grad norm (0 = off)
    accumulation: int = 1  # micro-batches per optimiser step

    def __post_init__(self) -> None:
        check_positive("optim.lr", self.lr)
        for i, beta in enumerate(self.betas):
            if not 0.0 <= beta < 1.0:  # AdamW's own domain; NaN fails it too
                raise ConfigError(f"optim.betas[{i}]={beta!r} is outside the accepted range [0, 1)")
        check_range("optim.weight_decay", self.weight_decay, 0.0, None)
        check_range("optim.warmup_steps", self.warmup_steps, 0, None)
        check_range("optim.grad_clip", self.grad_clip, 0.0, None)
        check_range("optim.accumulation", self.accumulation, 1, None)


@dataclass
class LoRASpec:
    rank: int = 8
    alpha: float = 8.0
    targets: list[str] = field(default_factory=lambda: ["to_q", "to_k", "to_v", "to_out"])
    dropout: float = 0.0

    def __post_init__(self) -> None:  # checked here, not when the LoRA stage starts hours later
        check_range("lora.rank", self.rank, 1, None)
        check_positive("lora.alpha", self.alpha)
        check_range("lora.dropout", self.dropout, 0.0, 0.99)
        if not self.targets:
            raise ConfigError("lora.targets: name at least one layer to adapt (e.g. to_q)")


TARGETS = ("denoiser", "autoencoder", "decoder", "planner")


@dataclass
class StageSpec:
    name: str = "main"
    steps: int = 1000
    target: str = "denoiser"  # denoiser | autoencoder | decoder (encoder frozen) | planner (motion planner)
    trainable: str = "all"  # all | temporal | spatial | lora | comma-separated name substrings
    lr: float | None = None  # overrides optim.lr for this stage
    batch_size: int | None = None  # overrides the run's batch_size
    size: tuple[int, int] | None = None  # overrides data.size
    frames: int | None = None  # overrides data.frames
    world: dict[str, Any] | None = None  # kinema-world overrides merged over data.world (e.g. a motion-rich mix)
    image_prob: float = 0.0  # fraction of steps in image mode (temporal layers skipped)
    latent_noise: float = 0.0  # decoder stages: max std of the noise added to latents (robust decoding)
    max_sigma: float | None = None  # denoiser stages: train only on noise levels sigma <= this (a low-noise expert)
    task_mix: TaskMix | None = None  # overrides conditioner.task_mix
    lora: LoRASpec | None = None  # required when trainable == "lora"

    def __post_init__(self) -> None:
        check_range(f"stages[{self.name}].steps", self.steps, 0, None)
        check_choice(f"stages[{self.name}].target", self.target, TARGETS)
        check_range(f"stages[{self.name}].image_prob", self.image_prob, 0.0, 1.0)
        check_range(f"stages[{self.name}].latent_noise", self.latent_noise, 0.0, 10.0)
        if self.lr is not None:
            check_positive(f"stages[{self.name}].lr", self.lr)
        if self.batch_size is not None:
            check_range(f"stages[{self.name}].batch_size", self.batch_size, 1, 4096)
        if self.latent_noise and self.target != "decoder":
            raise ConfigError(f"stages[{self.name}].latent_noise applies to target 'decoder' only, "
                              f"not {self.target!r}")
        if self.max_sigma is not None and (self.target != "denoiser" or not self.max_sigma > 0):
            raise ConfigError(f"stages[{self.name}].max_sigma={self.max_sigma!r}: a positive noise level, "
                              f"for target 'denoiser' only")
        if self.trainable == "lora" and self.lora is None:
            self.lora = LoRASpec()


@dataclass
class TrainConfig:
    name: str = "kinema"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = "auto"  # auto (bf16 on GPU, fp32 on CPU) | fp32 | bf16
    batch_size: int = 4
    ema_decay: float = 0.999
    model: ModelSpec = field(default_factory=ModelSpec)
    diffusion: DiffusionSpec = field(default_factory=DiffusionSpec)
    autoencoder: AutoencoderSpec = field(default_factory=AutoencoderSpec)
    conditioner: ConditionerConfig = field(default_factory=ConditionerConfig)
    data: DataSpec = field(default_factory=DataSpec)
    optim: OptimSpec = field(default_factory=OptimSpec)
    stages: list[StageSpec] = field(default_factory=lambda: [StageSpec()])
    log_every: int = 10  # steps between log lines
    save_every: int = 200  # steps between checkpoints (0 = only at the end)
    # minutes of training between checkpoints, whatever the step count (0 = off): a crash loses at
    # most this much work even when save_every is larger than the run
    save_every_minutes: float = 10.0
    sample_every: int = 0  # steps between validation sample grids (0 = off)
    gradient_checkpointing: bool = False
    distributed: str = "auto"  # auto (ddp when launched by torchrun) | none | ddp | fsdp

    def __post_init__(self) -> None:
        check_range("seed", self.seed, 0, 2**63 - 1)
        check_range("batch_size", self.batch_size, 1, 4096)
        check_range("ema_decay", self.ema_decay, 0.0, 1.0)
        check_range("log_every", self.log_every, 1, None)
        check_range("save_every", self.save_every, 0, None)
        check_range("save_every_minutes", self.save_every_minutes, 0.0, None)
        check_range("sample_every", self.sample_every, 0, None)
        check_choice("precision", self.precision, ("auto", "fp32", "bf16"))
        check_choice("distributed", self.distributed, ("auto", "none", "ddp", "fsdp"))
        if not self.stages:
            raise ConfigError("stages: a run needs at least one stage")
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):  # resume and lora_<name>.safetensors find a stage by name
            raise ConfigError(f"stages: names must be unique, got {names}")

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.stages)


# ---- presets ----------------------------------------------------------------------------------

PRESETS: dict[str, dict[str, Any]] = {
    # About two minutes on 2 CPU cores: a pixel-space tiny U-Net on 32x32x8 kinema world clips.
    "toy": {
        "name": "toy", "batch_size": 4, "save_every": 50,  # a crash loses at most a third of the run
        "data": {"source": "world", "size": [32, 32], "frames": 8, "world": {"max_objects": 2}},
        "optim": {"lr": 1e-3, "warmup_steps": 20},
        "stages": [{"name": "video", "steps": 150}],
        "diffusion": {"sample_steps": 20},
    },
    # Latent diffusion: a tiny KL autoencoder stage, then image pre-training, then video.
    "toy-latent": {
        "name": "toy-latent", "batch_size": 4,
        "autoencoder": {"kind": "kl", "preset": "tiny"},
        "data": {"source": "world", "size": [64, 64], "frames": 8},
        "optim": {"lr": 5e-4, "warmup_steps": 20},
        "stages": [
            {"name": "autoencoder", "target": "autoencoder", "steps": 200},
            {"name": "image", "steps": 100, "image_prob": 1.0},
            {"name": "video", "steps": 200},
        ],
    },
}


def load_config(path_or_preset: str, overrides: list[str] | None = None) -> TrainConfig:
    """A TrainConfig from a JSON/YAML file or a preset name, with ``key=value`` overrides."""
    data = _read_config_source(path_or_preset)
    data = apply_overrides(data, overrides or [])
    return from_dict(TrainConfig, data)


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    return to_dict(config)


def _read_config_source(source: str) -> dict[str, Any]:
    if source in PRESETS:
        return json.loads(json.dumps(PRESETS[source]))
    path = Path(source)
    if not path.is_file():
        raise InputError(f"config {source!r} is neither a file nor a preset ({', '.join(PRESETS)})")
    text = path.read_text()
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as e:  # noqa: BLE001 - parse errors of any library are bad input
        raise InputError(f"config {path}: cannot parse ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise InputError(f"config {path}: top level must be a mapping")
    return data
