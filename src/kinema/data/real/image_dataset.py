"""A folder of still images as one-frame videos (3, 1, H, W), for image-stage training."""

from __future__ import annotations

import os
from collections.abc import Sequence

from kinema.data.real.clip_dataset import VideoClipDataset
from kinema.data.real.records import VideoRecord
from kinema.data.real.sources import records_from_folder


class ImageFolderDataset(VideoClipDataset):
    """Every image under ``root`` (or the given image records) as a one-frame clip.

    Items have the same keys as :class:`VideoClipDataset`: ``video`` is (3, 1, H, W),
    ``fps`` is NaN (a still has no frame rate), ``motion`` is 0 and ``cond_mask`` marks the
    single frame.
    """

    def __init__(self, root: str | os.PathLike | Sequence[VideoRecord], size: tuple[int, int] = (256, 256), *,
                 policy: str = "resize_crop", crop: str = "center", seed: int = 0, max_retries: int = 16):
        if isinstance(root, (str, os.PathLike)):
            records = records_from_folder(root, images=True, videos=False)
        else:
            records = [r.replace(frames=1) for r in root]
        super().__init__(records, frames=1, size=size, policy=policy, crop=crop, temporal="start", seed=seed,
                         max_retries=max_retries)
