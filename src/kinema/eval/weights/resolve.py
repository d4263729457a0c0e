"""Find a registered weight file on disk. Never downloads.

Search order (the first hit wins):

1. ``path=`` given by the caller: the file itself, or a directory holding it under its registry
   name. An explicit path that does not hold the weight is an error; nothing else is searched.
2. ``$KINEMA_WEIGHT_<ID>`` (id upper-cased, non-alphanumerics as ``_``): same rules as ``path=``.
3. ``$KINEMA_WEIGHTS_DIR``: a directory of files under their registry file names.
4. the cache directory: ``$KINEMA_CACHE/weights``, else ``$XDG_CACHE_HOME/kinema/weights``, else
   ``~/.cache/kinema/weights``.

A missing weight is one :class:`~kinema.errors.InputError` line naming the id, the file, the
places searched and the URL where the file can be obtained.
"""

from __future__ import annotations

import os
from pathlib import Path

from kinema.errors import InputError
from kinema.eval.weights.catalog import get_spec
from kinema.eval.weights.spec import WeightSpec

WEIGHTS_DIR_ENV = "KINEMA_WEIGHTS_DIR"


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def cache_root() -> Path:
    """kinema's cache folder: ``$KINEMA_CACHE``, else ``$XDG_CACHE_HOME/kinema``, else ``~/.cache/kinema``."""
    if root := _env("KINEMA_CACHE"):
        return Path(root).expanduser()
    if xdg := _env("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "kinema"
    return Path.home() / ".cache" / "kinema"


def cache_dir() -> Path:
    """Weight files: ``cache_root() / "weights"``."""
    return cache_root() / "weights"


def _exists(spec: WeightSpec, path: Path) -> bool:
    return path.is_dir() if spec.is_dir else path.is_file()


def _expand(spec: WeightSpec, given: Path) -> list[Path]:
    """Where a user-given path may hold the weight: itself, or its registry name(s) inside it."""
    if spec.is_dir:
        return [given / spec.filename, given]  # the folder's parent, or the folder itself
    if given.is_dir():
        return [given / name for name in spec.filenames]
    return [given]


def candidates(spec: WeightSpec, path=None) -> list[tuple[str, Path]]:
    """Every ``(place, path)`` looked at for ``spec``, in search order (only places that are set)."""
    out: list[tuple[str, Path]] = []
    if path is not None:
        out += [("path argument", p) for p in _expand(spec, Path(path).expanduser())]
    if value := _env(spec.env_var):
        out += [(f"${spec.env_var}", p) for p in _expand(spec, Path(value).expanduser())]
    if value := _env(WEIGHTS_DIR_ENV):
        out += [(f"${WEIGHTS_DIR_ENV}", Path(value).expanduser() / n) for n in spec.filenames]
    out += [("cache", cache_dir() / n) for n in spec.filenames]
    return out


def where(weight_id: str, path=None) -> list[tuple[str, Path, bool]]:
    """``(place, path, exists)`` for every place :func:`resolve_weights` looks, in order (for the CLI)."""
    spec = get_spec(weight_id)
    return [(place, p, _exists(spec, p)) for place, p in candidates(spec, path)]


def resolve_weights(weight_id: str, path=None) -> Path:
    """The local file (or folder) of ``weight_id``: explicit ``path`` > env vars > cache directory.

    Raises :class:`~kinema.errors.ConfigError` for an unknown id and a one-line
    :class:`~kinema.errors.InputError` when the weight is not on disk. Never downloads.
    """
    spec = get_spec(weight_id)
    by_place: dict[str, list[Path]] = {}
    for place, p in candidates(spec, path):
        by_place.setdefault(place, []).append(p)
    for place, paths in by_place.items():
        hit = next((p for p in paths if _exists(spec, p)), None)
        if hit is not None:
            return hit
        if place == "path argument":  # an explicit choice that misses is an error, not a fallback
            raise InputError(_explicit_miss(spec, str(Path(path).expanduser()), place))
        if place == f"${spec.env_var}":
            raise InputError(_explicit_miss(spec, os.environ[spec.env_var].strip(), place))
    raise InputError(_not_found(spec))


def _explicit_miss(spec: WeightSpec, given: str, place: str) -> str:
    what = "folder" if spec.is_dir else "file"
    return (f"weight {spec.id!r}: {given} (from {place}) is not the {what} {spec.filename} nor a "
            f"directory holding it; obtain it from {spec.source}")


def _not_found(spec: WeightSpec) -> str:
    env = f"${spec.env_var} (unset)"  # a set one that misses has raised already
    wdir = _env(WEIGHTS_DIR_ENV)
    wdir_s = f"${WEIGHTS_DIR_ENV}={wdir}" if wdir else f"${WEIGHTS_DIR_ENV} (unset)"
    return (f"weight {spec.id!r} not found: no {spec.filename} in {env}, {wdir_s} or {cache_dir()}; "
            f"obtain it from {spec.source} and put it in {cache_dir()} "
            f"(or set {spec.env_var}=PATH, or pass its path)")
