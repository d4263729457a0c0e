"""kinema's CoTracker2 wrapper (VBench-I2V camera motion tracker): co-tracker's own code loaded from
the checkout in KINEMA_COTRACKER_SRC (not shipped: CC-BY-NC-4.0). Without it only the error paths
run; with it, a small network built from co-tracker's own classes checks the protocol around it."""

import os

import numpy as np
import pytest
import torch

from kinema.errors import ConfigError, InputError
from kinema.eval.backbones.cotracker import (
    CoTrackerGridTracks,
    cotracker_predictor,
    load_cotracker,
    track,
)

RES = (32, 48)  # model resolution (H, W)
HAS_SRC = bool(os.environ.get("KINEMA_COTRACKER_SRC"))
needs_src = pytest.mark.skipif(not HAS_SRC, reason="KINEMA_COTRACKER_SRC is not set (facebookresearch/co-tracker)")


def shrink(model, latent_dim=32, hidden_size=96, num_heads=2, time_depth=2, space_depth=1, num_virtual_tracks=8):
    """Rebuild a CoTracker2's learned parts at a small size, from co-tracker's own classes."""
    from cotracker.models.core import embeddings
    from cotracker.models.core.cotracker import blocks
    from cotracker.models.core.cotracker.cotracker import EfficientUpdateFormer

    nn = torch.nn
    model.latent_dim, model.input_dim = latent_dim, 2 + 2 * 64 + 4 * 49 + latent_dim + 2
    model.fnet = blocks.BasicEncoder(output_dim=latent_dim)
    model.updateformer = EfficientUpdateFormer(
        space_depth=space_depth, time_depth=time_depth, input_dim=model.input_dim, hidden_size=hidden_size,
        num_heads=num_heads, output_dim=latent_dim + 2, num_virtual_tracks=num_virtual_tracks)
    frames = torch.linspace(0, model.window_len - 1, model.window_len).reshape(model.window_len, 1)
    model.time_emb = embeddings.get_1d_sincos_pos_embed_from_grid(model.input_dim, frames)
    model.pos_emb = embeddings.get_2d_sincos_pos_embed(model.input_dim, (RES[0] // 4, RES[1] // 4))
    model.norm = nn.GroupNorm(1, latent_dim)
    model.track_feat_updater = nn.Sequential(nn.Linear(latent_dim, latent_dim), nn.GELU())
    model.vis_predictor = nn.Sequential(nn.Linear(latent_dim, 1))
    return model.eval()


@pytest.fixture(scope="module")
def predictor():
    if not HAS_SRC:
        pytest.skip("KINEMA_COTRACKER_SRC is not set (facebookresearch/co-tracker)")
    p = cotracker_predictor()
    from cotracker.models.core.cotracker.cotracker import CoTracker2

    torch.manual_seed(0)
    p.model, p.interp_shape = shrink(CoTracker2(window_len=8, stride=4, model_resolution=RES)), RES
    return p


def video(T, H=24, W=40, seed=0):
    return torch.randint(0, 256, (T, H, W, 3), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_missing_checkout_is_one_line_config_error(monkeypatch, tmp_path):
    monkeypatch.delenv("KINEMA_COTRACKER_SRC", raising=False)
    with pytest.raises(ConfigError, match="KINEMA_COTRACKER_SRC") as e:
        cotracker_predictor()
    assert "\n" not in str(e.value) and "CC-BY-NC-4.0" in str(e.value)
    with pytest.raises(ConfigError, match="has no cotracker/predictor.py"):
        cotracker_predictor(tmp_path)


def test_missing_weight_file_is_one_line_error(tmp_path):
    with pytest.raises(InputError) as e:
        load_cotracker(tmp_path / "cotracker2.pth")
    assert "\n" not in str(e.value)


@needs_src
def test_grid_tracks_shape_and_first_frame_is_the_grid(predictor):
    T, H, W = 9, 24, 40
    tracks = CoTrackerGridTracks(predictor)(video(T, H, W).numpy())  # numpy input, as camera_motion passes it
    assert tracks.shape == (T, 100, 2) and tracks.dtype == torch.float32 and torch.isfinite(tracks).all()
    # frame 0 holds the query grid: row-major (x, y), margin w/64 at the model resolution, scaled to H x W
    h, w = RES
    m = w / 64
    xs = (m + (w - 2 * m) * np.arange(10) / 9) * (W - 1) / (w - 1)
    ys = (m + (h - 2 * m) * np.arange(10) / 9) * (H - 1) / (h - 1)
    expected = np.stack(np.meshgrid(xs, ys, indexing="xy"), -1).reshape(100, 2)  # k = 10 row + col
    np.testing.assert_allclose(tracks[0].numpy(), expected, atol=1e-4)


@needs_src
def test_deterministic_and_first_half_window_sees_only_the_first_window(predictor):
    a = video(16, seed=2)
    b = a.clone()
    b[8:] = video(8, seed=3)
    ta, tb = CoTrackerGridTracks(predictor)(a), CoTrackerGridTracks(predictor)(b)
    assert torch.equal(ta, CoTrackerGridTracks(predictor)(a))
    assert torch.equal(ta[:4], tb[:4])
    assert not torch.allclose(ta[8:], tb[8:])


@needs_src
def test_input_errors(predictor):
    tracker = CoTrackerGridTracks(predictor)
    with pytest.raises(InputError, match="more than 4 frames"):
        tracker(video(4))
    with pytest.raises(InputError, match="uint8"):
        tracker(video(8).float())
    with pytest.raises(InputError, match="float videos"):
        track(predictor, video(8), grid_size=10)


@needs_src
def test_load_round_trip_and_wrong_file(tmp_path, predictor):
    path = tmp_path / "cotracker2.pth"
    torch.save(predictor.model.state_dict(), path)
    with pytest.raises(InputError, match="not a CoTracker2 state dict"):
        load_cotracker(path)  # tiny weights into the released architecture


@needs_src
def test_camera_motion_scores_the_trackers_tracks(predictor):
    from kinema.eval.vbench.dimensions.camera import (
        camera_motion,
        classify_camera_motion,
    )

    tracker, v = CoTrackerGridTracks(predictor), video(9, seed=7).numpy()
    predicted = classify_camera_motion(tracker(v), *v.shape[1:3])
    s = camera_motion([v], ["static"], tracks=tracker)
    assert s.details["predicted"] == [list(predicted)] and s.value == float("static" in predicted)
    assert s.protocol["backbone"] == "cotracker2" and "32x48" in s.protocol["preprocessing"]
