"""``kinema-world-encoder-v1``: a small 3D-conv video encoder trained on kinema world only.

The Fréchet distance of ``kinema bench world`` (Wang et al. 2026 Eq. 6; the FVD recipe of Unterthiner et al.
2019 with a different backbone) needs features that know what kinema world clips look like and
how they move. A pretrained I3D would need a download and has never seen the procedural world, so
kinema trains its own: four 3D convolutions on ``16 x 64 x 64`` clips, global mean and max pooling and a
linear map to a ``feature_dim``-d embedding. The embedding is supervised only by the world's exact
ground truth (linear heads for the main object's screen direction, motion kind, shape and texture,
the camera move, the background kind and the motion amount; :mod:`kinema.bench.encoder_labels`),
so it must encode appearance *and* the order of the frames. The recipe is
:func:`kinema.bench.encoder_train.train_world_encoder`; the shipped weights are checked against
:data:`WORLD_ENCODERS` on load.

Any clip is first resampled to the encoder's grid (:func:`resample_video`): bilinear, antialiased
resizing of each frame to ``64 x 64`` (no crop; other aspect ratios are stretched) and linear
interpolation in time to 16 frames with the first and last frames kept.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kinema.errors import InputError

ENCODER_ID = "kinema-world-encoder-v1"
ASSET_DIR = Path(__file__).resolve().parent.parent / "assets"
CONFIG_KEY = "kinema_config"
# id -> shipped file (in kinema/assets) and its sha256; written by the recipe, checked on load.
WORLD_ENCODERS: dict[str, dict[str, str]] = {
    ENCODER_ID: {"file": "world_encoder.safetensors",
                 "sha256": "93dff0b0b79fe397a3b833c65987d1ee621be55cd65c0a5f2526884eda4dcc75"},
}


@dataclass
class WorldEncoderConfig:
    frames: int = 16  # T of the encoder's input grid
    size: int = 64  # H = W of the encoder's input grid
    channels: tuple[int, ...] = (16, 32, 64, 64)  # widths of the four 3D convolutions
    feature_dim: int = 64  # the embedding the Fréchet distance is computed on
    heads: dict[str, int] = field(default_factory=dict)  # head name -> classes (1 = regression)


class WorldEncoder(nn.Module):
    """(B, 3, T, H, W) in [-1, 1] -> (B, feature_dim) embedding; ``heads`` read the embedding linearly."""

    def __init__(self, config: WorldEncoderConfig):
        super().__init__()
        self.config = config
        c = config.channels
        # (B, 3, 16, 64, 64) -> (B, c0, 8, 16, 16): 4x4 patches, 3 frames per window, stride 2 in time
        self.stem = nn.Conv3d(3, c[0], kernel_size=(3, 4, 4), stride=(2, 4, 4), padding=(1, 0, 0))
        self.blocks = nn.ModuleList([_down(c[0], c[1]), _down(c[1], c[2]), _down(c[2], c[3])])  # -> (B, c3, 1, 2, 2)
        self.norm = nn.GroupNorm(8, c[0])
        self.proj = nn.Linear(2 * c[3], config.feature_dim)  # from [mean, max] pooling
        self.heads = nn.ModuleDict({k: nn.Linear(config.feature_dim, n) for k, n in config.heads.items()})

    def forward(self, video: Tensor) -> Tensor:
        x = F.silu(self.norm(self.stem(resample_video(video, self.config.frames, self.config.size))))
        for block in self.blocks:
            x = block(x)
        pooled = torch.cat([x.mean(dim=(2, 3, 4)), x.amax(dim=(2, 3, 4))], dim=1)  # (B, C, t, h, w) -> (B, 2C)
        return self.proj(pooled)  # max pooling keeps small objects that a global mean washes out

    def predict(self, features: Tensor) -> dict[str, Tensor]:
        return {k: head(features) for k, head in self.heads.items()}


def _down(c_in: int, c_out: int) -> nn.Sequential:
    """3x3x3 convolution, stride 2 in T, H and W, GroupNorm, SiLU."""
    return nn.Sequential(nn.Conv3d(c_in, c_out, 3, stride=2, padding=1), nn.GroupNorm(8, c_out), nn.SiLU())


def resample_video(video: Tensor, frames: int, size: int) -> Tensor:
    """(B, 3, T, H, W) -> (B, 3, frames, size, size): antialiased bilinear per frame, linear in time."""
    if video.dim() != 5 or video.shape[1] != 3 or video.shape[2] < 2:
        raise InputError(f"world encoder input must be (B, 3, T >= 2, H, W) in [-1, 1], got {tuple(video.shape)}")
    b, c, t, h, w = video.shape
    x = video.float()
    if (h, w) != (size, size):
        x = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)  # (B, 3, T, H, W) -> (B*T, 3, H, W)
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        x = x.reshape(b, t, c, size, size).permute(0, 2, 1, 3, 4)  # -> (B, 3, T, size, size)
    if t != frames:
        flat = x.permute(0, 1, 3, 4, 2).reshape(b, c * size * size, t)  # -> (B, 3*S*S, T)
        flat = F.interpolate(flat, size=frames, mode="linear", align_corners=True)
        x = flat.reshape(b, c, size, size, frames).permute(0, 1, 4, 2, 3)  # -> (B, 3, frames, S, S)
    return x.contiguous()


def uint8_to_tensor(videos) -> Tensor:
    """uint8 (N, T, H, W, 3) (array or list of equal-shape videos) -> float (N, 3, T, H, W) in [-1, 1]."""
    arr = np.stack([np.asarray(v) for v in videos]) if isinstance(videos, (list, tuple)) else np.asarray(videos)
    if arr.ndim != 5 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise InputError(f"expected uint8 videos (N, T, H, W, 3), got {arr.dtype} {arr.shape}")
    x = torch.from_numpy(arr).permute(0, 4, 1, 2, 3).float()  # (N, T, H, W, 3) -> (N, 3, T, H, W)
    return x / 127.5 - 1.0


@torch.no_grad()
def world_features(encoder: WorldEncoder, videos, batch: int = 32) -> np.ndarray:
    """(N, feature_dim) float64 embeddings of uint8 videos (N, T, H, W, 3) (a list may mix sizes)."""
    encoder.eval()
    out = []
    for i in range(0, len(videos), batch):
        chunk = [uint8_to_tensor([v]) for v in videos[i:i + batch]]
        x = torch.cat([resample_video(v, encoder.config.frames, encoder.config.size) for v in chunk])
        out.append(encoder(x).double().numpy())
    return np.concatenate(out) if out else np.zeros((0, encoder.config.feature_dim))


def encoder_metadata(config: WorldEncoderConfig, recipe: dict | None = None) -> dict[str, str]:
    """safetensors header: the architecture (and the recipe that trained it) as JSON."""
    return {CONFIG_KEY: json.dumps({"encoder": asdict(config), "id": ENCODER_ID, "recipe": recipe or {}})}


def read_encoder(path: str | Path) -> tuple[WorldEncoder, dict]:
    """Build a WorldEncoder from a safetensors file with its config embedded -> (encoder, metadata)."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})[CONFIG_KEY])
        tensors = load_file(str(path))
    except (SafetensorError, OSError, KeyError, ValueError) as e:
        raise InputError(f"{path}: not a kinema world-encoder file ({e})") from None
    cfg = meta["encoder"]
    config = WorldEncoderConfig(frames=int(cfg["frames"]), size=int(cfg["size"]), channels=tuple(cfg["channels"]),
                                feature_dim=int(cfg["feature_dim"]), heads=dict(cfg["heads"]))
    model = WorldEncoder(config)
    model.load_state_dict({k: v.float() for k, v in tensors.items()})  # stored as float16
    return model.eval(), meta


