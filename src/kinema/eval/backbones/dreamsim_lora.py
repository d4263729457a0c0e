"""Merge DreamSim's LoRA adapter (Hu et al. 2022, "LoRA: Low-Rank Adaptation of Large Language
Models") into the ensemble's base weights at load time, without peft.

DreamSim fine-tunes every ``attn.qkv`` projection of its three ViTs with LoRA and ships the adapter
as a peft folder (``ensemble_lora/adapter_config.json`` and ``adapter_model.safetensors`` or
``adapter_model.bin``). peft computes ``W x + s B (A x)`` with ``s = lora_alpha / r`` (``/ sqrt(r)``
when ``use_rslora``); in eval mode (no dropout) that equals the merged weight

``W' = W + s * B @ A``,   A: (r, in), B: (out, r).

Adapter key mapping (peft strips the adapter name ``default`` when saving)::

    base_model.model.extractor_list.{i}.model.{module}.lora_A.weight   -> A of branch i's {module}
    base_model.model.extractor_list.{i}.model.{module}.lora_B.weight   -> B of branch i's {module}
    merged into branch i's ``{module}.weight``                           (e.g. blocks.3.attn.qkv.weight)

``extractor_list.{i}`` is DreamSim's ``PerceptualModel.extractor_list`` (0 = DINO, 1 = CLIP,
2 = OpenCLIP, in ``model_type`` order) and ``.model`` the ViT inside each ``ViTExtractor``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from kinema.errors import ConfigError, InputError

_KEY = re.compile(r"base_model\.model\.extractor_list\.(\d+)\.model\.(.+)\.lora_([AB])(?:\.default)?\.weight")
_UNSUPPORTED = ("use_dora", "use_qalora", "lora_bias")  # features that change the forward beyond W + sBA


@dataclass(frozen=True)
class LoraSpec:
    r: int  # rank
    lora_alpha: float  # numerator of the scaling
    use_rslora: bool  # scaling alpha / sqrt(r) instead of alpha / r
    target_modules: tuple[str, ...]  # module-name suffixes LoRA was applied to ("qkv")

    @property
    def scaling(self) -> float:
        return self.lora_alpha / (math.sqrt(self.r) if self.use_rslora else self.r)


def read_adapter_config(path) -> LoraSpec:
    """The LoRA settings of a peft ``adapter_config.json``; refuses settings a plain merge cannot honour."""
    path = Path(path)
    try:
        cfg = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: unreadable LoRA adapter config ({e})") from None
    if cfg.get("peft_type", "LORA") != "LORA":
        raise InputError(f"{path}: peft_type {cfg['peft_type']!r} is not LORA")
    bad = [k for k in _UNSUPPORTED if cfg.get(k)] + [k for k in ("rank_pattern", "alpha_pattern") if cfg.get(k)]
    if bad or cfg.get("bias", "none") != "none" or cfg.get("fan_in_fan_out"):
        raise ConfigError(f"{path}: LoRA settings {bad or ['bias/fan_in_fan_out']} are not supported by "
                          f"kinema's merge (DreamSim's adapters use plain LoRA with bias='none')")
    targets = cfg.get("target_modules") or ()
    targets = (targets,) if isinstance(targets, str) else tuple(targets)
    return LoraSpec(int(cfg["r"]), float(cfg["lora_alpha"]), bool(cfg.get("use_rslora", False)), targets)


def lora_pairs(adapter: dict[str, torch.Tensor]) -> dict[tuple[int, str], tuple[torch.Tensor, torch.Tensor]]:
    """``{(branch index, module name): (A, B)}`` from the adapter's tensors (keys mapped as above)."""
    parts: dict[tuple[int, str], dict[str, torch.Tensor]] = {}
    for key, value in adapter.items():
        m = _KEY.fullmatch(key)
        if m is None:
            raise InputError(f"LoRA adapter key {key!r} is not of the form "
                             "base_model.model.extractor_list.<i>.model.<module>.lora_<A|B>.weight")
        parts.setdefault((int(m[1]), m[2]), {})[m[3]] = value
    missing = [f"{i}:{name}" for (i, name), ab in parts.items() if set(ab) != {"A", "B"}]
    if missing:
        raise InputError(f"LoRA adapter lacks the A or B matrix of {', '.join(missing[:4])}")
    return {k: (ab["A"], ab["B"]) for k, ab in parts.items()}


@torch.no_grad()
def merge_lora(branches: list[nn.Module], adapter: dict[str, torch.Tensor], spec: LoraSpec) -> int:
    """Add ``s * B @ A`` to each adapted Linear weight of ``branches`` in place; returns how many."""
    pairs = lora_pairs(adapter)
    for (i, name), (a, b) in pairs.items():
        if i >= len(branches):
            raise InputError(f"LoRA adapter names extractor {i}, but the ensemble has {len(branches)} branches")
        if spec.target_modules and not any(name == t or name.endswith("." + t) for t in spec.target_modules):
            raise InputError(f"LoRA adapter module {name!r} is not among target_modules {spec.target_modules}")
        try:
            linear = branches[i].get_submodule(name)
        except AttributeError:
            raise InputError(f"LoRA adapter names module {name!r}, which branch {i} does not have") from None
        w = linear.weight
        if a.shape != (spec.r, w.shape[1]) or b.shape != (w.shape[0], spec.r):
            raise InputError(f"LoRA {i}:{name}: A {tuple(a.shape)} / B {tuple(b.shape)} do not fit weight "
                             f"{tuple(w.shape)} at rank {spec.r}")
        w += spec.scaling * (b.to(w) @ a.to(w))  # (out, r) @ (r, in)
    return len(pairs)
