"""Motion distance (kinema-fmd-v1) and the protocol guard on metric results."""

import json

import cv2
import numpy as np
import pytest

from kinema.errors import ConfigError
from kinema.eval import (
    MOTION_FEATURE_DIM, PROTOCOL_KEYS, MetricResult, compare, make_protocol, motion_distance, motion_features,
    motion_stats,
)

H = W = 48
T = 6


def _canvas(seed):
    r = cv2.GaussianBlur(np.random.default_rng(seed).random((H + 80, W + 80, 3)).astype(np.float32), (0, 0), 1.5)
    return ((r - r.min()) / (r.max() - r.min()) * 255).astype(np.uint8)


def _pan(seed, speed):
    c = _canvas(seed)
    return np.stack([c[40:40 + H, 40 - speed * t:40 - speed * t + W] for t in range(T)])


def test_motion_features_separate_slow_and_fast():
    slow, fast = motion_features(_pan(0, 1)), motion_features(_pan(0, 4))
    assert slow.shape == fast.shape == (MOTION_FEATURE_DIM,)
    assert np.all(np.isfinite(slow)) and np.linalg.norm(slow - fast) > 0.5
    # each histogram is normalised: squared Hellinger features sum to 1 per block (3 blocks)
    assert (slow ** 2).sum() == pytest.approx(3.0)


@pytest.mark.filterwarnings("ignore::UserWarning")  # n < dim: fine for this identity check
@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_motion_distance_zero_for_duplicate_and_positive_for_different_sets():
    slow = [_pan(s, 1 + s % 2) for s in range(4)]
    fast = [_pan(s, 4 + s % 2) for s in range(4)]
    assert motion_distance(slow, list(slow)) == pytest.approx(0.0, abs=1e-6)
    assert motion_distance(slow, fast) > 0.1
    with pytest.warns(UserWarning, match="rank-deficient"):
        stats = motion_stats(slow)
    assert stats.meta["metric"] == "kinema-fmd-v1" and stats.n == 4


def _result(**changes):
    proto = make_protocol("warping_error", n_generated=8, frames=16, resolution=(64, 64), fps=8.0, seed=0)
    proto.update(changes)
    return MetricResult("warping_error", 0.01, proto)


def test_protocol_requires_every_key_and_round_trips():
    r = _result()
    assert set(PROTOCOL_KEYS) <= set(r.protocol) and r.protocol["backbone"] == "none"
    assert MetricResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    with pytest.raises(ConfigError, match="protocol lacks"):
        MetricResult("psnr", 30.0, {"metric": "psnr"})


def test_compare_refuses_different_protocols_unless_forced():
    a, b = _result(), MetricResult("warping_error", 0.02, _result().protocol)
    assert compare(a, b).delta == pytest.approx(0.01)
    other = _result(n_generated=16, resolution=[128, 128])
    with pytest.raises(ConfigError, match="n_generated: 8 vs 16; resolution"):
        compare(a, other)
    with pytest.warns(UserWarning, match="different protocols"):
        forced = compare(a, other, force=True)
    assert set(forced.differences) == {"n_generated", "resolution"}
