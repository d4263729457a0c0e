"""The training loop: stages in order, AdamW + warm-up, clipping, accumulation, EMA, atomic
checkpoints, exact resume (Wang et al. 2026, I2V survey Sec. III-B). What a stage trains and its
loss are its objective's (``train/objectives``); the loop keeps the rest.

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
from kinema.train.objectives import OBJECTIVES, Objective, add_lora
from kinema.train.optim import build_optimizer, load_optimizer_state_full, optimizer_state_full, set_lr, warmup_factor


@dataclass
class TrainState:
    step: int = 0  # global optimiser steps done
    seconds: float = 0.0  # wall time spent training (all sessions)
    lora: bool = False  # LoRA wrappers are injected in the backbone


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
        # 2. modules, by checkpoint prefix, and the objectives that train them
        self.c: Components = build_components(config, text_encoder=text_encoder)
        self.modules = {"backbone": self.c.backbone, "autoencoder": self.c.autoencoder,
                        **self.c.conditioner.modules(self.c.autoencoder.latent_channels)}  # e.g. "planner"
        self.modules = {k: m.to(self.device) for k, m in self.modules.items()}
        self.planner = self.modules.get("planner")  # the motion planner of conditioner.reference="planned"
        self.objectives = {t: cls(self.c, config, self.device, self.print) for t, cls in OBJECTIVES.items()}
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

    def objective(self, stage: StageSpec) -> Objective:
        return self.objectives[stage.target]

    # ---- stages --------------------------------------------------------------------------------
    def _run_stage(self, stage: StageSpec, offset: int) -> bool:
        """Train one stage from the current step. False when max_steps stopped the run."""
        cfg, objective = self.config, self.objective(stage)
        local = self.state.step - offset
        bs = stage.batch_size or cfg.batch_size
        model = self._prepare_stage(stage)
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
            if objective.keeps_ema:
                self.ema.update(step=self.state.step)
            dt = time.perf_counter() - t0
            self.state.seconds += dt
            t0 = time.perf_counter()
            self._after_step(stage, loss, grad_norm, dt, bins, bar)
        if bar is not None:
            bar.close()
        self.ema.unbind()
        objective.finish(stage, self.out if self.ctx.is_main else None)
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
        """Freeze all but the objective's trainable set, wrap it, build (or restore) the optimiser;
        return the trained module as wrapped."""
        objective = self.objective(stage)
        objective.prepare(stage)
        module = objective.module
        self.ema.reset_keys(self.c.backbone)  # track a LoRA the objective injected
        self.state.lora = self.state.lora or any("lora" in k for k in self.ema.shadow)
        for m in self.modules.values():
            m.requires_grad_(False)
            m.train(m is module)
        select_trainable(module, objective.trainable(stage))
        wrapped = D.wrap_model(module, self.ctx, self.device, find_unused=objective.find_unused(stage))
        params = [p for p in module.parameters() if p.requires_grad]  # after FSDP swapped them for shards
        if objective.keeps_ema:
            self.ema.bind(self.c.backbone)
        self.optimizer = build_optimizer(params, self.config.optim, stage.lr)
        # the checkpoint's stage is this one: still running, or finished and now given more steps
        if self._resume_tensors is not None and self._resume_info.get("stage") == stage.name:
            load_optimizer_state_full(module, self.optimizer, self._resume_tensors, self._resume_info["param_groups"],
                                      sharded=self.ctx.strategy == "fsdp")
        self._resume_tensors = None
        return wrapped

    # ---- one optimiser step --------------------------------------------------------------------
    def _optimizer_step(self, stage: StageSpec, model, data, bins: LossBins) -> tuple[float, float]:
        cfg, total, objective = self.config, 0.0, self.objective(stage)
        self.optimizer.zero_grad(set_to_none=True)
        for micro in range(cfg.optim.accumulation):
            batch = next(data)
            gen = step_generator(cfg.seed, self.state.step, self.ctx.rank, salt=micro)
            with D.no_sync(model, sync=micro == cfg.optim.accumulation - 1):
                with self._autocast():
                    loss = objective.loss(stage, model, batch, gen, bins)
                (loss / cfg.optim.accumulation).backward()
            total += loss.item() / cfg.optim.accumulation
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        norm = torch.nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip if cfg.optim.grad_clip > 0 else math.inf)
        self.optimizer.step()
        return total, float(norm)

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
        if cfg.sample_every and step % cfg.sample_every == 0 and self.objective(stage).keeps_ema:
            from kinema.train.export import write_validation_samples

            ema = self.ema.state_dict()  # every rank takes part in gathering a sharded EMA
            if self.ctx.is_main:
                write_validation_samples(self.out / "samples" / f"step_{step:06d}.gif", self._ema_backbone(ema),
                                         self.c, self.config, self.device, f"step {step}")

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
        tensors = {k: v for name, m in self.modules.items() for k, v in prefixed(D.full_state_dict(m, self.ctx), name).items()}
        tensors.update(prefixed(self.ema.state_dict(), "ema"))
        opt_tensors, groups = optimizer_state_full(self.objective(stage).module, self.optimizer,
                                                   sharded=self.ctx.strategy == "fsdp")
        if not self.ctx.is_main:
            D.barrier(self.ctx)
            return
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
            add_lora(self.c.backbone, stage.lora).to(self.device)
            self.ema.reset_keys(self.c.backbone)
        source = f"{path} (was the architecture changed since it was written?)"
        for name, module in self.modules.items():
            load_weights(module, subdict(tensors, name), source, name)
        ema = subdict(tensors, "ema")
        mismatch = weights_mismatch(self.ema.state_dict(), ema)
        if mismatch:
            raise InputError(f"{source}: EMA weights do not match its config ({mismatch})")
        self.ema.load_state_dict(ema)
        spec = info.get("autoencoder")
        if spec and "scale" in spec.get("config", {}):  # restore the calibration of an autoencoder stage
            self.c.autoencoder.set_scale_shift(spec["config"]["scale"], spec["config"]["shift"])
            self.c.model_config["autoencoder"] = spec
        self.state = TrainState(step=int(info["step"]), seconds=float(info["seconds"]), lora=bool(info.get("lora")))
        self._resume_tensors = {k: v for k, v in tensors.items() if k.startswith(("optim.", "optim/"))}
        self._resume_info = info
        if announce:
            self.print(f"resumed from {path} at step {self.state.step}")

    def _ema_backbone(self, ema: dict[str, torch.Tensor] | None = None) -> torch.nn.Module:
        """A copy of the backbone holding the EMA weights, LoRA merged in when present."""
        from kinema.train.export import ema_backbone

        lora = next(s.lora for s in self.config.stages if s.trainable == "lora") if self.state.lora else None
        return ema_backbone(self.c.model_config["backbone"], self.ema.state_dict() if ema is None else ema, lora)

    def export_model(self, path: str | Path | None = None) -> Path | None:
        """model.safetensors (or ``path``): EMA backbone (LoRA merged) + autoencoder + model config."""
        if not self.ctx.is_main:
            return None
        from kinema.train.export import export_model

        modules = {**self.modules, "backbone": self._ema_backbone()}
        return export_model(Path(path or self.out / "model.safetensors"), self.config, self.c.model_config, modules,
                            steps=self.state.step, seconds=self.state.seconds, device=self.device,
                            world=self.ctx.world, log=self.print)

    def export_snapshot(self, path: str | Path) -> Path:
        """The model file of the run's last checkpoint (its EMA backbone), without training further."""
        self._load_state()
        return self.export_model(path)