def shipped_encoder_path(encoder_id: str = ENCODER_ID) -> Path:
    if encoder_id not in WORLD_ENCODERS:
        raise InputError(f"unknown world encoder {encoder_id!r}; known: {sorted(WORLD_ENCODERS)}")
    return ASSET_DIR / WORLD_ENCODERS[encoder_id]["file"]


def load_world_encoder(path: str | Path | None = None, encoder_id: str = ENCODER_ID) -> WorldEncoder:
    """The shipped encoder (sha256-checked against :data:`WORLD_ENCODERS`), or one read from ``path``."""
    from kinema.checkpoint import sha256_file

    if path is not None:
        return read_encoder(path)[0]
    p = shipped_encoder_path(encoder_id)
    if not p.is_file():
        raise InputError(f"world-encoder weights {p} are missing from this kinema build; retrain them with "
                         "`python -m kinema.bench.encoder_train --out " + str(p) + "`")
    expected = WORLD_ENCODERS[encoder_id]["sha256"]
    digest = sha256_file(p)
    if digest != expected:
        raise InputError(f"world-encoder weights {p} have sha256 {digest[:16]}..., expected {expected[:16]}...; "
                         "the file was modified or replaced (restore it, or update WORLD_ENCODERS after retraining)")
    return read_encoder(p)[0]


def encoder_backbone_id(encoder_id: str = ENCODER_ID) -> str:
    """``id@sha256:<first 16 hex>`` for metric protocols."""
    return f"{encoder_id}@sha256:{WORLD_ENCODERS[encoder_id]['sha256'][:16]}"
