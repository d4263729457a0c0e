"""Build the modules one training run needs from its TrainConfig."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from kinema import build
from kinema.conditioning.conditioner import Conditioner
from kinema.config import to_dict
from kinema.errors import ConfigError
from kinema.train.config import TrainConfig


@dataclass
class Components:
    autoencoder: nn.Module
    conditioner: Conditioner
    backbone: nn.Module
    param: Any  # kinema.diffusion Parameterization
    model_config: dict[str, Any]  # what a checkpoint embeds to rebuild these at inference


def autoencoder_spec(config: TrainConfig) -> dict[str, Any]:
    """{"kind", "config"} of the autoencoder: a preset (+ overrides), or a trained file's own spec."""
    spec = config.autoencoder
    if spec.path:
        from kinema.checkpoint import read_metadata

        saved, _ = read_metadata(spec.path)
        if "autoencoder" not in saved:
            from kinema.errors import InputError

            raise InputError(f"{spec.path}: no autoencoder in this checkpoint's config")
        return saved["autoencoder"]
    from kinema.vae import preset

    base = to_dict(preset(spec.kind, "default" if spec.kind == "identity" else spec.preset))
    base.update(spec.overrides)
    return {"kind": spec.kind, "config": base}


def backbone_spec(config: TrainConfig, latent_channels: int, text_dim: int,
                  concat_channels: int | None = None) -> dict[str, Any]:
    """{"kind", "config"} of the backbone: a preset (+ overrides), or a trained model's own spec."""
    concat_channels = latent_channels + 1 if concat_channels is None else concat_channels
    if config.model.path:
        bb_cfg = _trained_backbone_config(config, latent_channels, text_dim, concat_channels)
    else:
        bb_cfg = build.resolve_backbone_config(
            config.model.kind, config.model.preset, dict(config.model.overrides),
            latent_channels=latent_channels, text_dim=text_dim, concat_channels=concat_channels)
    if config.gradient_checkpointing:
        bb_cfg["gradient_checkpointing"] = True
    return {"kind": config.model.kind, "config": bb_cfg}


def _trained_backbone_config(config: TrainConfig, latent_channels: int, text_dim: int,
                             concat_channels: int) -> dict[str, Any]:
    """model.path's backbone config; it may gain concat channels and zero-initialised branches."""
    from kinema.checkpoint import read_metadata

    path = config.model.path
    spec = read_metadata(path)[0].get("backbone")
    if not spec or spec.get("kind") != config.model.kind:
        raise ConfigError(f"model.path {path}: holds no {config.model.kind!r} backbone "
                          f"(found {spec.get('kind') if spec else 'none'})")
    bb_cfg = dict(spec["config"])
    for name, want in (("in_channels", latent_channels), ("text_dim", text_dim)):
        if name in bb_cfg and bb_cfg[name] != want:
            raise ConfigError(f"model.path {path}: its backbone has {name}={bb_cfg[name]}, "
                              f"this run's autoencoder/text encoder give {want}")
    if bb_cfg.get("concat_channels", concat_channels) > concat_channels:
        raise ConfigError(f"model.path {path}: its backbone reads {bb_cfg['concat_channels']} "
                          f"condition channels, this run's conditioner gives only {concat_channels}")
    bb_cfg["concat_channels"] = concat_channels  # new channels start at zero (_widen_inputs)
    bb_cfg.update(_addable_overrides(config, bb_cfg))
    return bb_cfg


def load_pretrained_backbone(backbone: nn.Module, path: str) -> None:
    """Fine-tuning: start from a trained model's (EMA) backbone weights, every key matched.

    Input layers that gained condition channels keep the trained columns; the new ones start at
    zero (as new condition channels always do, Wang et al. 2026 Eq. 12), so the model starts as the trained one.
    """
    state = _widen_inputs(build.checkpoint_parts(path)[0]["backbone"], backbone.state_dict())
    missing, unexpected = backbone.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(getattr(backbone, "ADDABLE", ()))]  # new zero branches
    if missing or unexpected:
        raise ConfigError(f"model.path {path}: backbone weights do not match "
                          f"({len(missing)} missing, {len(unexpected)} unexpected, e.g. "
                          f"{(missing or unexpected)[0]})")


def load_planner(planner: nn.Module, path: str | None, part: str = "planner") -> None:
    """A conditioner module (the motion planner) of a trained model file, when it has one (else it starts fresh)."""
    if not path:
        return
    state = build.checkpoint_parts(path)[0][part]
    if state:
        try:
            missing, unexpected = planner.load_state_dict(state, strict=False)
        except RuntimeError as e:  # a shape mismatch
            raise ConfigError(f"model.path {path}: planner weights do not match ({str(e).splitlines()[1].strip()})")
        missing = [k for k in missing if not k.startswith("segmenter.")]  # a new segmenter starts fresh
        if missing or unexpected:
            raise ConfigError(f"model.path {path}: planner weights do not match "
                              f"({len(missing)} missing, {len(unexpected)} unexpected, e.g. {(missing or unexpected)[0]})")


