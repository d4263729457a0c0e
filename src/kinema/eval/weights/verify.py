"""Check a local weight against its registry entry: presence, byte size, sha256.

The full sha256 is compared when the registry has one, else the 8-digit prefix of a torch-hub
style file name, else only the size (when known). Folders (``hf-dir`` / ``dir``) are checked for
their required member files and for any member hashes the registry pins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kinema.checkpoint import sha256_file
from kinema.errors import InputError
from kinema.eval.weights.catalog import get_spec
from kinema.eval.weights.resolve import resolve_weights
from kinema.eval.weights.spec import WeightSpec


@dataclass(frozen=True)
class VerifyResult:
    id: str
    path: Path | None         # where the weight was found (None when missing)
    found: bool
    size_ok: bool | None      # None when the registry records no size (or for folders)
    sha256_ok: bool | None    # None when the registry records no hash
    message: str              # one line for the CLI

    @property
    def ok(self) -> bool:
        """Found, and no recorded size or hash disagrees."""
        return self.found and self.size_ok is not False and self.sha256_ok is not False


def verify(weight_id: str, path=None) -> VerifyResult:
    """Find ``weight_id`` like :func:`resolve_weights` and check it against the registry."""
    spec = get_spec(weight_id)
    try:
        found = resolve_weights(weight_id, path=path)
    except InputError as e:
        return VerifyResult(spec.id, None, False, None, None, f"missing: {e}")
    return _verify_dir(spec, found) if spec.is_dir else _verify_file(spec, found)


def _verify_file(spec: WeightSpec, path: Path) -> VerifyResult:
    size = path.stat().st_size
    size_ok = None if spec.size is None else size == spec.size
    if size_ok is False:  # no need to hash a file of the wrong length
        return VerifyResult(spec.id, path, True, False, None,
                            f"BAD size {size} bytes, expected {spec.size}: {path}")
    if spec.sha256 is None and spec.sha256_prefix is None:
        how = "size matches" if size_ok else "no size recorded"
        return VerifyResult(spec.id, path, True, size_ok, None,
                            f"found, {how}; no sha256 recorded, not checked: {path}")
    digest = sha256_file(path)
    expected = spec.sha256 or spec.sha256_prefix
    sha_ok = digest == spec.sha256 if spec.sha256 else digest.startswith(spec.sha256_prefix)
    kind = "sha256" if spec.sha256 else "sha256 prefix"
    if not sha_ok:
        return VerifyResult(spec.id, path, True, size_ok, False,
                            f"BAD {kind}: got {digest}, expected {expected}: {path}")
    return VerifyResult(spec.id, path, True, size_ok, True, f"ok ({kind} {expected[:12]}…): {path}")


def _verify_dir(spec: WeightSpec, path: Path) -> VerifyResult:
    missing = [m for m in spec.members if not any((path / alt).is_file() for alt in m.split("|"))]
    if missing:
        return VerifyResult(spec.id, path, False, None, None,
                            f"incomplete folder {path}: missing {', '.join(missing)}")
    pinned = [(name, digest) for name, digest in spec.member_sha256 if (path / name).is_file()]
    bad = [name for name, digest in pinned if sha256_file(path / name) != digest]
    if bad:
        return VerifyResult(spec.id, path, True, None, False, f"BAD sha256 of {', '.join(bad)} in {path}")
    if not pinned:
        return VerifyResult(spec.id, path, True, None, None,
                            f"found, required files present; no hash recorded for them: {path}")
    names = ", ".join(name for name, _ in pinned)
    return VerifyResult(spec.id, path, True, None, True, f"ok (sha256 of {names}): {path}")
