"""What a run produces besides its training state: the deployable model file, the autoencoder
calibration after an autoencoder stage, and validation sample grids."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import torch

from kinema import __version__
from kinema.checkpoint import prefixed, save_checkpoint
from kinema.train.components import count_params


def ema_backbone(trainer) -> torch.nn.Module:
    """A copy of the backbone holding the EMA weights, LoRA merged in when present."""
    from kinema.build import build_backbone

    model = build_backbone(trainer.c.model_config["backbone"])  # fresh and unsharded, even under FSDP
    if trainer.state.lora:
        from kinema.models.lora import LoRAConfig, inject_lora

        spec = next(s.lora for s in trainer.config.stages if s.trainable == "lora")
        inject_lora(model, LoRAConfig(rank=spec.rank, alpha=spec.alpha, targets=list(spec.targets),
                                      dropout=spec.dropout))
    model.load_state_dict({k: v.detach().cpu() for k, v in trainer.ema.state_dict().items()})
    if trainer.state.lora:
        from kinema.models.lora import merge_lora

        merge_lora(model)
    return model.eval()


def export_model(trainer, path: Path) -> Path:
    """model.safetensors: EMA backbone + autoencoder + model config + how it was made."""
    backbone = ema_backbone(trainer)
    tensors = {**prefixed(backbone.state_dict(), "backbone"),
               **prefixed(trainer.c.autoencoder.state_dict(), "autoencoder")}
    if trainer.planner is not None:
        tensors.update(prefixed(trainer.planner.state_dict(), "planner"))
    cfg = trainer.config
    info = {
        "kinema_version": __version__, "steps": trainer.state.step, "train_seconds": round(trainer.state.seconds, 1),
        "device": str(trainer.device), "cpu": platform.processor() or platform.machine(),
        "world_size": trainer.ctx.world, "parameters": count_params(backbone), "run_name": cfg.name,
        "data": {"source": cfg.data.source, "size": list(cfg.data.size), "frames": cfg.data.frames},
        "stages": [{"name": s.name, "steps": s.steps, "trainable": s.trainable} for s in cfg.stages],
    }
    if cfg.model.path:  # a fine-tune: say what it started from, so the compute adds up
        from kinema.checkpoint import read_metadata

        _, base = read_metadata(cfg.model.path)
        info["init_from"] = {"path": cfg.model.path, "run_name": base.get("run_name"), "steps": base.get("steps"),
                             "train_seconds": base.get("train_seconds")}
    out = save_checkpoint(path, tensors, trainer.c.model_config, info)
    trainer.print(f"wrote {out} ({count_params(backbone) / 1e6:.2f}M params, step {trainer.state.step})")
    return out


@torch.no_grad()
def calibrate_autoencoder(trainer, batches: int = 8) -> None:
    """After an autoencoder stage: set latent scale/shift so latents have zero mean, unit std."""
    from kinema.train.data import batch_iterator, build_dataset
    from kinema.vae import estimate_scale_shift

    cfg = trainer.config
    ds = build_dataset(cfg.data, tuple(cfg.data.size), cfg.data.frames, cfg.seed + 1, split="val")
    it = batch_iterator(ds, cfg.batch_size, cfg.seed, 0)
    videos = [next(it)["video"].to(trainer.device) for _ in range(batches)]
    ae = trainer.c.autoencoder.eval()
    scale, shift = estimate_scale_shift(ae, videos)
    ae.set_scale_shift(scale, shift)
    from kinema.vae import autoencoder_spec

    trainer.c.model_config["autoencoder"] = autoencoder_spec(ae)
    trainer.print(f"autoencoder latent scale={float(scale):.4f} shift={float(shift):.4f}")


@torch.no_grad()
def write_validation_samples(trainer, step: int, n: int = 2) -> Path:
    """Animate the first frames of ``n`` validation clips; write [real | generated] as a GIF grid."""
    from kinema.sampling.pipeline import I2VPipeline
    from kinema.train.data import build_dataset
    from kinema.video import write_video

    cfg = trainer.config
    pipe = I2VPipeline(ema_backbone(trainer), trainer.c.param, trainer.c.autoencoder, trainer.c.conditioner,
                       trainer.c.model_config, device=trainer.device, model_id=f"step {step}")
    ds = build_dataset(cfg.data, tuple(cfg.data.size), cfg.data.frames, cfg.seed, split="val")
    rows = []
    for i in range(n):
        item = ds[i]
        video = item["video"] if "video" in item else _decoded(trainer, item["latents"])  # (3, T, H, W)
        res = pipe(video[:, 0], item.get("caption", ""), fps=float(item.get("fps", cfg.data.fps)),
                   frames=video.shape[1], seed=i)
        real = ((video.permute(1, 2, 3, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
        rows.append(np.concatenate([real, res.frames], axis=2))  # side by side
    grid = np.concatenate(rows, axis=1)  # (T, n*H, 2*W, 3)
    trainer.c.autoencoder.train(False)
    return write_video(trainer.out / "samples" / f"step_{step:06d}.gif", grid, cfg.data.fps)


def _decoded(trainer, latents: torch.Tensor) -> torch.Tensor:
    """A latent-cache item's clip (3, T, H, W) in [-1, 1], through the run's autoencoder."""
    video = trainer.c.autoencoder.decode(latents[None].to(trainer.device))[0]  # (C, T, h, w) -> (3, T, H, W)
    return video.clamp(-1, 1).float().cpu()
