import pytest

from kinema.errors import ConfigError, InputError
from kinema.video import frames_needed, sample_frame_indices


def test_same_rate_is_identity_and_half_rate_skips():
    assert sample_frame_indices(10, 30, 5) == [0, 1, 2, 3, 4]
    assert sample_frame_indices(10, 30, 5, 30) == [0, 1, 2, 3, 4]
    assert sample_frame_indices(10, 30, 5, 15) == [0, 2, 4, 6, 8]
    assert sample_frame_indices(100, 30, 4, stride=3, start=10) == [10, 13, 16, 19]


def test_non_integer_ratio_takes_latest_shown_frame():
    # 30 -> 24 fps: output k at time k/24 shows source floor(k * 1.25)
    assert sample_frame_indices(30, 30, 6, 24) == [0, 1, 2, 3, 5, 6]
    # upsampling repeats frames
    assert sample_frame_indices(5, 10, 5, 20) == [0, 0, 1, 1, 2]


def test_frames_needed_matches_last_index():
    for fps_out in (7, 12, 24, 30, 60):
        n = frames_needed(9, 30, fps_out)
        assert sample_frame_indices(n, 30, 9, fps_out)[-1] == n - 1
        with pytest.raises(InputError):
            sample_frame_indices(n - 1, 30, 9, fps_out)


def test_clamp_and_errors():
    assert sample_frame_indices(3, 10, 5, clamp=True) == [0, 1, 2, 2, 2]
    with pytest.raises(InputError, match="clamp=True"):
        sample_frame_indices(3, 10, 5)
    with pytest.raises(ConfigError):
        sample_frame_indices(10, 10, 2, 5, stride=2)
    with pytest.raises(ConfigError):
        sample_frame_indices(10, 10, 2, stride=0)
    with pytest.raises(InputError):
        sample_frame_indices(10, 10, 2, start=10)
