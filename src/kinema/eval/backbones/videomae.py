"""VideoMAE-v2 video ViT (Wang et al. 2023, "VideoMAE V2: Scaling Video Masked Autoencoders with Dual
Masking"), the feature network of content-debiased FVD (Ge et al. 2024, "On the Content Bias in
Fréchet Video Distance"; Wang et al. 2026, I2V survey Eq. 6, on these features).

cd-fvd uses the ViT-g/14 pretrained with VideoMAE-v2 on the hybrid data set and fine-tuned on
Something-Something-v2, ``vit_g_hybrid_pt_1200e_ssv2_ft.pth`` (174-way head, unused for FVD). The
architecture, as its checkpoint and cd-fvd's numbers require:

* tubelets of 2 frames x 14 x 14 pixels embedded by one Conv3d (16 frames at 224x224 -> 8 x 16 x 16
  = 2048 tokens), no [CLS] token;
* fixed sine-cosine position table over the flattened token index (not stored in the checkpoint);
* pre-norm blocks: LayerNorm eps 1e-6, qkv with separate q and v biases (k has none), scale
  ``head_dim ** -0.5``, exact GELU MLP of width ``int(dim * 48 / 11)``, no layer scale;
* the feature is ``fc_norm(mean over all tokens)`` (cd-fvd calls ``model.forward_features``), so
  ViT-g gives (N, 1408).

Preprocessing (cd-fvd ``preprocess_videomae``): uint8 frames divided by 255 to [0, 1], then each
frame resized to 224x224 with ``F.interpolate(mode="bilinear", align_corners=False)`` (no antialias,
aspect ratio not kept); no mean/std normalisation. The clip is the first 16 frames (cd-fvd's video
loader crops ``video[:sequence_length]`` with 16); shorter videos are refused.

State-dict keys equal the checkpoint's ``model`` entry: ``patch_embed.proj.*``,
``blocks.{i}.{norm1,attn.qkv,attn.q_bias,attn.v_bias,attn.proj,norm2,mlp.fc1,mlp.fc2}.*``,
``fc_norm.*``, ``head.*``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kinema.errors import ConfigError
from kinema.eval.backbones.i3d import uint8_videos

WEIGHT_ID = "videomae-v2-g-ssv2"  # vit_g_hybrid_pt_1200e_ssv2_ft.pth (VideoMAE-v2 model zoo, OpenGVLab)


@dataclass(frozen=True)
class VideoMAEConfig:
    img_size: int = 224  # frames are resized to img_size x img_size
    patch_size: int = 14  # pixels per tubelet side
    frames: int = 16  # frames per clip (sets the position table)
    tubelet_size: int = 2  # frames per tubelet
    embed_dim: int = 1408  # token width = feature dim
    depth: int = 40  # transformer blocks
    num_heads: int = 16  # attention heads
    mlp_ratio: float = 48 / 11  # MLP hidden width / embed_dim
    num_classes: int = 174  # fine-tuning head (SSv2), kept so the checkpoint loads strictly


VIDEOMAE_PRESETS: dict[str, VideoMAEConfig] = {
    "g": VideoMAEConfig(),  # cd-fvd's ViT-g/14, ~1B parameters
    "b": VideoMAEConfig(patch_size=16, embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0),  # ViT-B/16 size
    "tiny": VideoMAEConfig(patch_size=32, embed_dim=16, depth=2, num_heads=2, mlp_ratio=2.0, num_classes=4),
}


def sinusoid_table(n_position: int, dim: int) -> torch.Tensor:
    """(1, n_position, dim) table: sin on even channels, cos on odd, wavelengths 10000^(2i/dim)."""
    angle = np.arange(n_position)[:, None] / np.power(10000, 2 * (np.arange(dim) // 2) / dim)[None]
    angle[:, 0::2], angle[:, 1::2] = np.sin(angle[:, 0::2]), np.cos(angle[:, 1::2])
    return torch.tensor(angle, dtype=torch.float32)[None]


class Attention(nn.Module):
    """Multi-head self-attention; the fused qkv projection has a bias on q and v only."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias, self.v_bias = nn.Parameter(torch.zeros(dim)), nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        bias = torch.cat([self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])
        qkv = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # (3, B, heads, N, head_dim)
        x = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(head_dim)) v
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn, self.mlp = Attention(dim, num_heads), Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, cfg: VideoMAEConfig):
        super().__init__()
        kernel = (cfg.tubelet_size, cfg.patch_size, cfg.patch_size)
        self.proj = nn.Conv3d(3, cfg.embed_dim, kernel, stride=kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, 3, T, H, W) -> (B, T/2 * H/p * W/p, dim)


