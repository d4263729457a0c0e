"""Video and image I/O: decode, encode (mp4, webm, gif, PNG sequence), frame sampling, provenance.

Imports nothing of kinema but :mod:`kinema.errors`. At the user boundary frames are uint8
``(T, H, W, 3)``; :func:`load_image` returns a model-ready float32 ``(3, H, W)`` in [-1, 1].
"""

from kinema.video.formats import FORMATS, detect_format
from kinema.video.image import DEFAULT_MAX_PIXELS, POLICIES, load_image
from kinema.video.metadata import read_metadata, sidecar_path
from kinema.video.read import VideoInfo, probe_video, read_video
from kinema.video.sampling import frames_needed, sample_frame_indices
from kinema.video.write import write_video

__all__ = [
    "DEFAULT_MAX_PIXELS", "FORMATS", "POLICIES", "VideoInfo", "detect_format", "frames_needed",
    "load_image", "probe_video", "read_metadata", "read_video", "sample_frame_indices",
    "sidecar_path", "write_video",
]
