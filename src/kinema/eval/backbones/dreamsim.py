"""DreamSim (Fu et al. 2023, "DreamSim: Learning New Dimensions of Human Visual Similarity using
Synthetic Data"), the ensemble embedding VBench-I2V's ``i2v_background`` dimension compares frames
and the input image with (VBench++, Huang et al. 2025; Vchitect/VBench
``vbench2_beta_i2v/i2v_background.py`` calls ``dreamsim(pretrained=True)``, type "ensemble").

The embedding of a [0, 1] image (B, 3, 224, 224) is, as ``PerceptualModel.embed`` computes it
(ssundaram21/dreamsim ``model.py``, v0.2.x, ``normalize_embeds=True``)::

    e = [ DINO-B/16 last-block [CLS] (768) | CLIP-B/16 proj (512) | OpenCLIP-B/16 proj (512) ]
    e = (e - mean(e)) / || e - mean(e) ||          # (B, 1792), mean over the 1792 entries

with every ``attn.qkv`` LoRA-adapted (:mod:`~kinema.eval.backbones.dreamsim_lora`) and each branch
normalising its own input (:mod:`~kinema.eval.backbones.dreamsim_branches`). DreamSim's distance is
``1 - cos(e_a, e_b)``; VBench uses the embeddings' cosine similarity directly.

The ensemble has used B/16 towers for all three branches in every DreamSim release (the B/32
models are the separate single-branch "clip_vitb32" / "open_clip_vitb32" types).

Weights: weight id ``dreamsim-ensemble``, the unzipped ``dreamsim_ensemble_checkpoint.zip``
(v0.2.0-checkpoints) folder::

    clip_vitb16_pretrain.pth.tar       {"state_dict": CLIP tower in DINO names + "proj"}  -> clip.*
    open_clip_vitb16_pretrain.pth.tar  {"state_dict": OpenCLIP tower, same names}       -> open_clip.*
    ensemble_lora/adapter_config.json, adapter_model.safetensors (or .bin)               -> merged
    dino_vitb16_pretrain.pth           DINO training checkpoint; DreamSim reads only its
                                       projection head, which the "cls" feature never uses: not read

The DINO backbone itself DreamSim takes from torch.hub (``facebookresearch/dino:main``,
``dino_vitb16``), i.e. ``dino_vitbase16_pretrain.pth``: kinema reads ``checkpoints/`` of the folder
when a DreamSim run cached it there, else weight id ``dino-vitb16`` (the same file) -> dino.*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from kinema.errors import InputError
from kinema.eval.backbones.dreamsim_branches import ClipBranch, DinoBranch
from kinema.eval.backbones.dreamsim_lora import merge_lora, read_adapter_config
from kinema.eval.backbones.vit import ViTConfig

WEIGHT_ID = "dreamsim-ensemble"
DINO_WEIGHT_ID = "dino-vitb16"
CLIP_FILE, OPEN_CLIP_FILE = "clip_vitb16_pretrain.pth.tar", "open_clip_vitb16_pretrain.pth.tar"
DINO_HUB_FILE = "checkpoints/dino_vitbase16_pretrain.pth"  # torch.hub's cache inside DreamSim's cache_dir
LORA_DIR = "ensemble_lora"
LORA_FILES = ("adapter_model.safetensors", "adapter_model.bin")
IMG_SIZE = 224  # DreamSim's and VBench's input side


@dataclass(frozen=True)
class DreamSimConfig:
    vit: ViTConfig = field(default_factory=ViTConfig)  # shared ViT-B/16 shape of the three branches
    proj_dim: int = 512  # CLIP / OpenCLIP embedding width

    @property
    def dim(self) -> int:
        return self.vit.embed_dim + 2 * self.proj_dim  # 768 + 512 + 512 = 1792


class DreamSim(nn.Module):
    """The DreamSim ensemble; ``forward``: [0, 1] images (B, 3, H, W) -> (B, dim) centred unit embeddings."""

    def __init__(self, cfg: DreamSimConfig = DreamSimConfig()):
        super().__init__()
        self.cfg = cfg
        self.dino = DinoBranch(cfg.vit)
        self.clip = ClipBranch(cfg.vit, cfg.proj_dim, quick_gelu=True)
        self.open_clip = ClipBranch(cfg.vit, cfg.proj_dim, quick_gelu=False)

    @property
    def branches(self) -> list[nn.Module]:
        """In DreamSim's ``extractor_list`` order, which the LoRA adapter's keys index."""
        return [self.dino, self.clip, self.open_clip]

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        if x01.ndim != 4 or x01.shape[1] != 3:
            raise InputError(f"DreamSim expects [0, 1] images (B, 3, H, W), got shape {tuple(x01.shape)}")
        e = torch.cat([branch(x01) for branch in self.branches], dim=-1)  # (B, 1792)
        e = e - e.mean(dim=-1, keepdim=True)
        return e / e.norm(dim=-1, keepdim=True)


def _lora_file(folder: Path) -> Path:
    hit = next((folder / LORA_DIR / n for n in LORA_FILES if (folder / LORA_DIR / n).is_file()), None)
    if hit is None:
        raise InputError(f"DreamSim folder {folder}: no {LORA_DIR}/{' or '.join(LORA_FILES)}")
    return hit


def _dino_file(folder: Path, dino_path) -> Path:
    from kinema.eval.weights import resolve_weights

    if dino_path is None and (folder / DINO_HUB_FILE).is_file():
        return folder / DINO_HUB_FILE
    return resolve_weights(DINO_WEIGHT_ID, path=dino_path)


def load_dreamsim_folder(model: DreamSim, folder, dino_path=None) -> DreamSim:
    """Load a DreamSim ensemble folder (layout in the module docstring) into ``model``, strictly, and
    merge its LoRA adapter; the model is returned in eval mode."""
    from kinema.eval.weights import load_state_dict

    folder = Path(folder)
    for branch, file in ((model.clip, folder / CLIP_FILE), (model.open_clip, folder / OPEN_CLIP_FILE),
                         (model.dino, _dino_file(folder, dino_path))):
        _load_strict(branch, load_state_dict(file), file)
    merge_lora(model.branches, load_state_dict(_lora_file(folder)),
               read_adapter_config(folder / LORA_DIR / "adapter_config.json"))
    return model.eval().requires_grad_(False)


def _load_strict(module: nn.Module, sd: dict[str, torch.Tensor], source: Path) -> None:
    try:
        result = module.load_state_dict(sd, strict=False)
    except RuntimeError as e:  # shape mismatches: a file of another model size
        raise InputError(f"{source}: does not fit DreamSim's {type(module).__name__} "
                         f"({str(e).splitlines()[-1].strip()[:200]})") from None
    if result.missing_keys or result.unexpected_keys:
        raise InputError(f"{source}: keys do not match DreamSim's {type(module).__name__} "
                         f"(missing {result.missing_keys[:4]}, unexpected {result.unexpected_keys[:4]})")


def load_dreamsim(path=None, device: str | torch.device = "cpu", dino_path=None,
                  cfg: DreamSimConfig = DreamSimConfig()) -> DreamSim:
    """The released DreamSim ensemble from local files (``resolve_weights("dreamsim-ensemble", path)``;
    DINO from the folder's torch.hub cache or ``resolve_weights("dino-vitb16", dino_path)``)."""
    from kinema.eval.weights import resolve_weights

    folder = resolve_weights(WEIGHT_ID, path=path)
    return load_dreamsim_folder(DreamSim(cfg), folder, dino_path).to(device)


class DreamSimFeatures:
    """VBench-I2V's ``i2v_background`` feature roles: uint8 (N, H, W, 3) -> float32 (N, 1792) DreamSim
    embeddings, after VBench's preprocessing (``dreamsim_transform`` for frames: float bicubic resize
    with antialias to 224 x 224, /255; ``dreamsim_transform_Image`` for the input image: PIL bicubic
    224 x 224, ``ToTensor``). VBench embeds one frame at a time; batching changes only float rounding."""

    backbone_id = WEIGHT_ID

    def __init__(self, model: DreamSim, source: str = "frames", batch_size: int = 32,
                 device: str | torch.device = "cpu"):
        from kinema.eval.vbench import preprocess as pp

        if source not in ("frames", "image"):
            raise InputError(f"DreamSimFeatures source must be 'frames' or 'image', got {source!r}")
        self.model, self.batch_size, self.device = model, batch_size, torch.device(device)
        self.transform = pp.dreamsim_frames if source == "frames" else (
            lambda images: torch.cat([pp.dreamsim_image(im) for im in images]))
        resize = ("bicubic 224x224 (torch, antialias) of float 0..255 frames" if source == "frames"
                  else "PIL bicubic 224x224 of the uint8 image")
        self.preprocessing = (f"{resize}, /255; inside the model DINO ImageNet mean/std, CLIP and OpenCLIP "
                              "OpenAI-CLIP mean/std; embedding centred and L2-normalised")

    @torch.no_grad()
    def __call__(self, images) -> torch.Tensor:
        out = [self.model(self.transform(images[i:i + self.batch_size]).to(self.device)).float().cpu()
               for i in range(0, len(images), self.batch_size)]
        return torch.cat(out)


def dreamsim_callables(model: DreamSim, device: str | torch.device = "cpu") -> dict[str, DreamSimFeatures]:
    """``{"i2v_background_frames": ..., "i2v_background_image": ...}`` for :class:`VBenchBackbones`."""
    return {"i2v_background_frames": DreamSimFeatures(model, "frames", device=device),
            "i2v_background_image": DreamSimFeatures(model, "image", device=device)}
