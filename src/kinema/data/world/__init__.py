"""kinema world: a procedural video generator whose ground truth is exact by construction.

Scenes of 0-8 objects (shapes and photo cut-outs) over flat, gradient, textured or photographic
backgrounds, moved by analytic motions and a 2D camera, rendered by inverse mapping. Each clip
comes with its caption, trajectories, boxes, visibility, masks, camera parameters, exact dense
flow and a motion amount. Schema and conventions: ``README.md`` in this folder.

    cfg = world_preset("default")
    clip = generate_clip(cfg, clip_seed("train", 0))      # in memory
    ds = WorldDataset(cfg, "train", length=10_000)        # streamed for training
    export_world(cfg, 100, "out/world", split="val")       # to disk: videos + manifest.jsonl
"""

from kinema.data.world.clip import Clip, ObjectTrack, generate_clip
from kinema.data.world.config import PRESETS, WorldConfig, world_preset
from kinema.data.world.dataset import GT_FIELDS, WorldDataset, clip_item, video_tensor
from kinema.data.world.export import export_world, ground_truth_arrays, load_ground_truth
from kinema.data.world.splits import clip_seed, split_tag

__all__ = [
    "GT_FIELDS", "PRESETS", "Clip", "ObjectTrack", "WorldConfig", "WorldDataset", "clip_item", "clip_seed",
    "export_world", "generate_clip", "ground_truth_arrays", "load_ground_truth", "split_tag", "video_tensor",
    "world_preset",
]
