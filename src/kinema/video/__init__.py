"""Video and image I/O: decode, encode (mp4, webm, gif, PNG sequence), frame sampling, provenance.

Imports nothing of kinema but :mod:`kinema.errors`. At the user boundary frames are uint8
``(T, H, W, 3)``; :func:`load_image` returns a model-ready float32 ``(3, H, W)`` in [-1, 1].

Names are imported on first use (PEP 562): ``kinema.video.formats`` and ``kinema.video.inputs`` need
neither torch nor FFmpeg, so the command line can check an output name or an input image before
paying for either.
"""

from importlib import import_module

_HOMES = {
    "FORMATS": "formats", "detect_format": "formats",
    "DEFAULT_MAX_PIXELS": "inputs", "POLICIES": "image", "load_image": "image",
    "read_metadata": "metadata", "sidecar_path": "metadata",
    "VideoInfo": "read", "probe_video": "read", "read_video": "read",
    "frames_needed": "sampling", "sample_frame_indices": "sampling",
    "write_video": "write",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'kinema.video' has no attribute {name!r}")
    value = getattr(import_module(f"kinema.video.{_HOMES[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