class VideoMAEViT(nn.Module):
    """VideoMAE-v2 ViT encoder: (B, 3, frames, img, img) in [0, 1] -> (B, embed_dim) pooled features."""

    def __init__(self, cfg: VideoMAEConfig = VideoMAEConfig()):
        super().__init__()
        if cfg.img_size % cfg.patch_size or cfg.frames % cfg.tubelet_size or cfg.embed_dim % cfg.num_heads:
            raise ConfigError(f"VideoMAEConfig {cfg}: img_size must be a multiple of patch_size, frames of "
                              "tubelet_size and embed_dim of num_heads")
        self.cfg = cfg
        n_tokens = (cfg.frames // cfg.tubelet_size) * (cfg.img_size // cfg.patch_size) ** 2
        self.patch_embed = PatchEmbed(cfg)
        self.register_buffer("pos_embed", sinusoid_table(n_tokens, cfg.embed_dim), persistent=False)
        self.blocks = nn.ModuleList(Block(cfg.embed_dim, cfg.num_heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.fc_norm = nn.LayerNorm(cfg.embed_dim, eps=1e-6)
        self.head = nn.Linear(cfg.embed_dim, cfg.num_classes) if cfg.num_classes > 0 else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x) + self.pos_embed  # (B, N, dim)
        for block in self.blocks:
            x = block(x)
        return self.fc_norm(x.mean(1))  # (B, dim): mean over tokens, then LayerNorm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


def videomae_preprocess(videos: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, T, H, W, 3) -> float (N, 3, T, size, size) in [0, 1], as cd-fvd ``preprocess_videomae``."""
    n, t = videos.shape[:2]
    x = videos.float().div(255.0).flatten(0, 1).permute(0, 3, 1, 2)  # (N*T, 3, H, W)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.reshape(n, t, 3, size, size).transpose(1, 2)  # (N, 3, T, size, size)


class VideoMAEFeatures:
    """FVD features of cd-fvd's content-debiased protocol: uint8 (N, T, H, W, 3) -> float64 (N, dim)."""

    def __init__(self, model: VideoMAEViT, device: str | torch.device = "cpu", backbone_id: str = WEIGHT_ID):
        self.model = model.eval().to(device)
        cfg = model.cfg
        self.device, self.frames, self.dim, self.backbone_id = torch.device(device), cfg.frames, cfg.embed_dim, backbone_id
        self.resolution = (cfg.img_size, cfg.img_size)
        self.preprocessing = (f"first {cfg.frames} frames; x/255 to [0, 1], each frame resized to "
                              f"{cfg.img_size}x{cfg.img_size} (bilinear, align_corners=False, no antialias, "
                              "aspect ratio not kept), no mean/std normalisation (cd-fvd preprocess_videomae); "
                              "feature: fc_norm of the mean token")

    @torch.no_grad()
    def __call__(self, videos) -> torch.Tensor:
        x = uint8_videos(videos, self.frames, "fvd-videomae (VideoMAE-v2)").to(self.device)
        return self.model.forward_features(videomae_preprocess(x, self.model.cfg.img_size)).double().cpu()


def load_videomae(path=None, device: str | torch.device = "cpu") -> VideoMAEFeatures:
    """cd-fvd's VideoMAE-v2 ViT-g feature extractor from a local ``vit_g_hybrid_pt_1200e_ssv2_ft.pth``."""
    from kinema.eval.weights import load_state_dict, resolve_weights

    state = load_state_dict(resolve_weights(WEIGHT_ID, path=path))  # unwraps the 'module' entry; fails fast
    model = VideoMAEViT(VIDEOMAE_PRESETS["g"])
    model.load_state_dict(state)  # the file may hold float16 tensors; they are copied into float32
    return VideoMAEFeatures(model, device=device)
