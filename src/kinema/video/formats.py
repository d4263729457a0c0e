"""Output formats and how a path selects one."""

from __future__ import annotations

import os
from pathlib import Path

from kinema.errors import ConfigError

# format -> file suffix ("" = a folder of numbered PNG frames)
FORMATS: dict[str, str] = {"mp4": ".mp4", "webm": ".webm", "gif": ".gif", "png": ""}
PNG_PATTERN = "frame_{:04d}.png"  # file names inside a PNG-sequence folder


def detect_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """Pick the format: ``fmt`` if given, else from the suffix (no suffix or ``.png`` -> png)."""
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        if fmt not in FORMATS:
            raise ConfigError(f"video format {fmt!r} is not one of {sorted(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix in ("", ".png"):
        return "png"
    for name, suf in FORMATS.items():
        if suf == suffix:
            return name
    raise ConfigError(
        f"cannot tell the video format of {str(path)!r} from its suffix {suffix!r}; "
        f"use one of .mp4, .webm, .gif, a folder (PNG frames), or pass fmt= one of {sorted(FORMATS)}"
    )


def png_frames(folder: Path) -> list[Path]:
    """The numbered PNG frames of a sequence folder, in order."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png" and not p.name.startswith("."))
