"""Provenance: generation parameters stored in the container and in a sidecar JSON.

Where each format keeps them (all hold the same JSON text):

* mp4 / webm: the container's ``comment`` tag (``©cmt`` atom in MP4, ``COMMENT`` tag in Matroska);
* gif: the GIF comment extension;
* png: a ``kinema`` text chunk in every frame (``kinema_fps`` holds the frame rate);
* everywhere: ``<output>.json`` next to the output (e.g. ``clip.mp4.json``, ``frames.json``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import av
from PIL import Image

from kinema.errors import ConfigError, InputError
from kinema.video._atomic import write_text_atomic
from kinema.video.formats import detect_format, png_frames

PNG_KEY = "kinema"
PNG_FPS_KEY = "kinema_fps"


def dumps(metadata: dict[str, Any]) -> str:
    """Metadata -> compact JSON text (non-JSON values such as paths become strings)."""
    return json.dumps(metadata, sort_keys=True, default=str, ensure_ascii=False)


def sidecar_path(path: str | os.PathLike) -> Path:
    """``clip.mp4`` -> ``clip.mp4.json``; a PNG folder ``frames/`` -> ``frames.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def write_sidecar(path: str | os.PathLike, metadata: dict[str, Any]) -> Path:
    """Write the sidecar JSON of ``path`` atomically and return its path."""
    return write_text_atomic(sidecar_path(path), json.dumps(metadata, sort_keys=True, default=str, indent=2) + "\n")


def _loads(text: str | bytes | None) -> dict[str, Any]:
    if text is None or text == "" or text == b"":
        return {}
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return {"comment": text}  # a foreign, non-JSON comment is returned as-is
    return data if isinstance(data, dict) else {"comment": data}


def _container_text(path: Path) -> str | bytes | None:
    fmt = detect_format(path) if not path.is_dir() else "png"
    if fmt == "png":
        first = path if path.is_file() else next(iter(png_frames(path)), None)
        if first is None:
            return None
        with Image.open(first) as im:
            return im.info.get(PNG_KEY)
    if fmt == "gif":
        with Image.open(path) as im:
            return im.info.get("comment")
    with av.open(str(path)) as container:
        tags = {k.lower(): v for k, v in container.metadata.items()}
    return tags.get("comment") or tags.get("description")


def read_metadata(path: str | os.PathLike, source: str = "container") -> dict[str, Any]:
    """Read the generation parameters stored with a video written by :func:`write_video`.

    ``source="container"`` reads the tag inside the file, ``"sidecar"`` the ``<output>.json``,
    ``"any"`` the container and falls back to the sidecar. Returns ``{}`` when nothing is stored.
    """
    if source not in ("container", "sidecar", "any"):
        raise ConfigError(f"read_metadata source={source!r} is not one of ['container', 'sidecar', 'any']")
    path = Path(path)
    if not path.exists():
        raise InputError(f"cannot read metadata: {path} does not exist")
    if source in ("container", "any"):
        try:
            data = _loads(_container_text(path))
        except (av.FFmpegError, OSError) as e:
            raise InputError(f"cannot read metadata of {path}: {e}") from None
        if data or source == "container":
            return data
    side = sidecar_path(path)
    if not side.exists():
        return {}
    return _loads(side.read_text(encoding="utf-8"))
