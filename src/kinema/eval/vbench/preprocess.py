"""VBench's image transforms, reproduced on torch tensors without torchvision.

VBench decodes a video to a float32 tensor (T, 3, H, W) on the 0..255 scale (``torch.Tensor`` of
the uint8 frames) and applies torchvision transforms to it, so resizing happens in float without
rounding or clamping; input images of the I2V dimensions go through PIL instead (resize on uint8,
then ``ToTensor``). The resize and crop rules are torchvision's:

* ``Resize(n)``: the short side becomes ``n``, the long side ``int(n * long / short)``; a no-op
  when the size already matches; bilinear and bicubic use ``align_corners=False``;
* ``CenterCrop(n)``: top = ``int(round((H - n) / 2))``, left likewise (Python round, ties to even).

Pipelines (Vchitect/VBench ``vbench/utils.py``, ``vbench2_beta_i2v/utils.py``):

* :func:`dino_frames` — subject consistency: bilinear short side 224, ``antialias=False``, no
  crop, /255, ImageNet mean/std;
* :func:`dino_i2v_frames` / :func:`dino_i2v_image` — video-image subject consistency: bicubic
  short side 256 then centre crop 224 (frames: torchvision's default ``antialias=True``; image:
  PIL bicubic), /255, ImageNet mean/std;
* :func:`clip_frames` — background consistency and aesthetic quality: bicubic short side 224,
  ``antialias=False``, centre crop 224, /255, CLIP mean/std;
* :func:`dreamsim_frames` / :func:`dreamsim_image` — video-image background consistency:
  bicubic to 224x224 (frames antialiased, image by PIL), /255;
* :func:`musiq_frames` — imaging quality: frames larger than 512 are shrunk bilinearly
  (``antialias=False``) to ``int(scale * H), int(scale * W)``, then /255.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from kinema.config import check_choice
from kinema.errors import InputError

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
MUSIQ_MODES = ("longer", "shorter", "shorter_centercrop", "None")  # imaging_quality_preprocessing_mode


def frames_to_float(frames) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) on the 0..255 scale."""
    x = torch.as_tensor(np.asarray(frames) if not torch.is_tensor(frames) else frames)
    if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[-1] != 3:
        raise InputError(f"expected uint8 frames (N, H, W, 3), got {x.dtype} {tuple(x.shape)}")
    return x.permute(0, 3, 1, 2).float()


def short_side_size(h: int, w: int, size: int) -> tuple[int, int]:
    """torchvision's output (H, W) for ``Resize(size)`` with an int size."""
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(size * long / short)
    return (new_long, size) if w <= h else (size, new_long)


def resize(x: torch.Tensor, size: tuple[int, int], mode: str, antialias: bool) -> torch.Tensor:
    """(N, 3, H, W) float -> (N, 3, *size), as torchvision resizes a float tensor."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=antialias)


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    if h < size or w < size:
        raise InputError(f"cannot centre-crop {size}x{size} from a {h}x{w} image")
    top, left = round((h - size) / 2.0), round((w - size) / 2.0)  # Python round: ties to even
    return x[..., top:top + size, left:left + size]


def normalise(x01: torch.Tensor, mean, std) -> torch.Tensor:
    m = torch.tensor(mean, dtype=x01.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x01.dtype).view(1, 3, 1, 1)
    return (x01 - m) / s


def pil_resize(image, size: tuple[int, int]) -> torch.Tensor:
    """uint8 (H, W, 3) image -> float32 (1, 3, h, w) in [0, 1] via PIL bicubic + ``ToTensor``."""
    from PIL import Image

    a = np.asarray(image.detach().cpu() if torch.is_tensor(image) else image)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[-1] != 3:
        raise InputError(f"expected a uint8 image (H, W, 3), got {a.dtype} {a.shape}")
    out = np.asarray(Image.fromarray(a).resize((size[1], size[0]), Image.BICUBIC))
    return torch.from_numpy(out.copy()).permute(2, 0, 1)[None].float() / 255.0


def dino_frames(frames) -> torch.Tensor:
    x = frames_to_float(frames)
    x = resize(x, short_side_size(*x.shape[-2:], 224), "bilinear", antialias=False)
    return normalise(x / 255.0, IMAGENET_MEAN, IMAGENET_STD)


def dino_i2v_frames(frames) -> torch.Tensor:
    x = frames_to_float(frames)
    x = center_crop(resize(x, short_side_size(*x.shape[-2:], 256), "bicubic", antialias=True), 224)
    return normalise(x / 255.0, IMAGENET_MEAN, IMAGENET_STD)


def dino_i2v_image(image) -> torch.Tensor:
    h, w = np.shape(image)[:2]
    x = center_crop(pil_resize(image, short_side_size(h, w, 256)), 224)
    return normalise(x, IMAGENET_MEAN, IMAGENET_STD)


def clip_frames(frames) -> torch.Tensor:
    x = frames_to_float(frames)
    x = center_crop(resize(x, short_side_size(*x.shape[-2:], 224), "bicubic", antialias=False), 224)
    return normalise(x / 255.0, CLIP_MEAN, CLIP_STD)


def dreamsim_frames(frames) -> torch.Tensor:
    return resize(frames_to_float(frames), (224, 224), "bicubic", antialias=True) / 255.0


def dreamsim_image(image) -> torch.Tensor:
    return pil_resize(image, (224, 224))


def musiq_frames(frames, mode: str = "longer") -> torch.Tensor:
    """Imaging-quality preprocessing: float (N, 3, h, w) in [0, 1] (VBench ``imaging_quality.transform``)."""
    check_choice("imaging_quality_preprocessing_mode", mode, MUSIQ_MODES)
    x = frames_to_float(frames)
    h, w = x.shape[-2:]
    side = max(h, w) if mode == "longer" else min(h, w)
    if mode != "None" and side > 512:
        scale = 512.0 / side
        x = resize(x, (int(scale * h), int(scale * w)), "bilinear", antialias=False)
        if mode == "shorter_centercrop":
            x = center_crop(x, 512)
    return x / 255.0
