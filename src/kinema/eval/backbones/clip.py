"""CLIP image and text towers (Radford et al. 2021) read from a local HuggingFace directory.

kinema runs the transformers ``CLIPModel`` and ``CLIPProcessor`` exactly as torchmetrics' CLIPScore
does (``torchmetrics/functional/multimodal/clip_score.py``), but only from local files
(``local_files_only=True``): a directory holding ``config.json``, the weights
(``model.safetensors``), the tokenizer files and the processor config, as ``save_pretrained`` or
the Hub's ``openai/clip-vit-large-patch14`` (weight id ``clip-vit-large-patch14``, torchmetrics'
default) and ``openai/clip-vit-base-patch32`` (``clip-vit-base-patch32``) snapshots lay out.

Images: each frame goes to the processor as a uint8 (3, H, W) tensor, as torchmetrics passes it;
the processor resizes the shortest edge (bicubic), centre-crops, rescales by 1/255 and normalises
with the CLIP mean and std. kinema pins the processor's PIL backend (``backend="pil"``): it is the
computation of transformers 4.x's ``CLIPImageProcessor`` (the one published CLIPScores were made
with) and needs no torchvision. transformers 5 picks a torchvision backend when torchvision is
installed, whose bicubic resize differs from PIL's by about one grey level.

Text: the processor tokenizes with ``padding=True`` and no truncation; captions longer than the
text tower's ``max_position_embeddings`` are then cut to that many tokens (with a warning), the
torchmetrics rule. Features are the projected pooled embeddings (``get_image_features`` /
``get_text_features``), not normalised here.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from kinema.checkpoint import sha256_file
from kinema.config import check_choice
from kinema.errors import InputError
from kinema.eval.frames import as_uint8_video

WEIGHT_IDS = ("clip-vit-large-patch14", "clip-vit-base-patch32")
DEFAULT_WEIGHT_ID = "clip-vit-large-patch14"
IMAGE_BACKEND = "pil"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # hashed for the backbone id


def projected(output) -> torch.Tensor:
    """``get_*_features`` output -> (N, D): a tensor (transformers 4) or ``.pooler_output`` (5)."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def weights_digest(directory: Path) -> str | None:
    """sha256 of the directory's weight file, or None when it has none of ``WEIGHT_FILES``."""
    hit = next((directory / n for n in WEIGHT_FILES if (directory / n).is_file()), None)
    return sha256_file(hit) if hit is not None else None


class CLIPBackbone:
    """A CLIP model with its processor; frames and captions in, (N, D) float32 projections out."""

    def __init__(self, model, processor, backbone_id: str = "clip@unloaded", batch_size: int = 32):
        self.model = model.eval().requires_grad_(False)
        self.processor = processor
        self.backbone_id = backbone_id
        self.batch_size = batch_size

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def max_text_tokens(self) -> int:
        return int(self.model.config.text_config.max_position_embeddings)

    @property
    def preprocessing(self) -> str:
        ip = self.processor.image_processor
        return (f"uint8 RGB frames -> CLIP processor ({type(ip).__name__}): resize {dict(ip.size)} "
                f"resample={int(ip.resample)} (PIL code), centre crop {dict(ip.crop_size)}, x/255, "
                f"normalise mean {list(ip.image_mean)} std {list(ip.image_std)}; text padded, cut to "
                f"{self.max_text_tokens} tokens")

    @torch.no_grad()
    def image_features(self, frames) -> torch.Tensor:
        """uint8 frames (N, H, W, 3) (or a video in any :mod:`kinema.eval.frames` layout) -> (N, D)."""
        video = as_uint8_video(frames)  # (N, H, W, 3) uint8
        chw = [torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1))) for f in video]  # (3, H, W) each
        out = []
        for i in range(0, len(chw), self.batch_size):
            pixels = self.processor(images=chw[i:i + self.batch_size], return_tensors="pt", padding=True)
            out.append(projected(self.model.get_image_features(pixels["pixel_values"].to(self.device))).cpu())
        return torch.cat(out)

    @torch.no_grad()
    def text_features(self, texts: list[str]) -> torch.Tensor:
        """Captions -> (N, D), tokenized and truncated by the torchmetrics rule (module docstring)."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise InputError(f"captions must be a list of strings, got {type(texts).__name__}")
        tok = self.processor(text=list(texts), return_tensors="pt", padding=True)
        ids, mask = tok["input_ids"], tok["attention_mask"]
        if ids.shape[-1] > self.max_text_tokens:
            warnings.warn(f"caption of {ids.shape[-1]} tokens cut to the text tower's {self.max_text_tokens} "
                          "(torchmetrics' rule); use a longer-context CLIP for long captions", UserWarning,
                          stacklevel=3)  # the caller, past torch.no_grad's wrapper
            ids, mask = ids[..., :self.max_text_tokens], mask[..., :self.max_text_tokens]
        return projected(self.model.get_text_features(ids.to(self.device), mask.to(self.device))).cpu()


def load_clip_dir(directory: str | os.PathLike, backbone_id: str | None = None,
                  device: str | torch.device = "cpu") -> CLIPBackbone:
    """A :class:`CLIPBackbone` from a local HuggingFace CLIP directory (no network)."""
    import transformers
    from transformers import CLIPModel, CLIPProcessor

    directory = Path(directory)
    if not (directory / "config.json").is_file():
        raise InputError(f"{directory} is not a HuggingFace CLIP directory (no config.json); save one with "
                         "CLIPModel.save_pretrained + CLIPProcessor.save_pretrained")
    model = CLIPModel.from_pretrained(directory, local_files_only=True).to(device)
    # transformers 5 names the image backend; 4.x's slow processor is the same PIL computation
    pil = {"backend": IMAGE_BACKEND} if int(transformers.__version__.split(".")[0]) >= 5 else {"use_fast": False}
    processor = CLIPProcessor.from_pretrained(directory, local_files_only=True, **pil)
    if backbone_id is None:
        sha = weights_digest(directory)
        backbone_id = f"clip:{directory.name}@sha256:{sha[:16]}" if sha else f"clip:{directory.name}"
    return CLIPBackbone(model, processor, backbone_id)


def load_clip(weight_id: str = DEFAULT_WEIGHT_ID, path: str | os.PathLike | None = None,
              device: str | torch.device = "cpu") -> CLIPBackbone:
    """CLIP from ``path`` or the registry's directory for ``weight_id`` (one of ``WEIGHT_IDS``)."""
    from kinema.eval.weights import resolve_weights

    check_choice("CLIP weight id", weight_id, WEIGHT_IDS)
    directory = Path(resolve_weights(weight_id, path=path))
    sha = weights_digest(directory)
    return load_clip_dir(directory, f"{weight_id}@sha256:{sha[:16]}" if sha else weight_id, device)
