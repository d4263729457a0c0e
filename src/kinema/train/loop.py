"""The training loop: stages in order, AdamW + warm-up, clipping, accumulation, EMA, atomic
checkpoints, exact resume (survey III-B).

Layout of ``out_dir``::

    checkpoints/last.safetensors   training state (weights, EMA, optimiser, step) - resumable
    model.safetensors              deployable model: EMA weights + autoencoder + config
    lora_<stage>.safetensors       LoRA weights of a LoRA stage, saved separately
    log.csv, tb/                   losses (per noise-level bin too), lr, grad norm, speed
    samples/step_<N>.gif           validation sample grids
"""

from __future__ import annotations

import json
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from kinema import __version__
from kinema.build import load_weights, weights_mismatch
from kinema.checkpoint import load_checkpoint, prefixed, remove_stale_temps, save_checkpoint, subdict
from kinema.config import check_range, to_dict
from kinema.diffusion import LossBins
from kinema.errors import ConfigError, InputError
from kinema.train import distributed as D
from kinema.train.components import Components, build_components, count_params, select_trainable, step_generator
from kinema.train.config import StageSpec, TrainConfig
from kinema.train.data import batch_iterator, build_stage_dataset
from kinema.train.ema import EMA
from kinema.train.interrupt import StopRequest
from kinema.train.logger import RunLogger
from kinema.train.optim import build_optimizer, load_optimizer_state_full, optimizer_state_full, set_lr, warmup_factor


# what an autoencoder stage trains (a denoiser stage trains its own ``trainable`` rule)
AUTOENCODER_TRAINABLE = {"autoencoder": "all", "decoder": "decoder."}


@dataclass
class TrainState:
    step: int = 0  # global optimiser steps done
    seconds: float = 0.0  # wall time spent training (all sessions)
    lora: bool = False  # LoRA wrappers are injected in the backbone
    autoencoder_frozen_stats: bool = False


def training_eps(train_noise: str, latents: torch.Tensor, mask: torch.Tensor,
                 generator: torch.Generator) -> torch.Tensor | None:
    """The noise of a denoiser step for ``diffusion.train_noise``: None (the loss draws i.i.d.
    noise) or PYoCo's mixed noise (Ge et al. 2023), the ``mixed`` sampling prior's share for clips
    with a known frame (what an SDEdit start samples them with) and i.i.d. for text-only clips (what
    text-to-video samples with). latents (B, C, T, h, w), mask (B, T) the known frames."""
    if train_noise == "iid":
        return None
    from kinema.sampling.noise_priors import MIXED_SHARED, mixed_noise

    share = MIXED_SHARED * (mask > 0).any(dim=1).float().cpu()  # (B,)
    return mixed_noise(latents.shape, generator=generator, shared=share).to(latents)


