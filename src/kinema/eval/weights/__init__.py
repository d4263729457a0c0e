"""The registry of pretrained weights behind kinema's evaluation backbones (issue 5).

Every backbone file (Inception for FID/KID/IS, the I3D variants and VideoMAE-v2 for FVD, the
LPIPS trunks and heads, CLIP, and VBench's DINO, RAFT, AMT, MUSIQ, DreamSim, CoTracker, LAION
aesthetic head) has a :class:`WeightSpec` in :data:`CATALOG`: file name, sha256 and size where
public sources state them, source URL, licence. Weights are read from local files only:

    path = resolve_weights("inception-fid")          # explicit path > env vars > cache dir
    tensors = load_state_dict(path)                  # safetensors / weights-only pickle
    result = verify("inception-fid")                 # size and sha256 against the registry

``kinema weights list | verify [ID...] | where ID`` call :func:`list_rows`, :func:`verify` and
:func:`where`.
"""

from __future__ import annotations

from pathlib import Path

from kinema.eval.weights.catalog import CATALOG, get_spec, register, unregister
from kinema.eval.weights.load import load_state_dict, load_torchscript
from kinema.eval.weights.resolve import WEIGHTS_DIR_ENV, cache_dir, resolve_weights, where
from kinema.eval.weights.spec import FORMATS, WeightSpec
from kinema.eval.weights.verify import VerifyResult, sha256_file, verify


def _human_size(size: int | None) -> str:
    if size is None:
        return "?"
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return "?"  # unreachable


def _short(digest: str | None, prefix: str | None = None) -> str:
    """A sha256 as listed: its first 16 hex digits, an 8-digit ``prefix…``, or ``unknown``."""
    if digest:
        return digest[:16] + "…"
    if prefix:
        return f"{prefix}… (prefix)"
    return "unknown"


def _found(weight_id: str) -> Path | None:
    return next((p for _, p, exists in where(weight_id) if exists), None)


def _member_rows(spec: WeightSpec, folder: Path | None) -> list[dict[str, str]]:
    """One row per file a folder weight must hold; ``a|b`` (either file) shows the one present."""
    pins = dict(spec.member_sha256)
    rows = []
    for member in spec.members:
        names = member.split("|")
        present = [n for n in names if folder is not None and (folder / n).is_file()]
        names = present[:1] or names
        digest = pins.get(names[0]) if len(names) == 1 else None  # "a or b": which one is unknown
        rows.append({"file": f"{spec.filename}/{' or '.join(names)}", "size": "?", "sha256": _short(digest),
                     "local": str(folder / names[0]) if present else "missing"})
    return rows


def list_rows() -> list[dict[str, str]]:
    """One row per weight *file* for ``kinema weights list``: id, file, size, sha256 (shortened;
    prefix-only and unknown marked), licence (short name), source (where to get it) and local (the
    path found, or 'missing'). A folder weight (a Hugging Face model, an unpacked archive) gives a row
    for each file it must hold, so every file a user has to fetch is listed."""
    rows = []
    for spec in CATALOG.values():
        common = {"id": spec.id, "licence": spec.licence.split(" (")[0], "source": spec.source}
        hit = _found(spec.id)
        if spec.is_dir:
            rows += [dict(common, **r) for r in _member_rows(spec, hit)]
            continue
        rows.append(dict(common, file=spec.filename, size=_human_size(spec.size),
                         sha256=_short(spec.sha256, spec.sha256_prefix),
                         local=str(hit) if hit is not None else "missing"))
    return rows


LIST_COLUMNS = ("id", "file", "size", "sha256", "licence", "local", "source")


__all__ = [
    "CATALOG", "FORMATS", "LIST_COLUMNS", "WEIGHTS_DIR_ENV", "VerifyResult", "WeightSpec", "cache_dir", "get_spec",
    "list_rows", "load_state_dict", "load_torchscript", "register", "resolve_weights", "sha256_file",
    "unregister", "verify", "where",
]
