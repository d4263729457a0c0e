"""VBench-I2V's Quality, I2V and Total scores from the nine raw dimension scores.

Arithmetic of Vchitect/VBench ``scripts/cal_i2v_final_score.py`` with the constants of
``scripts/constant.py`` (:mod:`kinema.eval.vbench.constants`):

* each raw score is min-max normalised, ``n_d = (s_d - min_d) / (max_d - min_d)`` (no clipping),
  and multiplied by its weight ``w_d``;
* Quality = ``sum_{d in quality} w_d n_d / sum_{d in quality} w_d`` (six dimensions), I2V likewise
  over camera motion and the two video-image consistencies;
* Total = ``(Quality * 1 + I2V * 1) / (1 + 1)``.

The survey writes the score as a weighted mean over dimensions (Wang et al. 2026, I2V survey Eq. 11,
``(1/M) sum_m w_m s_m``); the reference computes the two weight-normalised group means above and
averages them, which is what kinema reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kinema.errors import ConfigError
from kinema.eval.vbench.constants import (
    DIM_WEIGHT,
    DIMENSIONS,
    I2V_DIMENSIONS,
    I2V_WEIGHT,
    NORMALIZE_RANGE,
    QUALITY_DIMENSIONS,
    QUALITY_WEIGHT,
)


@dataclass(frozen=True)
class VBenchI2VScores:
    quality: float  # weighted mean of the normalised quality dimensions
    i2v: float  # weighted mean of the normalised video-image / video-text dimensions
    total: float  # (quality * QUALITY_WEIGHT + i2v * I2V_WEIGHT) / (QUALITY_WEIGHT + I2V_WEIGHT)
    normalised: dict  # {dimension: (raw - min) / (max - min)}, before weighting


def _complete(raw: Mapping[str, float], fill_missing: bool) -> dict[str, float]:
    unknown = sorted(set(raw) - set(DIMENSIONS))
    if unknown:
        raise ConfigError(f"unknown VBench-I2V dimensions {unknown}; known: {list(DIMENSIONS)}")
    missing = [d for d in DIMENSIONS if d not in raw]
    if missing and not fill_missing:
        raise ConfigError(f"VBench-I2V scores need all nine dimensions; missing {missing} "
                          "(fill_missing=True scores them 0, as cal_i2v_final_score.py does)")
    return {d: float(raw.get(d, 0.0)) for d in DIMENSIONS}


def normalise(raw: Mapping[str, float]) -> dict[str, float]:
    """{dimension: (raw - min) / (max - min)} with VBench's ranges; unknown keys raise ConfigError."""
    out = {}
    for d, value in raw.items():
        if d not in NORMALIZE_RANGE:
            raise ConfigError(f"unknown VBench-I2V dimension {d!r}; known: {list(DIMENSIONS)}")
        lo, hi = NORMALIZE_RANGE[d]
        out[d] = (float(value) - lo) / (hi - lo)
    return out


def group_score(normalised: Mapping[str, float], dims: tuple[str, ...]) -> float:
    """``sum w_d n_d / sum w_d`` over ``dims``."""
    return sum(DIM_WEIGHT[d] * normalised[d] for d in dims) / sum(DIM_WEIGHT[d] for d in dims)


def vbench_i2v_scores(raw: Mapping[str, float], fill_missing: bool = False) -> VBenchI2VScores:
    """Quality, I2V and Total scores from raw dimension scores (VBench's result-file values)."""
    n = normalise(_complete(raw, fill_missing))
    quality = group_score(n, QUALITY_DIMENSIONS)
    i2v = group_score(n, I2V_DIMENSIONS)
    total = (quality * QUALITY_WEIGHT + i2v * I2V_WEIGHT) / (QUALITY_WEIGHT + I2V_WEIGHT)
    return VBenchI2VScores(quality, i2v, total, n)
