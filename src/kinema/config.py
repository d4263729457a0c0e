"""Typed dataclass configs: build from dicts, apply ``key=value`` overrides, validate ranges.

Every config in kinema is a (possibly nested) dataclass. ``from_dict`` refuses unknown keys and
wrong types with a :class:`ConfigError` naming the key, so a typo fails at load time, not an hour
into a run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from typing import Any, TypeVar

from kinema.errors import ConfigError

T = TypeVar("T")


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Convert ``value`` to the annotated type ``tp`` or raise a ConfigError naming ``key``."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{key}: value {value!r} does not match {tp}")
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{key}: {value!r} is not one of {list(allowed)}")
        return value
    if origin in (list, tuple):
        if isinstance(value, str):
            value = [v for v in value.split(",") if v != ""]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{key}: expected {len(args)} values, got {len(value)}")
            return tuple(_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        inner = args[0] if args else Any
        out = [_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return dict(value)
    if _is_dataclass_type(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping for {tp.__name__}, got {value!r}")
        return from_dict(tp, value, prefix=f"{key}.")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{key}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
        if f != int(f):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return int(f)
    if tp is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    return value


def from_dict(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys and bad types raise ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or cls.__name__}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"unknown config key {prefix}{unknown[0]!s}; accepted keys: {', '.join(sorted(names))}"
        )
    kwargs = {k: _coerce(v, hints[k], prefix + k) for k, v in data.items()}
    try:
        obj = cls(**kwargs)
    except TypeError as e:
        raise ConfigError(f"{prefix or cls.__name__}: {e}") from None
    return obj


def to_dict(obj: Any) -> dict[str, Any]:
    """Dataclass -> plain JSON-able dict (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def _parse_scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` strings to a nested dict (values parsed as JSON when they can be).

    A path step into a list (``stages.0.steps``) must be an index of an existing element: a typo
    or an index past the end is a ConfigError naming the key and the valid indices.
    """
    out = json.loads(json.dumps(data))
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        node = out
        parts = key.split(".")
        for depth, p in enumerate(parts[:-1]):
            if isinstance(node, list):
                node = node[_list_index(node, p, key, parts[:depth])]
                continue
            node = node.setdefault(p, {})
            if not isinstance(node, (dict, list)):
                raise ConfigError(f"override {key}: {p!r} is not a section")
        if isinstance(node, list):
            node[_list_index(node, parts[-1], key, parts[:-1])] = _parse_scalar(raw)
        else:
            node[parts[-1]] = _parse_scalar(raw)
    return out


def _list_index(node: list, part: str, key: str, path: list[str]) -> int:
    """``part`` as an index into ``node`` (the list at ``path``), or a ConfigError naming the range."""
    where = ".".join(path) or "the config"
    valid = f"0..{len(node) - 1}" if node else "none: the list is empty"
    try:
        i = int(part)
    except ValueError:
        raise ConfigError(f"override {key}: {part!r} is not an index of {where} "
                          f"(a list of {len(node)}; valid indices {valid})") from None
    if not 0 <= i < len(node):
        raise ConfigError(f"override {key}: {where} has {len(node)} element(s), no index {i} "
                          f"(valid indices {valid})")
    return i


def check_range(key: str, value: float, lo: float | None = None, hi: float | None = None) -> None:
    """Raise ConfigError if ``value`` is outside [lo, hi] or not finite (NaN fails every
    comparison, so it would slip through a plain range test; no setting means infinity)."""
    if not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "-inf" if lo is None else lo
        hi_s = "inf" if hi is None else hi
        raise ConfigError(f"{key}={value!r} is outside the accepted range [{lo_s}, {hi_s}]")


def check_positive(key: str, value: float, hi: float | None = None) -> None:
    """Raise ConfigError unless ``value`` is a finite number > 0 (and <= ``hi`` when given)."""
    if not (math.isfinite(value) and value > 0 and (hi is None or value <= hi)):
        raise ConfigError(f"{key}={value!r} is outside the accepted range (0, {'inf' if hi is None else hi}]")


def check_choice(key: str, value: Any, choices: typing.Iterable[Any]) -> None:
    """Raise ConfigError if ``value`` is not one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        raise ConfigError(f"{key}={value!r} is not one of {choices}")
