"""Camera-move labels, global motion and object trajectories on synthetic videos with known motion."""

import cv2
import numpy as np
import pytest

from kinema.errors import InputError
from kinema.eval import (
    camera_motion_labels, camera_speeds, classify_camera_motion, direction_of, estimate_global_motion,
    object_trajectory, track_points,
)

from video_fixtures import texture  # noqa: E402

H = W = 64
T = 8


CANVAS = texture(H + 60, W + 60)
BIG = texture(128, 128, seed=1)


def content_shift(dx, dy):
    """Content moves (dx, dy) px per frame on screen (y down)."""
    return np.stack([CANVAS[30 - dy * t:30 - dy * t + H, 30 - dx * t:30 - dx * t + W] for t in range(T)])


def similarity(scale=1.0, degrees=0.0):
    """Content scaled by ``scale`` and turned ``degrees`` counter-clockwise (cv2 convention) per frame."""
    m = lambda t: cv2.getRotationMatrix2D((63.5, 63.5), degrees * t, scale ** t)  # noqa: E731
    return np.stack([cv2.warpAffine(BIG, m(t), (128, 128))[32:96, 32:96] for t in range(T)])


def test_still_video_is_static():
    still = content_shift(0, 0)
    assert classify_camera_motion(still) == "static" and camera_motion_labels(still) == ()
    tracks = track_points(still)
    assert tracks.valid.all() and np.abs(tracks.points - tracks.points[0]).max() < 1e-3


def test_content_moving_right_is_a_pan_left_at_one_px_per_frame():
    pan = content_shift(1, 0)
    motion = estimate_global_motion(pan)
    assert motion.params.shape == (T - 1, 4) and motion.matrices.shape == (T - 1, 2, 3)
    np.testing.assert_allclose(motion.params[:, 0], 1.0, atol=0.05)  # tx: content moves right
    np.testing.assert_allclose(motion.params[:, 1], 0.0, atol=0.05)
    np.testing.assert_allclose(motion.params[:, 2], 1.0, atol=1e-3)
    assert camera_speeds(motion)["pan"] == pytest.approx(-1.0 / 64, rel=0.05)
    assert classify_camera_motion(pan) == "pan_left"


@pytest.mark.parametrize("dx,dy,label", [(-1, 0, "pan_right"), (0, 1, "tilt_up"), (0, -1, "tilt_down")])
def test_translation_labels(dx, dy, label):
    assert classify_camera_motion(content_shift(dx, dy)) == label


@pytest.mark.parametrize("scale,degrees,label", [(1.02, 0.0, "zoom_in"), (1 / 1.02, 0.0, "zoom_out"),
                                                 (1.0, 2.0, "roll_cw"), (1.0, -2.0, "roll_ccw")])
def test_zoom_and_roll_labels(scale, degrees, label):
    video = similarity(scale, degrees)
    assert classify_camera_motion(video) == label
    speeds = camera_speeds(estimate_global_motion(video))
    assert speeds["zoom"] == pytest.approx(np.log(scale) / 2, abs=5e-4)
    assert speeds["roll"] == pytest.approx(np.deg2rad(degrees) / 2, abs=1.5e-3)  # LK under-reads rotation a little


def test_compound_move_lists_both_primitives():
    m = lambda t: cv2.getRotationMatrix2D((63.5, 63.5), 0.0, 1.02 ** t)  # noqa: E731
    frames = []
    for t in range(T):
        m_t = m(t)
        m_t[0, 2] += 1.3 * t  # content also slides right: the camera pans left
        frames.append(cv2.warpAffine(BIG, m_t, (128, 128))[32:96, 32:96])
    assert set(camera_motion_labels(np.stack(frames))) == {"zoom_in", "pan_left"}


def _square_video(dx, dy, background=30):
    video = np.full((T, H, W, 3), background, np.uint8)
    for t in range(T):
        x, y = 24 + dx * t, 24 + dy * t
        video[t, y:y + 10, x:x + 10] = (200, 60, 60)
    return video


@pytest.mark.parametrize("dx,dy,word", [(3, 0, "right"), (-3, 0, "left"), (0, 3, "down"), (0, -3, "up"),
                                        (0, 0, "still")])
def test_object_trajectory_follows_a_square(dx, dy, word):
    traj = object_trajectory(_square_video(dx, dy), (24, 24, 34, 34))
    expected = np.array([[28.5 + dx * t, 28.5 + dy * t] for t in range(T)])
    np.testing.assert_allclose(traj, expected, atol=0.2)
    assert direction_of(traj) == word


def test_object_trajectory_from_mask_and_template_fallback():
    video = _square_video(2, 1)
    mask = np.zeros((H, W), bool)
    mask[24:34, 24:34] = True
    np.testing.assert_allclose(object_trajectory(video, mask)[-1], [28.5 + 14, 28.5 + 7], atol=0.2)
    blob = np.full((T, H, W, 3), 30, np.uint8)  # a soft disc has no corners: template matching takes over
    for t in range(T):
        cv2.circle(blob[t], (20 + 2 * t, 30), 6, (220, 220, 220), -1)
        blob[t] = cv2.GaussianBlur(blob[t], (0, 0), 2.0)
    traj = object_trajectory(blob, (14, 24, 27, 37))
    assert direction_of(traj) == "right" and traj[-1, 0] - traj[0, 0] == pytest.approx(14, abs=1)


def test_direction_words_and_errors():
    assert direction_of([[0, 0], [5, 5]], eight_way=True) == "down_right"
    assert direction_of([[0, 0], [-5, -5]], eight_way=True) == "up_left"
    assert direction_of([[0, 0], [1, 0.5]]) == "still"
    with pytest.raises(InputError):
        direction_of([[0, 0]])
    with pytest.raises(InputError, match="does not overlap"):
        object_trajectory(_square_video(1, 0), (100, 100, 120, 120))
