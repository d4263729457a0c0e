"""Stream procedural clips in-process for training: no disk, deterministic per index.

``WorldDataset(config, split, length)[i]`` renders clip ``clip_seed(split, i, base_seed)``, so an
item is the same in any DataLoader worker and in any order. Items follow the keys of
``kinema.data.real.VideoClipDataset`` (video, caption, fps, motion, cond_mask, index), the clip's
motion plan (:func:`~kinema.data.world.plan.clip_plan`) and its object's masks (``plan_mask``), plus the
ground-truth fields requested in ``fields``; per-object fields are padded to
``config.max_objects`` with ``object_valid`` marking real objects, so the default collate works.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from kinema.config import check_choice, check_range
from kinema.data.world.clip import Clip, generate_clip
from kinema.data.world.config import WorldConfig
from kinema.data.world.plan import clip_plan
from kinema.data.world.splits import clip_seed

GT_FIELDS = ("flow", "flow_valid", "camera", "camera_matrix", "centers", "boxes", "visible", "masks", "labels")


def video_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 (T, H, W, 3) -> float32 (3, T, H, W) in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2)  # (T,H,W,3) -> (3,T,H,W)
    return x.float().div_(127.5).sub_(1.0)


def _padded(arr: np.ndarray, n: int) -> torch.Tensor:
    """Pad the leading (object) axis of ``arr`` with zeros up to ``n``."""
    out = np.zeros((n,) + arr.shape[1:], arr.dtype)
    out[:arr.shape[0]] = arr
    return torch.from_numpy(out)


def main_object_masks(clip: Clip) -> np.ndarray:
    """(T, H, W) bool: where the main object (the one a plan's object velocity moves) shows."""
    if clip.objects:
        return np.ascontiguousarray(clip.objects[0].mask)
    return np.zeros(clip.frames.shape[:3], bool)


def clip_item(clip: Clip, max_objects: int, fields: tuple[str, ...] = ()) -> dict:
    """A Clip as a training item (torch tensors, fixed shapes)."""
    t = clip.num_frames
    cond = torch.zeros(t)
    cond[0] = 1.0  # the first frame is the condition (image-to-video)
    item = {"video": video_tensor(clip.frames), "caption": clip.caption,
            "fps": torch.tensor(clip.fps, dtype=torch.float32),
            "motion": torch.tensor(clip.motion_amount, dtype=torch.float32),
            "plan": torch.from_numpy(clip_plan(clip)),  # (6,) exact camera + main-object rates
            "plan_mask": torch.from_numpy(main_object_masks(clip)),  # (T, H, W) bool: pixels of the plan's object
            "cond_mask": cond, "seed": clip.seed}
    n = len(clip.objects)
    item["object_valid"] = torch.arange(max_objects) < n
    for name in fields:
        if name == "flow":
            item["flow"] = torch.from_numpy(clip.flow).permute(0, 3, 1, 2)  # (T-1,H,W,2) -> (T-1,2,H,W)
        elif name == "flow_valid":
            item["flow_valid"] = torch.from_numpy(clip.flow_valid)
        elif name == "camera":
            item["camera"] = torch.from_numpy(clip.camera)
        elif name == "camera_matrix":
            item["camera_matrix"] = torch.from_numpy(clip.camera_matrix.astype(np.float32))
        elif name == "labels":
            item["labels"] = torch.from_numpy(clip.labels.astype(np.int64))
        else:
            key = {"centers": "center", "boxes": "box", "visible": "visible", "masks": "mask"}[name]
            item[name] = _padded(clip.stacked(key), max_objects)
    return item


class WorldDataset(Dataset):
    """Map-style dataset of ``length`` procedural clips of ``split`` (deterministic per index)."""

    def __init__(self, config: WorldConfig, split: str = "train", length: int = 100_000, base_seed: int = 0,
                 fields: tuple[str, ...] = ()):
        check_range("length", length, 1, 1 << 25)
        for name in fields:
            check_choice("fields", name, GT_FIELDS)
        self.config, self.split, self.length = config, split, int(length)
        self.base_seed, self.fields = int(base_seed), tuple(fields)
        clip_seed(split, 0, self.base_seed)  # validates split and base_seed now, not in a worker

    def __len__(self) -> int:
        return self.length

    def clip(self, index: int) -> Clip:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} is outside [0, {self.length - 1}]")
        return generate_clip(self.config, clip_seed(self.split, index, self.base_seed), split=self.split)

    def __getitem__(self, index: int) -> dict:
        item = clip_item(self.clip(index), self.config.max_objects, self.fields)
        item["index"] = int(index)
        return item