ADDABLE_OPTIONS = ("pooled_text",)  # backbone options a fine-tune may switch on over a trained model


def _addable_overrides(config: TrainConfig, saved: dict[str, Any]) -> dict[str, Any]:
    """model.overrides over a trained backbone: options that add a zero-initialised branch apply;
    any other must equal the file's value (its shape comes from the file)."""
    for key, value in config.model.overrides.items():
        if key not in ADDABLE_OPTIONS and key in saved and _plain(saved[key]) != _plain(value):
            raise ConfigError(f"model.overrides.{key}={value!r} differs from model.path {config.model.path} "
                              f"({saved[key]!r}); only {list(ADDABLE_OPTIONS)} can be added to a trained model")
    return {k: v for k, v in config.model.overrides.items() if k in ADDABLE_OPTIONS}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _widen_inputs(state: dict, target: dict) -> dict:
    """Zero-pad dim 1 (input channels) of weights that are narrower than the model's."""
    out = dict(state)
    for key, w in state.items():
        want = target.get(key)
        if want is None or w.dim() < 2 or w.shape == want.shape:
            continue
        if w.shape[0] == want.shape[0] and w.shape[2:] == want.shape[2:] and w.shape[1] < want.shape[1]:
            wide = torch.zeros_like(want)
            wide[:, :w.shape[1]] = w
            out[key] = wide
    return out


def build_components(config: TrainConfig, text_encoder=None) -> Components:
    ae_spec = autoencoder_spec(config)
    autoencoder = build.build_autoencoder(ae_spec)
    if config.autoencoder.path:
        from kinema.checkpoint import load_checkpoint

        state = build.checkpoint_parts(config.autoencoder.path)[0]["autoencoder"]
        autoencoder.load_state_dict(state or load_checkpoint(config.autoencoder.path)[0])  # or a bare file
    conditioner = build.build_conditioner(to_dict(config.conditioner), text_encoder)
    bb_spec = backbone_spec(config, autoencoder.latent_channels, conditioner.text_dim,
                            conditioner.concat_channels(autoencoder.latent_channels))
    backbone = build.build_backbone(bb_spec)
    if config.model.path:
        load_pretrained_backbone(backbone, config.model.path)
    for name, module in conditioner.modules(autoencoder.latent_channels).items():  # e.g. the planner
        load_planner(module, config.model.path, name)
    diffusion = to_dict(config.diffusion)
    param = build.build_parameterization(diffusion)
    model_config = {
        "backbone": bb_spec, "diffusion": diffusion, "autoencoder": ae_spec,
        "conditioner": to_dict(config.conditioner),
        "video": {"size": list(config.data.size), "frames": config.data.frames, "fps": config.data.fps},
    }
    return Components(autoencoder, conditioner, backbone, param, model_config)


def select_trainable(model: nn.Module, rule: str) -> list[nn.Parameter]:
    """Mark which parameters train: all | temporal | spatial | lora | comma-separated substrings."""
    names = [n for n, _ in model.named_parameters()]
    temporal = _temporal_names(model)
    if rule == "all":
        keep = set(names)
    elif rule == "temporal":
        keep = temporal
    elif rule == "spatial":
        keep = {n for n in names if n not in temporal and "lora" not in n}
    elif rule == "lora":
        keep = {n for n in names if "lora" in n}
    else:
        subs = [s.strip() for s in rule.split(",") if s.strip()]
        keep = {n for n in names if any(s in n for s in subs)}
    if not keep:
        from kinema.errors import ConfigError

        raise ConfigError(f"trainable={rule!r} selects no parameter of the model")
    params = []
    for n, p in model.named_parameters():
        p.requires_grad_(n in keep)
        if n in keep:
            params.append(p)
    return params


def _temporal_names(model: nn.Module) -> set[str]:
    """Names of temporal-layer parameters (the backbone lists them; else by name)."""
    if hasattr(model, "named_temporal_parameters"):
        return {n for n, _ in model.named_temporal_parameters()}
    return {n for n, _ in model.named_parameters() if "temporal" in n}


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def step_generator(seed: int, step: int, rank: int, salt: int = 0) -> torch.Generator:
    """The CPU generator for one step's random draws: a pure function of (seed, step, rank)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 7919 + rank * 104_729 + salt) % (2**63))
