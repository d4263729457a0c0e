"""What a run produces besides its training state: the deployable model file and validation
sample grids."""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from kinema import __version__
from kinema.checkpoint import prefixed, save_checkpoint
from kinema.train.components import Components, count_params
from kinema.train.config import LoRASpec, TrainConfig


def ema_backbone(spec: dict, ema: dict[str, torch.Tensor], lora: LoRASpec | None = None) -> nn.Module:
    """A fresh backbone of ``spec`` holding the EMA weights ``ema``, the LoRA of ``lora`` merged in."""
    from kinema.build import build_backbone
    from kinema.models.lora import merge_lora
    from kinema.train.objectives import add_lora

    model = build_backbone(spec)  # fresh and unsharded, even under FSDP
    if lora is not None:
        add_lora(model, lora)
    model.load_state_dict({k: v.detach().cpu() for k, v in ema.items()})
    if lora is not None:
        merge_lora(model)
    return model.eval()


def export_model(path: Path, config: TrainConfig, model_config: dict, modules: dict[str, nn.Module], *, steps: int,
                 seconds: float, device: torch.device, world: int, log: Callable[[str], None] = print) -> Path:
    """model.safetensors: ``modules`` by checkpoint prefix (``backbone`` the EMA copy) + model
    config + how it was made."""
    tensors = {k: v for name, m in modules.items() for k, v in prefixed(m.state_dict(), name).items()}
    params = count_params(modules["backbone"])
    info = {
        "kinema_version": __version__, "steps": steps, "train_seconds": round(seconds, 1),
        "device": str(device), "cpu": platform.processor() or platform.machine(),
        "world_size": world, "parameters": params, "run_name": config.name,
        "data": {"source": config.data.source, "size": list(config.data.size), "frames": config.data.frames},
        "stages": [{"name": s.name, "steps": s.steps, "trainable": s.trainable} for s in config.stages],
    }
    if config.model.path:  # a fine-tune: say what it started from, so the compute adds up
        from kinema.checkpoint import read_metadata

        _, base = read_metadata(config.model.path)
        info["init_from"] = {"path": config.model.path, "run_name": base.get("run_name"), "steps": base.get("steps"),
                             "train_seconds": base.get("train_seconds")}
    out = save_checkpoint(path, tensors, model_config, info)
    log(f"wrote {out} ({params / 1e6:.2f}M params, step {steps})")
    return out


@torch.no_grad()
def write_validation_samples(path: Path, backbone: nn.Module, c: Components, config: TrainConfig,
                             device: torch.device, model_id: str, n: int = 2) -> Path:
    """Animate the first frames of ``n`` validation clips; write [real | generated] as a GIF grid."""
    from kinema.sampling.pipeline import I2VPipeline
    from kinema.train.data import build_dataset
    from kinema.video import write_video

    pipe = I2VPipeline(backbone, c.param, c.autoencoder, c.conditioner, c.model_config, device=device,
                       model_id=model_id)
    ds = build_dataset(config.data, tuple(config.data.size), config.data.frames, config.seed, split="val")
    rows = []
    for i in range(n):
        item = ds[i]
        video = item["video"] if "video" in item else _decoded(c.autoencoder, item["latents"], device)  # (3, T, H, W)
        res = pipe(video[:, 0], item.get("caption", ""), fps=float(item.get("fps", config.data.fps)),
                   frames=video.shape[1], seed=i)
        real = ((video.permute(1, 2, 3, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
        rows.append(np.concatenate([real, res.frames], axis=2))  # side by side
    grid = np.concatenate(rows, axis=1)  # (T, n*H, 2*W, 3)
    c.autoencoder.train(False)
    return write_video(path, grid, config.data.fps)


def _decoded(autoencoder: nn.Module, latents: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A latent-cache item's clip (3, T, H, W) in [-1, 1], through the run's autoencoder."""
    video = autoencoder.decode(latents[None].to(device))[0]  # (C, T, h, w) -> (3, T, H, W)
    return video.clamp(-1, 1).float().cpu()
