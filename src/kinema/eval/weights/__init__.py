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


def _short_digest(spec: WeightSpec) -> str:
    if spec.sha256:
        return spec.sha256[:16] + "…"
    if spec.sha256_prefix:
        return f"{spec.sha256_prefix}… (prefix)"
    return "unknown"


def list_rows() -> list[dict[str, str]]:
    """One row per registered weight for ``kinema weights list``: id, filename, size, sha256
    (shortened; prefix-only and unknown marked), licence (short name), status (found path or 'missing')."""
    rows = []
    for spec in CATALOG.values():
        hit = next((p for _, p, exists in where(spec.id) if exists), None)
        rows.append({
            "id": spec.id,
            "filename": spec.filename,
            "size": _human_size(spec.size),
            "sha256": _short_digest(spec),
            "licence": spec.licence.split(" (")[0],
            "status": str(hit) if hit is not None else "missing",
        })
    return rows


__all__ = [
    "CATALOG", "FORMATS", "WEIGHTS_DIR_ENV", "VerifyResult", "WeightSpec", "cache_dir", "get_spec",
    "list_rows", "load_state_dict", "load_torchscript", "register", "resolve_weights", "sha256_file",
    "unregister", "verify", "where",
]
