"""Every metric value carries the protocol that produced it; values from different protocols
are not compared.

Distribution metrics move with the sample count (FD is biased in n), the frame count and stride,
the resolution, the preprocessing and the feature backbone; a number reported without them cannot
be checked. :class:`MetricResult` therefore requires the keys in :data:`PROTOCOL_KEYS` and
:func:`compare` refuses (``ConfigError``) to set two results side by side when any protocol entry
differs, unless ``force=True`` (then it warns and lists the differences).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any

from kinema.errors import ConfigError

PROTOCOL_KEYS: tuple[str, ...] = (
    "metric",  # metric id, e.g. "psnr", "kinema-fmd-v1", "fvd-i3d"
    "backbone",  # feature backbone id (with its weights' sha256), or "none" for weight-free metrics
    "n_real",  # number of real / reference videos (0 if none)
    "n_generated",  # number of generated videos
    "frames",  # frames per video fed to the metric
    "stride",  # temporal stride between those frames
    "fps",  # playback rate the frames were sampled at (None if not applicable)
    "resolution",  # [H, W] the metric saw
    "preprocessing",  # resize / crop / colour conversion, in words or an id
    "reference_stats",  # reference statistics file (and hash) used, or None
    "seed",  # seed of any random draw (KID subsets, sample choice), or None
)


def _plain(value: Any) -> Any:
    """JSON round trip, so tuples and lists (and numpy scalars via float) compare equal."""
    return json.loads(json.dumps(value, default=float))


def make_protocol(metric: str, *, n_generated: int, frames: int, resolution, backbone: str = "none",
                  n_real: int = 0, stride: int = 1, fps: float | None = None, preprocessing: str = "none",
                  reference_stats: str | None = None, seed: int | None = None, **extra: Any) -> dict:
    """A protocol dict with every key of :data:`PROTOCOL_KEYS` (plus any ``extra`` entries)."""
    proto = dict(metric=metric, backbone=backbone, n_real=n_real, n_generated=n_generated, frames=frames,
                 stride=stride, fps=fps, resolution=list(resolution), preprocessing=preprocessing,
                 reference_stats=reference_stats, seed=seed, **extra)
    return _plain(proto)


@dataclass
class MetricResult:
    name: str  # the metric's name as reported (e.g. "warping_error")
    value: float
    protocol: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [k for k in PROTOCOL_KEYS if k not in self.protocol]
        if missing:
            raise ConfigError(f"MetricResult {self.name!r}: protocol lacks {missing}; required keys: "
                              f"{list(PROTOCOL_KEYS)} (build it with make_protocol)")
        self.value = float(self.value)
        self.protocol = _plain(self.protocol)

    def to_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "protocol": self.protocol}

    @classmethod
    def from_dict(cls, data: dict) -> "MetricResult":
        try:
            return cls(data["name"], data["value"], data["protocol"])
        except (KeyError, TypeError) as e:
            raise ConfigError(f"not a MetricResult record (need name, value, protocol): {e}") from None


def protocol_differences(a: MetricResult, b: MetricResult) -> dict[str, tuple[Any, Any]]:
    """{key: (a's value, b's value)} for every protocol entry (and the name) that differs."""
    diff = {} if a.name == b.name else {"name": (a.name, b.name)}
    for key in sorted(set(a.protocol) | set(b.protocol)):
        va, vb = a.protocol.get(key), b.protocol.get(key)
        if va != vb:
            diff[key] = (va, vb)
    return diff


@dataclass(frozen=True)
class Comparison:
    name: str
    a: float
    b: float
    delta: float  # b - a
    differences: dict  # protocol entries that differ (non-empty only when forced)


def compare(a: MetricResult, b: MetricResult, force: bool = False) -> Comparison:
    """Set two results side by side; ConfigError if their protocols differ and not ``force``."""
    diff = protocol_differences(a, b)
    if diff and not force:
        lines = "; ".join(f"{k}: {va!r} vs {vb!r}" for k, (va, vb) in diff.items())
        raise ConfigError(f"refusing to compare {a.name!r} results made under different protocols ({lines}); "
                          "recompute one under the other's protocol, or pass force=True")
    if diff:
        warnings.warn(f"comparing {a.name!r} across different protocols: {sorted(diff)}", UserWarning, stacklevel=2)
    return Comparison(a.name, a.value, b.value, b.value - a.value, diff)
