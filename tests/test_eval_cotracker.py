"""kinema's CoTracker2 (VBench-I2V camera motion tracker) on tiny configs: grid layout, sliding-window
logic, determinism, weight loading. Agreement with facebookresearch/co-tracker is in
tests/reference/test_ref_cotracker.py."""

import numpy as np
import pytest
import torch

from kinema.errors import ConfigError, InputError
from kinema.eval.backbones.cotracker import CoTrackerGridTracks, load_cotracker, track
from kinema.eval.backbones.cotracker_config import COTRACKER2, CoTracker2Config
from kinema.eval.backbones.cotracker_model import CoTracker2, window_masks
from kinema.eval.backbones.cotracker_sampling import points_on_a_grid

RES = (32, 48)  # model resolution (H, W)
TINY = CoTracker2Config(latent_dim=16, hidden_size=32, num_heads=2, time_depth=2, space_depth=1,
                        num_virtual_tracks=4, model_resolution=RES)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return CoTracker2(TINY).eval()


def video(T, H=24, W=40, seed=0):
    return torch.randint(0, 256, (T, H, W, 3), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_released_config_sizes():
    m = CoTracker2()
    assert COTRACKER2.input_dim == 456 and m.pos_emb.shape == (1, 456, 96, 128) and m.time_emb.shape == (1, 8, 456)
    assert sum(v.numel() for v in m.state_dict().values()) == 51_065_763  # as facebookresearch's CoTracker2
    assert m.updateformer.virual_tracks.shape == (1, 64, 1, 384)


def test_grid_tracks_shape_and_first_frame_is_the_grid(model):
    T, H, W = 9, 24, 40
    tracks = CoTrackerGridTracks(model)(video(T, H, W).numpy())  # numpy input, as camera_motion passes it
    assert tracks.shape == (T, 100, 2) and tracks.dtype == torch.float32 and torch.isfinite(tracks).all()
    # frame 0 holds the query grid: row-major (x, y), margin w/64 at the model resolution, scaled to H x W
    h, w = RES
    m = w / 64
    xs = (m + (w - 2 * m) * np.arange(10) / 9) * (W - 1) / (w - 1)
    ys = (m + (h - 2 * m) * np.arange(10) / 9) * (H - 1) / (h - 1)
    expected = np.stack(np.meshgrid(xs, ys, indexing="xy"), -1).reshape(100, 2)  # k = 10 row + col
    np.testing.assert_allclose(tracks[0].numpy(), expected, atol=1e-4)


def test_points_on_a_grid_is_row_major_xy():
    g = points_on_a_grid(3, (20, 64))[0]  # margin 1
    assert torch.allclose(g[:3, 1], torch.full((3,), 1.0)) and torch.allclose(g[:3, 0], torch.tensor([1.0, 32, 63]))
    assert torch.allclose(g[::3, 1], torch.tensor([1.0, 10, 19]))
    assert torch.equal(points_on_a_grid(1, (20, 64)), torch.tensor([[[32.0, 10.0]]]))


def test_deterministic(model):
    v = video(10, seed=1)
    assert torch.equal(CoTrackerGridTracks(model)(v), CoTrackerGridTracks(model)(v))


def test_first_half_window_sees_only_the_first_window(model):
    """Frames [0, S/2) are estimated by window 0 alone, which reads frames [0, S) only."""
    a = video(16, seed=2)
    b = a.clone()
    b[8:] = video(8, seed=3)
    ta, tb = CoTrackerGridTracks(model)(a), CoTrackerGridTracks(model)(b)
    assert torch.equal(ta[:4], tb[:4])
    assert not torch.allclose(ta[8:], tb[8:])


def test_short_video_is_padded_with_its_last_frame(model):
    """T = 6 runs one window over the video padded with two copies of frame 5."""
    v = video(6, seed=4)
    padded = torch.cat([v, v[-1:], v[-1:]])
    torch.testing.assert_close(CoTrackerGridTracks(model)(v), CoTrackerGridTracks(model)(padded)[:6], rtol=0,
                               atol=1e-5)


def test_window_masks_known_answer():
    q = torch.tensor([[0, 5, 11]])
    track_mask, attention = window_masks(q, 4, 8)  # window of frames 4..11
    expected = torch.zeros(8, 3, dtype=torch.bool)
    expected[4:, 0] = expected[4:, 1] = True  # frames 8..11: after the overlap, queried by then
    expected[7, 2] = True  # frame 11 only
    assert torch.equal(track_mask[0, :, :, 0], expected) and attention.all()
    _, attention0 = window_masks(q, 0, 8)  # frames 0..7: the frame-11 query is not in it yet
    assert torch.equal(attention0[0], torch.tensor([[True, True, False]]).repeat(8, 1))


def test_query_points_are_returned_on_their_frames(model):
    x = video(13, seed=5).permute(0, 3, 1, 2)[None].float()
    q = torch.tensor([[[0, 3.0, 4.0], [7, 20.5, 10.25], [12, 39.0, 23.0]]])
    tracks, visible = track(model, x, queries=q)
    assert tracks.shape == (1, 13, 3, 2) and visible.shape == (1, 13, 3) and visible.dtype == torch.bool
    for i, (t, px, py) in enumerate(q[0].tolist()):
        torch.testing.assert_close(tracks[0, int(t), i], torch.tensor([px, py]), rtol=0, atol=1e-4)
        assert visible[0, int(t), i]


def test_input_errors(model):
    tracker = CoTrackerGridTracks(model)
    with pytest.raises(InputError, match="more than 4 frames"):
        tracker(video(4))
    with pytest.raises(InputError, match="uint8"):
        tracker(video(8).float())
    with pytest.raises(InputError, match="either queries or grid_size"):
        track(model, video(8).permute(0, 3, 1, 2)[None].float())


@pytest.mark.parametrize("bad", [{"window_len": 7}, {"hidden_size": 30, "num_heads": 4},
                                 {"time_depth": 3, "space_depth": 2}, {"corr_levels": 3},
                                 {"model_resolution": (32, 48), "stride": 16}])
def test_config_errors(bad):
    with pytest.raises(ConfigError):
        CoTracker2Config(**bad)


def test_missing_weight_file_is_one_line_error(tmp_path):
    with pytest.raises(InputError) as e:
        load_cotracker(tmp_path / "cotracker2.pth")
    assert "\n" not in str(e.value)


def test_load_round_trip_and_wrong_file(tmp_path, model):
    path = tmp_path / "cotracker2.pth"
    torch.save(model.state_dict(), path)
    loaded = load_cotracker(path, config=TINY)
    v = video(9, seed=6)
    assert torch.equal(CoTrackerGridTracks(loaded)(v), CoTrackerGridTracks(model)(v))
    with pytest.raises(InputError, match="not a CoTracker2 state dict"):
        load_cotracker(path)  # tiny weights into the released architecture
    torch.save({k: v for k, v in model.state_dict().items() if k != "norm.weight"}, path)
    with pytest.raises(InputError, match="norm.weight"):
        load_cotracker(path, config=TINY)


def test_camera_motion_scores_the_trackers_tracks(model):
    from kinema.eval.vbench.dimensions.camera import (
        camera_motion,
        classify_camera_motion,
    )

    tracker, v = CoTrackerGridTracks(model), video(9, seed=7).numpy()
    predicted = classify_camera_motion(tracker(v), *v.shape[1:3])
    s = camera_motion([v], ["static"], tracks=tracker)
    assert s.details["predicted"] == [list(predicted)] and s.value == float("static" in predicted)
    assert s.protocol["backbone"] == "cotracker2" and "32x48" in s.protocol["preprocessing"]
