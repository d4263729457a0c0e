"""Where records come from: a folder of videos (sidecar captions), a folder of images, a manifest.

Sidecar captions, looked up next to ``clip.mp4`` in this order: ``clip.txt``, ``clip.mp4.txt``
(whole file, stripped), ``clip.json``, ``clip.mp4.json`` (key ``caption``, ``text`` or
``prompt``). A missing or unreadable sidecar means an empty caption, never an error.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from kinema.data.real.manifest import read_manifest
from kinema.data.real.records import VideoRecord, is_image, is_video
from kinema.errors import InputError

log = logging.getLogger("kinema.data")

MANIFEST_SUFFIXES = (".jsonl", ".json", ".ndjson", ".csv", ".tsv")
_CAPTION_KEYS = ("caption", "text", "prompt")


def _json_caption(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        log.warning("ignoring unreadable caption sidecar %s", path)
        return None
    if isinstance(data, dict):
        for key in _CAPTION_KEYS:
            if isinstance(data.get(key), str):
                return data[key].strip()
    return None


def sidecar_caption(media: Path) -> str:
    """Caption from a ``.txt`` / ``.json`` file next to ``media`` ("" when there is none)."""
    for txt in (media.with_suffix(".txt"), media.with_name(media.name + ".txt")):
        if txt.is_file():
            try:
                return txt.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                log.warning("ignoring unreadable caption sidecar %s", txt)
    for js in (media.with_suffix(".json"), media.with_name(media.name + ".json")):
        if js.is_file() and (caption := _json_caption(js)) is not None:
            return caption
    return ""


def _media_files(root: Path, images: bool, videos: bool) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if name.startswith("."):
                continue
            if (videos and is_video(p)) or (images and is_image(p)):
                files.append(p.resolve())
    return files


def records_from_folder(root: str | os.PathLike, images: bool = True, videos: bool = True) -> list[VideoRecord]:
    """Every video (and/or image) under ``root``, sorted by path, with its sidecar caption.

    Images become one-frame records (``frames=1``) for image-stage training.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder")
    out = []
    for p in _media_files(root, images, videos):
        rec = VideoRecord(path=p, caption=sidecar_caption(p))
        if is_image(p):
            rec.frames = 1
        out.append(rec)
    return out


def load_records(source: str | os.PathLike) -> list[VideoRecord]:
    """Records from a folder (videos + images) or a manifest file (.jsonl / .csv)."""
    source = Path(source)
    if source.is_dir():
        return records_from_folder(source)
    if source.is_file() and source.suffix.lower() in MANIFEST_SUFFIXES:
        return read_manifest(source)
    if not source.exists():
        raise InputError(f"{source} does not exist; give a folder of videos/images or a .jsonl/.csv manifest")
    raise InputError(f"{source} is neither a folder nor a manifest (.jsonl, .csv)")
