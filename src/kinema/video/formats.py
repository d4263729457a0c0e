"""Output formats and how a path selects one."""

from __future__ import annotations

import os
from pathlib import Path

from kinema.errors import ConfigError

# format -> file suffix ("" = a folder of numbered PNG frames)
FORMATS: dict[str, str] = {"mp4": ".mp4", "webm": ".webm", "gif": ".gif", "png": ""}
PNG_PATTERN = "frame_{:04d}.png"  # file names inside a PNG-sequence folder


def detect_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """Pick the format: from the suffix, or ``fmt`` where the suffix names none (no suffix = png).

    A suffix that names one format and a ``fmt`` that names another is an error, not a choice:
    players, browsers and ffmpeg trust the extension, so a GIF written as ``x.mp4`` would look
    broken everywhere. A suffix no format claims (``clip.bin``) takes ``fmt``, as ``ffmpeg -f``.
    """
    by_suffix = _suffix_format(path)
    if fmt is None:
        if by_suffix is None:
            suffix = Path(path).suffix.lower()
            raise ConfigError(
                f"cannot tell the video format of {str(path)!r} from its suffix {suffix!r}; "
                f"use one of .mp4, .webm, .gif, a folder (PNG frames), or pass fmt= one of {sorted(FORMATS)}")
        return by_suffix
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ConfigError(f"video format {fmt!r} is not one of {sorted(FORMATS)}")
    suffix = Path(path).suffix.lower()
    if suffix and by_suffix is not None and by_suffix != fmt:
        raise ConfigError(f"output {str(path)!r} ends in {suffix} ({by_suffix}) but the format asked for is "
                          f"{fmt!r}: name it {_renamed(path, fmt)!r} or leave the format out")
    return fmt


def _suffix_format(path: str | os.PathLike) -> str | None:
    """The format a path's suffix names (no suffix or ``.png`` -> png), or None for an unknown suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in ("", ".png"):
        return "png"
    return next((name for name, suf in FORMATS.items() if suf == suffix), None)


def _renamed(path: str | os.PathLike, fmt: str) -> str:
    path = Path(path)
    return str(path.with_suffix(FORMATS[fmt])) if FORMATS[fmt] else str(path.with_suffix("")) + os.sep


def png_frames(folder: Path) -> list[Path]:
    """The numbered PNG frames of a sequence folder, in order."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png" and not p.name.startswith("."))