class Trainer:
    def __init__(self, config: TrainConfig, out_dir: str | Path, *, resume: bool = False, max_steps: int | None = None,
                 text_encoder=None, log: Callable[[str], None] = print, progress: bool = True):
        if max_steps is not None:
            check_range("max_steps", max_steps, 0, None)
        self.config, self.out = config, Path(out_dir)
        self.resume, self.max_steps, self.print, self.progress = resume, max_steps, log, progress
        self.clock = time.monotonic  # wall time for save_every_minutes (a test may replace it)
        self._last_save = self.clock()
        # 1. device, precision, process group
        self.device = D.resolve_device(config.device)
        self.ctx = D.init_distributed(config.distributed, self.device)
        if self.ctx.world > 1:
            self.device = D.resolve_device(config.device, self.ctx.local_rank)
        if not self.ctx.is_main:  # one voice per run
            self.print = lambda *_: None
        self.amp = self.device.type == "cuda" and config.precision in ("auto", "bf16")
        torch.manual_seed(config.seed)
        # 2. modules
        self.c: Components = build_components(config, text_encoder=text_encoder)
        self.c.autoencoder.to(self.device)
        self.c.backbone.to(self.device)
        from kinema.diffusion import Denoiser

        self.denoiser = Denoiser(self.c.backbone, self.c.param)
        self.planner = None  # the motion planner of conditioner.reference="planned"
        if config.conditioner.reference == "planned":
            self.planner = self.c.conditioner.get_planner(self.c.autoencoder.latent_channels).to(self.device)
        self.loss_fn = self._build_loss()
        self.ema = EMA(self.c.backbone, config.ema_decay)
        self.state = TrainState()
        self.optimizer = None
        self._resume_tensors: dict[str, torch.Tensor] | None = None
        self._resume_info: dict = {}
        self.logger = RunLogger(self.out, enabled=self.ctx.is_main)
        self.cleanup_on_finish = True  # leave the process group when run() ends
        self.stop = StopRequest()  # Ctrl-C / SIGTERM end the run at the next step boundary

    # ---- public --------------------------------------------------------------------------------
    def run(self) -> TrainState:
        """Train every stage from where the state is; return the final state."""
        self.out.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temps()
        if self.resume:
            self._load_state()
            self.logger.resume_from(self.state.step)  # drop log rows of steps this run will redo
        elif self.ctx.is_main:
            (self.out / "config.json").write_text(json.dumps(to_dict(self.config), indent=2))
        self.print(f"kinema train: {self.config.model.kind}/{self.config.model.preset} "
                   f"{count_params(self.c.backbone) / 1e6:.2f}M params on {self.device}, "
                   f"{self.config.total_steps} steps in {len(self.config.stages)} stage(s)")
        offset = 0
        try:
            with self.stop:
                for stage in self.config.stages:
                    if self.state.step < offset + stage.steps:
                        if not self._run_stage(stage, offset):
                            break  # stopped by max_steps
                    offset += stage.steps
                else:
                    self.export_model()
        finally:
            self.logger.close()  # flush the CSV and TensorBoard logs, interrupted or not
        if self.cleanup_on_finish:
            D.cleanup(self.ctx)
        return self.state

    # ---- stages --------------------------------------------------------------------------------
    def _run_stage(self, stage: StageSpec, offset: int) -> bool:
        """Train one stage from the current step. False when max_steps stopped the run."""
        cfg = self.config
        local = self.state.step - offset
        bs = stage.batch_size or cfg.batch_size
        model = self._prepare_stage(stage)
        self.loss_fn.density = self._stage_density(stage)
        dataset = self._stage_dataset(stage)
        data = batch_iterator(dataset, bs, cfg.seed + offset,
                              start_step=local * cfg.optim.accumulation, rank=self.ctx.rank,
                              world=self.ctx.world, num_workers=cfg.data.num_workers)
        lr = stage.lr or cfg.optim.lr
        bar = self._progress_bar(stage, local)
        t0, bins = time.perf_counter(), LossBins.for_param(self.c.param)
        self._last_save = self.clock()  # building the stage's data is no training at risk
        while local < stage.steps:
            if self.max_steps is not None and self.state.step >= self.max_steps:
                self._save_state(stage)
                return False
            if self.stop.requested:  # Ctrl-C or SIGTERM, seen at a step boundary: keep every finished step
                self._save_state(stage)
                self.print(f"interrupted: state saved at step {self.state.step}; continue with --resume")
                raise KeyboardInterrupt
            set_lr(self.optimizer, lr * warmup_factor(local, cfg.optim.warmup_steps))
            loss, grad_norm = self._optimizer_step(stage, model, data, bins)
            self.state.step += 1
            local += 1
            if stage.target == "denoiser":
                self.ema.update(D.full_state_dict(self.c.backbone, self.ctx), self.state.step)
            dt = time.perf_counter() - t0
            self.state.seconds += dt
            t0 = time.perf_counter()
            self._after_step(stage, loss, grad_norm, dt, bins, bar)
        if bar is not None:
            bar.close()
        self._finish_stage(stage)
        self._save_state(stage, done=True)
        return True

    def validate(self) -> None:
        """What a run checks before training, without training or writing (``--dry-run``): every
        stage's dataset is built as the run will build it (a missing path, an fps, size or frame
        count out of range, an empty dataset fail here), and a resume loads its checkpoint."""
        for stage in self.config.stages:
            if len(self._stage_dataset(stage)) <= 0:
                raise ConfigError(f"stage {stage.name!r}: the training dataset is empty")
        if self.resume:
            self._load_state(announce=False)  # stdout stays the dry run's JSON

    def _stage_dataset(self, stage: StageSpec):
        """The dataset of ``stage`` at its size, frame count and batch size."""
        cfg = self.config
        size, frames = tuple(stage.size or cfg.data.size), stage.frames or cfg.data.frames
        bs = stage.batch_size or cfg.batch_size
        return build_stage_dataset(cfg.data, stage, size, frames, bs, cfg.seed, self.c.autoencoder,
                                   self.c.model_config)

    def _prepare_stage(self, stage: StageSpec):
        """Freeze/unfreeze, inject LoRA, build (or restore) the optimiser; return the trained module."""
        if stage.target in ("autoencoder", "decoder"):
            module = self.c.autoencoder
            if stage.target == "decoder" and not hasattr(module, "decoder_loss"):
                raise ConfigError(f"stage {stage.name!r}: target 'decoder' needs a KL autoencoder, "
                                  f"not {self.config.autoencoder.kind!r}")
        elif stage.target == "planner":
            if self.planner is None:
                raise ConfigError(f"stage {stage.name!r}: target 'planner' needs conditioner.reference='planned'")
            module = self.planner
        else:
            if stage.trainable == "lora" and not self.state.lora:
                self._inject_lora(stage)
            module = self.c.backbone
        for m in self._modules():
            m.requires_grad_(False)
            m.train(m is module)
        select_trainable(module, AUTOENCODER_TRAINABLE.get(stage.target, stage.trainable))
        wrapped = D.wrap_model(module, self.ctx, self.device)
        params = [p for p in module.parameters() if p.requires_grad]  # after FSDP swapped them for shards
        if stage.target == "denoiser":
            from kinema.diffusion import Denoiser

            self.denoiser = Denoiser(wrapped, self.c.param)
        self.optimizer = build_optimizer(params, self.config.optim, stage.lr)
        # the checkpoint's stage is this one: still running, or finished and now given more steps
        if self._resume_tensors is not None and self._resume_info.get("stage") == stage.name:
            load_optimizer_state_full(module, self.optimizer, self._resume_tensors, self._resume_info["param_groups"],
                                      sharded=self.ctx.strategy == "fsdp")
        self._resume_tensors = None
        return wrapped

    def _modules(self) -> list[torch.nn.Module]:
        return [self.c.autoencoder, self.c.backbone] + ([self.planner] if self.planner is not None else [])

    def _stage_module(self, stage: StageSpec) -> torch.nn.Module:
        if stage.target in ("autoencoder", "decoder"):
            return self.c.autoencoder
        return self.planner if stage.target == "planner" else self.c.backbone

    def _inject_lora(self, stage: StageSpec) -> None:
        from kinema.models.lora import LoRAConfig, inject_lora

        spec = stage.lora
        inject_lora(self.c.backbone, LoRAConfig(rank=spec.rank, alpha=spec.alpha, targets=list(spec.targets),
                                                dropout=spec.dropout))
        self.c.backbone.to(self.device)
        self.ema.reset_keys(self.c.backbone)
        self.state.lora = True

    def _finish_stage(self, stage: StageSpec) -> None:
        if stage.target == "autoencoder":
            self._calibrate_autoencoder()
        if stage.trainable == "lora" and self.ctx.is_main:
            from kinema.models.lora import lora_state_dict

            save_checkpoint(self.out / f"lora_{stage.name}.safetensors", lora_state_dict(self.c.backbone),
                            {"lora": to_dict(stage.lora), "backbone": self.c.model_config["backbone"]})

    # ---- one optimiser step --------------------------------------------------------------------
    def _optimizer_step(self, stage: StageSpec, model, data, bins: LossBins) -> tuple[float, float]:
        cfg, total = self.config, 0.0
        self.optimizer.zero_grad(set_to_none=True)
        for micro in range(cfg.optim.accumulation):
            batch = next(data)
            gen = step_generator(cfg.seed, self.state.step, self.ctx.rank, salt=micro)
            with self._autocast():
                loss = self._loss(stage, model, batch, gen, bins)
            (loss / cfg.optim.accumulation).backward()
            total += loss.item() / cfg.optim.accumulation
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        norm = torch.nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip if cfg.optim.grad_clip > 0 else math.inf)
        self.optimizer.step()
        return total, float(norm)

    def _loss(self, stage: StageSpec, model, batch, gen: torch.Generator, bins: LossBins) -> torch.Tensor:
        video = batch["video"].to(self.device) if "video" in batch else None  # (B, 3, T, H, W) in [-1, 1]
        if stage.target in ("autoencoder", "decoder"):
            ae = getattr(model, "module", model)  # the autoencoder itself under DDP
            if stage.target == "autoencoder":
                return ae.loss(video, gen)["total"]
            return ae.decoder_loss(video, gen, latent_noise=stage.latent_noise)["total"]
        motion = batch["motion"].to(self.device) if batch["motion"] is not None else None
        plan = batch.get("plan")
        plan = plan.to(self.device) if plan is not None else None
        objects = batch.get("plan_mask")  # (B, T, H, W) the main object's masks (kinema world)
        objects = objects.to(self.device) if objects is not None else None
        if stage.target == "planner":
            return self._planner_loss(stage, batch["caption"], motion, plan, video, objects)
        if video is None:  # a latent cache: encoded once, by this run's autoencoder (checked), with the same mean
            latents = batch["latents"].to(self.device)  # (B, C, T, h, w)
        else:
            with torch.no_grad():
                latents = self.c.autoencoder.encode(video)  # (B, C, T, h, w)
        cond, mask = self.c.conditioner.training_batch(latents, batch["caption"], batch["fps"].to(self.device),
                                                       motion, gen, plan=plan, object_masks=objects, frames=video,
                                                       encode=self.c.autoencoder.encode, task_mix=stage.task_mix)
        image_mode = stage.image_prob > 0 and torch.rand((), generator=gen).item() < stage.image_prob
        kw = {"image_mode": True} if image_mode else {}
        eps = training_eps(self.config.diffusion.train_noise, latents, mask, gen)
        per_sample, sigma = self.loss_fn(self.denoiser, latents, cond, gen, eps=eps, **kw)
        bins.add(per_sample.detach(), sigma.detach())
        return per_sample.mean()

    def _planner_loss(self, stage: StageSpec, captions: list[str], motion, plan, video, objects) -> torch.Tensor:
        if plan is None:
            raise ConfigError(f"stage {stage.name!r}: target 'planner' needs data with motion plans "
                              f"(data.source='world')")
        tokens, mask = self.c.conditioner.encode_text(captions)
        latent = target = None
        if self.planner.segmenter is not None and objects is not None:  # the segmenter learns frame 0's object
            with torch.no_grad():
                latent = self.c.autoencoder.encode(video[:, :, :1])[:, :, 0]  # (B, C, h, w)
            target = objects[:, 0]
        return self.planner.loss(tokens.to(self.device), mask.to(self.device), motion, plan, latent, target)

    def _stage_density(self, stage: StageSpec):
        """The run's training density, restricted to sigma <= ``stage.max_sigma`` where the stage sets it."""
        from kinema.diffusion import Truncated

        return self._density if stage.max_sigma is None else Truncated(self._density, stage.max_sigma)

    def _build_loss(self):
        from kinema.diffusion import DiffusionLoss, get_density

        from kinema.diffusion import top_weight_ratio

        d = self.config.diffusion
        ratio = top_weight_ratio(self.c.param, d.weighting, d.min_snr_gamma)
        if ratio is not None and ratio < 1e-3:
            self.print(f"warning: diffusion.weighting={d.weighting} gives sigma_max={self.c.param.sigma_max:.3g}, where "
                       f"sampling starts, {ratio:.1e} of the x0-loss weight at sigma=1: the first sampling step "
                       f"will guess the layout untrained (prefer weighting=native with v-prediction)")
        self._density = get_density(d.density, self.c.param)
        return DiffusionLoss(self.c.param, self._density, weighting=d.weighting,
                             min_snr_gamma=d.min_snr_gamma)

    def _autocast(self):
        if self.amp:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return nullcontext()

    # ---- logging, checkpoints ------------------------------------------------------------------
    def _after_step(self, stage, loss, grad_norm, dt, bins, bar) -> None:
        cfg, step = self.config, self.state.step
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")
        if step % cfg.log_every == 0 or step == 1:
            row = {"step": step, "stage": stage.name, "loss": loss, "grad_norm": grad_norm,
                   "lr": self.optimizer.param_groups[0]["lr"], "sec_per_step": dt}
            row.update(bins.report())
            bins.reset()
            self.logger.log(row)
        if (cfg.save_every and step % cfg.save_every == 0) or self._save_is_due():
            self._save_state(stage)
        if cfg.sample_every and step % cfg.sample_every == 0 and stage.target == "denoiser" and self.ctx.is_main:
            self._write_samples(step)

    def _progress_bar(self, stage: StageSpec, done: int):
        if not (self.progress and self.ctx.is_main):
            return None
        from kinema.progress import progress  # stderr, only on a terminal, off with --quiet

        return progress(total=stage.steps, initial=done, desc=f"stage {stage.name}", unit="step")

    def _save_is_due(self) -> bool:
        """save_every_minutes of training since the last checkpoint? Rank 0's clock decides for
        every rank, since all of them take part in a save (FSDP gathers, barriers)."""
        minutes = self.config.save_every_minutes
        if not minutes:
            return False
        due = self.clock() - self._last_save >= 60.0 * minutes
        if self.ctx.world > 1:
            flag = torch.tensor([float(due)], device=self.device)
            torch.distributed.broadcast(flag, src=0)
            due = bool(flag.item())
        return due

    def _remove_stale_temps(self) -> None:
        """Temp files of this run's checkpoints left by a kill mid-write (the checkpoint itself is
        whole: writes are atomic). Main rank only, before this run writes anything."""
        if not self.ctx.is_main:
            return
        names = ["checkpoints/last.safetensors", "model.safetensors"]
        names += [f"lora_{s.name}.safetensors" for s in self.config.stages if s.trainable == "lora"]
        removed = [p for name in names for p in remove_stale_temps(self.out / name)]
        if removed:
            self.print(f"removed {len(removed)} temp file(s) of an interrupted checkpoint write: "
                       f"{', '.join(p.name for p in removed)}")

    def _save_state(self, stage: StageSpec, done: bool = False) -> None:
        """Atomic training-state checkpoint (rank 0 writes; every rank gathers for FSDP)."""
        self._last_save = self.clock()
        state = D.full_state_dict(self.c.backbone, self.ctx)
        module = self._stage_module(stage)
        opt_tensors, groups = optimizer_state_full(module, self.optimizer, sharded=self.ctx.strategy == "fsdp")
        if not self.ctx.is_main:
            D.barrier(self.ctx)
            return
        tensors = {**prefixed(state, "backbone"), **prefixed(self.ema.state_dict(), "ema"),
                   **prefixed(self.c.autoencoder.state_dict(), "autoencoder")}
        if self.planner is not None:
            tensors.update(prefixed(self.planner.state_dict(), "planner"))
        tensors.update(opt_tensors)
        info = {"step": self.state.step, "seconds": self.state.seconds, "lora": self.state.lora,
                "stage": stage.name, "stage_done": done, "param_groups": groups, "kinema_version": __version__,
                "autoencoder": self.c.model_config["autoencoder"]}  # its calibrated scale/shift live in the spec
        save_checkpoint(self.out / "checkpoints" / "last.safetensors", tensors, to_dict(self.config), info)
        D.barrier(self.ctx)

    def _load_state(self, announce: bool = True) -> None:
        path = self.out / "checkpoints" / "last.safetensors"
        if not path.exists():
            raise InputError(f"--resume: no checkpoint at {path}")
        tensors, _, info = load_checkpoint(path)
        if info.get("lora"):
            stage = next((s for s in self.config.stages if s.trainable == "lora"), None)
            if stage is None:
                raise ConfigError(f"--resume: {path} holds LoRA weights; this config has no LoRA stage")
            self._inject_lora(stage)
        source = f"{path} (was the architecture changed since it was written?)"
        load_weights(self.c.backbone, subdict(tensors, "backbone"), source, "backbone")
        load_weights(self.c.autoencoder, subdict(tensors, "autoencoder"), source, "autoencoder")
        ema = subdict(tensors, "ema")
        mismatch = weights_mismatch(self.ema.state_dict(), ema)
        if mismatch:
            raise InputError(f"{source}: EMA weights do not match its config ({mismatch})")
        self.ema.load_state_dict(ema)
        if self.planner is not None:
            load_weights(self.planner, subdict(tensors, "planner"), source, "planner")
        spec = info.get("autoencoder")
        if spec and "scale" in spec.get("config", {}):  # restore the calibration of an autoencoder stage
            self.c.autoencoder.set_scale_shift(spec["config"]["scale"], spec["config"]["shift"])
            self.c.model_config["autoencoder"] = spec
        self.state = TrainState(step=int(info["step"]), seconds=float(info["seconds"]), lora=bool(info.get("lora")))
        self._resume_tensors = {k: v for k, v in tensors.items() if k.startswith(("optim.", "optim/"))}
        self._resume_info = info
        if announce:
            self.print(f"resumed from {path} at step {self.state.step}")

    def export_model(self) -> Path | None:
        """model.safetensors: EMA backbone (LoRA merged) + autoencoder + model config."""
        if not self.ctx.is_main:
            return None
        from kinema.train.export import export_model

        return export_model(self, self.out / "model.safetensors")

    def export_snapshot(self, path: str | Path) -> Path:
        """The model file of the run's last checkpoint (its EMA backbone), without training further."""
        from kinema.train.export import export_model

        self._load_state()
        return export_model(self, Path(path))

    def _calibrate_autoencoder(self) -> None:
        from kinema.train.export import calibrate_autoencoder

        calibrate_autoencoder(self)

    def _write_samples(self, step: int) -> None:
        from kinema.train.export import write_validation_samples

        write_validation_samples(self, step)
