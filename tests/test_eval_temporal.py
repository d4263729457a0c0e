"""Temporal metrics on synthetic videos with known answers (still, constant pan, jitter, tint)."""

import numpy as np
import pytest

from kinema.errors import InputError
from kinema.eval import (
    colour_drift, colour_drift_curve, dynamic_degree, first_frame_fidelity, flicker_frames, flicker_score,
    motion_smoothness, temporal_flicker, warping_error,
)

from video_fixtures import texture  # noqa: E402

H = W = 64
T = 8


CANVAS = texture(H + 60, W + 60)


def shifted(offsets):
    """Frames whose content sits ``offsets[t]`` px to the right of frame 0's (no wrap-around)."""
    return np.stack([CANVAS[30:30 + H, 30 - o:30 - o + W] for o in offsets])


def test_still_video():
    still = shifted([0] * T)
    assert temporal_flicker(still) == 0.0 and flicker_score(still) == 1.0
    assert warping_error(still) == pytest.approx(0.0, abs=1e-9)
    assert motion_smoothness(still) == pytest.approx(1.0)
    dd = dynamic_degree(still)
    assert not dd.dynamic and dd.threshold == pytest.approx(6.0 * 64 / 256) and dd.count_needed == 2


def test_flicker_matches_hand_computation():
    a, b = np.full((H, W, 3), 10, np.uint8), np.full((H, W, 3), 50, np.uint8)
    video = np.stack([a, b, a, a])
    np.testing.assert_allclose(flicker_frames(video), [40.0, 40.0, 0.0])
    assert flicker_score(video) == pytest.approx(1 - (80 / 3) / 255)


def test_pan_is_warped_away_and_smooth():
    pan = shifted(range(T))
    assert temporal_flicker(pan) > 5.0  # pixels change ...
    assert warping_error(pan) < 1e-3  # ... but the flow explains them
    jitter = shifted([0, 3, 1, 4, 0, 3, 1, 4])
    assert motion_smoothness(pan) > 0.995 > motion_smoothness(jitter)


def test_dynamic_degree_fires_on_fast_motion():
    fast = shifted([4 * t for t in range(T)])  # 4 px/frame > 1.5 px threshold at 64x64
    dd = dynamic_degree(fast)
    assert dd.dynamic and np.all(dd.magnitudes > dd.threshold)
    assert np.median(dd.magnitudes) == pytest.approx(4.0, rel=0.15)


def test_colour_drift_grows_with_tint():
    base = shifted([0] * T)
    tint = [np.clip(f.astype(int) + [6 * t, 0, -6 * t], 0, 255) for t, f in enumerate(base)]  # redder, less blue
    tinted = np.stack(tint).astype(np.uint8)
    curve = colour_drift_curve(tinted)
    assert curve[0] == 0.0 and np.all(np.diff(curve) > 0)
    assert colour_drift(base) == 0.0 < colour_drift(tinted)
    assert colour_drift(tinted, "rgb") == pytest.approx(np.mean([6 * t * np.sqrt(2) for t in range(1, T)]), rel=0.05)


def test_first_frame_fidelity():
    video = shifted(range(T))
    same = first_frame_fidelity(video, video[0])
    assert np.isinf(same["psnr"]) and same["ssim"] == pytest.approx(1.0)
    other = first_frame_fidelity(video, video[3])
    assert other["ssim"] < 0.9 and other["psnr"] < 30
    with pytest.raises(InputError, match="resize"):
        first_frame_fidelity(video, video[0, :32])
    with pytest.raises(InputError, match="at least 3 frames"):
        motion_smoothness(video[:2])
