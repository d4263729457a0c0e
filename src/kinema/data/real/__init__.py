"""Real footage: manifests, folder sources, clip sampling, decoding and datasets.

See :mod:`kinema.data.real.manifest` for the manifest schema shared with the procedural world.
``scan``, ``contact_sheet``, ``cache_latents`` and ``LatentCacheDataset`` live in
``kinema.data.scan`` / ``.preview`` / ``.latent_cache`` and are re-exported here lazily (they
import this package, so an eager import would be circular).
"""

from importlib import import_module

from kinema.data.real.build import REAL_SOURCES, build_real_dataset
from kinema.data.real.clip_dataset import VideoClipDataset, first_frame_mask, item_generator
from kinema.data.real.decode import decode_frames
from kinema.data.real.geometry import fit_frames, to_tensor
from kinema.data.real.image_dataset import ImageFolderDataset
from kinema.data.real.manifest import MANIFEST_KEYS, read_manifest, write_manifest
from kinema.data.real.records import VideoRecord
from kinema.data.real.sampling import ClipTooShort, clip_indices, frame_step, frames_available
from kinema.data.real.sources import load_records, records_from_folder, sidecar_caption

_LAZY = {
    "scan": "kinema.data.scan", "ScanSummary": "kinema.data.scan", "SKIP_REASONS": "kinema.data.scan",
    "contact_sheet": "kinema.data.preview",
    "cache_latents": "kinema.data.latent_cache", "cache_latents_cli": "kinema.data.latent_cache",
    "LatentCacheDataset": "kinema.data.latent_cache",
    "motion_score": "kinema.data.motion",
    "Bucket": "kinema.data.buckets", "BucketBatchSampler": "kinema.data.buckets",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MANIFEST_KEYS", "REAL_SOURCES", "ClipTooShort", "ImageFolderDataset", "VideoClipDataset", "VideoRecord",
    "build_real_dataset", "clip_indices", "decode_frames", "first_frame_mask", "fit_frames", "frame_step",
    "frames_available", "item_generator", "load_records", "read_manifest", "records_from_folder",
    "sidecar_caption", "to_tensor", "write_manifest", *_LAZY,
]
