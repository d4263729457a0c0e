"""kinema's CoTracker2 against facebookresearch/co-tracker (the code VBench's torch.hub entry
"cotracker2" runs): same random weights, same videos, equal tracks.

co-tracker has no PyPI package; point KINEMA_COTRACKER_SRC at a checkout (the directory holding the
``cotracker`` package), e.g. the repository at commit 82e02e8:

    git clone https://github.com/facebookresearch/co-tracker /tmp/co-tracker
    KINEMA_COTRACKER_SRC=/tmp/co-tracker OMP_NUM_THREADS=1 .venv-ref/bin/python -m pytest \
        tests/reference/test_ref_cotracker.py -q

The fast tests shrink the reference network by swapping in smaller instances of its own modules
(its ``BasicEncoder`` and ``EfficientUpdateFormer``); the full-size network's test (~25 s of CPU) is marked slow.
"""

import os
import sys

import pytest
import torch

SRC = os.environ.get("KINEMA_COTRACKER_SRC")
if not SRC:
    pytest.skip("KINEMA_COTRACKER_SRC is not set (path of a facebookresearch/co-tracker checkout)",
                allow_module_level=True)
sys.path.insert(0, SRC)
ref_cotracker = pytest.importorskip("cotracker.models.core.cotracker.cotracker")
ref_blocks = pytest.importorskip("cotracker.models.core.cotracker.blocks")
ref_emb = pytest.importorskip("cotracker.models.core.embeddings")
ref_predictor = pytest.importorskip("cotracker.predictor")

from kinema.eval.backbones.cotracker import CoTrackerGridTracks, load_strict, track
from kinema.eval.backbones.cotracker_config import CoTracker2Config
from kinema.eval.backbones.cotracker_model import CoTracker2

RES = (64, 96)  # model resolution (H, W) for the tests; the released model uses (384, 512)
TINY = {"latent_dim": 32, "hidden_size": 96, "num_heads": 2, "time_depth": 2, "space_depth": 1, "num_virtual_tracks": 8}


def shrink(ref, latent_dim, hidden_size, num_heads, time_depth, space_depth, num_virtual_tracks):
    """Rebuild the reference CoTracker2's learned parts at a small size, from its own classes."""
    nn = torch.nn
    ref.latent_dim = latent_dim
    ref.input_dim = 2 + 2 * 64 + 4 * 49 + latent_dim + 2
    ref.fnet = ref_blocks.BasicEncoder(output_dim=latent_dim)
    ref.updateformer = ref_cotracker.EfficientUpdateFormer(
        space_depth=space_depth, time_depth=time_depth, input_dim=ref.input_dim, hidden_size=hidden_size,
        num_heads=num_heads, output_dim=latent_dim + 2, num_virtual_tracks=num_virtual_tracks)
    ref.time_emb = ref_emb.get_1d_sincos_pos_embed_from_grid(
        ref.input_dim, torch.linspace(0, ref.window_len - 1, ref.window_len).reshape(ref.window_len, 1))
    ref.pos_emb = ref_emb.get_2d_sincos_pos_embed(ref.input_dim, (RES[0] // 4, RES[1] // 4))
    ref.norm = nn.GroupNorm(1, latent_dim)
    ref.track_feat_updater = nn.Sequential(nn.Linear(latent_dim, latent_dim), nn.GELU())
    ref.vis_predictor = nn.Sequential(nn.Linear(latent_dim, 1))
    return ref


def predictor(model):
    """The reference CoTrackerPredictor around a given model (its constructor builds the full one)."""
    p = ref_predictor.CoTrackerPredictor.__new__(ref_predictor.CoTrackerPredictor)
    torch.nn.Module.__init__(p)
    p.v2, p.support_grid_size, p.model, p.interp_shape = True, 6, model.eval(), model.model_resolution
    return p


def pair(seed=0, **sizes):
    torch.manual_seed(seed)
    ref = ref_cotracker.CoTracker2(stride=4, window_len=8, model_resolution=RES)
    if sizes:
        ref = shrink(ref, **sizes)
    ref.eval()
    mine = CoTracker2(CoTracker2Config(model_resolution=RES, **sizes)).eval()
    load_strict(mine, ref.state_dict(), source="reference CoTracker2")
    return predictor(ref), mine


def video(T, H, W, seed):
    return torch.randint(0, 256, (T, H, W, 3), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_state_dict_layout_and_buffers_equal_released_model():
    torch.manual_seed(0)
    ref = ref_cotracker.CoTracker2(stride=4, window_len=8)  # the hub's "cotracker2" network, (384, 512)
    mine = CoTracker2()
    r, m = ref.state_dict(), mine.state_dict()
    assert list(r) == list(m)
    assert all(r[k].shape == m[k].shape for k in r)
    assert torch.equal(r["time_emb"], m["time_emb"]) and torch.equal(r["pos_emb"], m["pos_emb"])


# (T, H, W): 3 windows with no padding; 2 windows + padding, non-square; one window cut short;
# 5 windows + padding, portrait
@pytest.mark.parametrize("T,H,W", [(16, 64, 64), (11, 48, 80), (6, 40, 40), (21, 70, 50)])
def test_grid_tracks_equal_vbench_predictor(T, H, W):
    ref, mine = pair(**TINY)
    v = video(T, H, W, seed=T)
    expected, _ = ref(v.permute(0, 3, 1, 2)[None].float(), grid_size=10)  # as VBench's CameraPredict.infer
    got = CoTrackerGridTracks(mine)(v)
    assert got.shape == (T, 100, 2)
    torch.testing.assert_close(got, expected[0], rtol=0, atol=1e-3)


def test_queries_on_later_frames_equal_reference():
    """Queries after frame 0 exercise the attention and track masks, the copy-over between windows
    and the 6x6 support grid."""
    ref, mine = pair(seed=1, **TINY)
    T = 17
    x = video(T, 56, 72, seed=3).permute(0, 3, 1, 2)[None].float()
    q = torch.tensor([[[0, 3.0, 5.0], [2, 20.5, 10.0], [9, 30.0, 30.0], [T - 1, 70.0, 1.0], [5, 1.0, 55.0]]])
    expected, expected_vis = ref(x, queries=q.clone())
    got, vis = track(mine, x, queries=q.clone())
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-3)
    assert torch.equal(vis, expected_vis)


def test_batch_of_two_videos_equals_reference():
    ref, mine = pair(seed=2, **TINY)
    x = torch.stack([video(9, 48, 48, seed=s) for s in (4, 5)]).permute(0, 1, 4, 2, 3).float()
    expected, expected_vis = ref(x, grid_size=4)
    got, vis = track(mine, x, grid_size=4)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-3)
    assert torch.equal(vis, expected_vis)


@pytest.mark.slow
def test_full_size_network_equals_reference():
    """The released architecture (hidden 384, 6 + 6 layers, 64 virtual tracks) at a small resolution."""
    ref, mine = pair(seed=3)
    v = video(9, 48, 64, seed=6)
    expected, _ = ref(v.permute(0, 3, 1, 2)[None].float(), grid_size=10)
    torch.testing.assert_close(CoTrackerGridTracks(mine)(v), expected[0], rtol=0, atol=1e-3)
