"""Read and write dataset manifests: JSON Lines (kinema's own) and CSV (WebVid style).

The manifest schema (``manifest.jsonl``, one JSON object per line; shared with the procedural
world generator, :mod:`kinema.data.world`)::

    {"path": "clips/000.mp4",   # relative to the manifest's folder (absolute paths allowed)
     "caption": "a red ball rolls left",
     "fps": 8.0,                # native frame rate; null for a still image
     "frames": 24,              # native frame count of the file; 1 for a still image
     "width": 64, "height": 64,
     "motion_score": 0.0123,    # kinema.data.motion units; null when not computed
     "split": "train",
     "seed": 17,                # generator seed of a procedural clip; null for real footage
     "start": 1.5, "end": 4.0,  # optional window in seconds (WebVid style); omitted = whole file
     ...}                       # any other key is kept in VideoRecord.extra and written back

CSV manifests carry the same columns. Common WebVid spellings are accepted on read: the
caption may be ``caption``, ``name`` or ``text``; the file may be ``path``, ``contentUrl``
(a local path) or ``videoid`` (+ optional ``page_dir``, giving ``page_dir/videoid.mp4``, the
layout of the WebVid download scripts). Empty CSV cells mean "unknown".
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Iterable

from kinema.data.real.records import VideoRecord
from kinema.errors import InputError
from kinema.video._atomic import write_text_atomic

MANIFEST_KEYS = ("path", "caption", "fps", "frames", "width", "height", "motion_score", "split", "seed")
_OPTIONAL_KEYS = ("start", "end")
_CAPTION_ALIASES = ("caption", "name", "text", "prompt")
_PATH_ALIASES = ("path", "contentUrl", "file", "filename", "video")
_FLOAT_KEYS = ("fps", "start", "end", "motion_score")
_INT_KEYS = ("frames", "width", "height", "seed")
_ALIASES = set(_CAPTION_ALIASES) | set(_PATH_ALIASES) | {"videoid", "page_dir"}


def _number(value: Any, kind: type, key: str, where: str) -> Any:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {key}={value!r} is not a number") from None
    if math.isnan(x):
        return None
    if kind is int:
        if x != int(x):
            raise InputError(f"{where}: {key}={value!r} must be a whole number")
        return int(x)
    return x


def _row_path(row: dict[str, Any], where: str) -> str:
    for key in _PATH_ALIASES:
        if row.get(key) not in (None, ""):
            return str(row[key])
    if row.get("videoid") not in (None, ""):
        name = f"{row['videoid']}.mp4"
        return str(Path(str(row["page_dir"])) / name) if row.get("page_dir") not in (None, "") else name
    raise InputError(f"{where}: no file path; give a 'path' (or 'contentUrl', or 'videoid') column")


def record_from_row(row: dict[str, Any], root: Path, where: str) -> VideoRecord:
    """One manifest row (a dict) -> VideoRecord; relative paths resolve against ``root``."""
    path = Path(_row_path(row, where)).expanduser()
    caption = next((str(row[k]) for k in _CAPTION_ALIASES if row.get(k) not in (None, "")), "")
    values = {k: _number(row.get(k), float, k, where) for k in _FLOAT_KEYS}
    values.update({k: _number(row.get(k), int, k, where) for k in _INT_KEYS})
    extra = {k: v for k, v in row.items() if k not in MANIFEST_KEYS + _OPTIONAL_KEYS and k not in _ALIASES}
    split = row.get("split") or "train"
    return VideoRecord(path=Path(os.path.normpath(path if path.is_absolute() else root / path)), caption=caption,
                       split=str(split), extra=extra, **values)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{n}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise InputError(f"{path}:{n}: expected a JSON object per line, got {type(row).__name__}")
        rows.append(row)
    return rows


def _read_csv(path: Path) -> list[dict[str, Any]]:
    with open(path, newline="", encoding="utf-8") as f:
        return [dict(r) for r in csv.DictReader(f)]


def read_manifest(path: str | os.PathLike) -> list[VideoRecord]:
    """Read a ``.jsonl`` (or ``.json`` lines) or ``.csv`` manifest into records."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"manifest {path} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        rows = _read_jsonl(path)
    elif suffix in (".csv", ".tsv"):
        rows = _read_csv(path)
    else:
        raise InputError(f"manifest {path}: suffix {suffix!r} is not one of .jsonl, .json, .ndjson, .csv")
    root = path.parent.resolve()
    return [record_from_row(r, root, f"{path}:{i + 1}") for i, r in enumerate(rows)]


def _relative(path: Path, root: Path) -> str:
    try:
        return os.path.relpath(Path(path).resolve(), root)
    except ValueError:  # another drive on Windows
        return str(Path(path).resolve())


def _finite_or_none(value: Any) -> Any:
    """NaN / inf are not JSON: an unknown number is written as null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def record_to_row(record: VideoRecord, root: Path) -> dict[str, Any]:
    """VideoRecord -> manifest row (path relative to ``root``, the manifest's folder)."""
    row: dict[str, Any] = {"path": _relative(record.path, root)}
    for key in MANIFEST_KEYS[1:]:
        row[key] = _finite_or_none(getattr(record, key))
    for key in _OPTIONAL_KEYS:
        if getattr(record, key) is not None:
            row[key] = getattr(record, key)
    row.update({k: v for k, v in record.extra.items() if k not in row})
    return row


def _csv_text(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns or list(MANIFEST_KEYS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else v))
                         for k, v in row.items()})
    return buf.getvalue()


def write_manifest(records: Iterable[VideoRecord], path: str | os.PathLike) -> Path:
    """Write records to ``path`` (``.jsonl`` or ``.csv``) atomically; paths become relative."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = path.parent.resolve()
    rows = [record_to_row(r, root) for r in records]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = _csv_text(rows)
    elif suffix in (".jsonl", ".json", ".ndjson"):
        text = "".join(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n" for r in rows)
    else:
        raise InputError(f"manifest {path}: suffix {suffix!r} is not one of .jsonl, .csv")
    return write_text_atomic(path, text)
