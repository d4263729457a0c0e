"""kinema's CoTracker2 camera-motion tracks equal what VBench's torch.hub entry "cotracker2" returns.

kinema runs facebookresearch/co-tracker's own code (CC-BY-NC-4.0, not shipped) from the checkout in
KINEMA_COTRACKER_SRC (the directory holding the ``cotracker`` package), e.g. the repository at commit
82e02e8:

    git clone https://github.com/facebookresearch/co-tracker /tmp/co-tracker
    KINEMA_COTRACKER_SRC=/tmp/co-tracker OMP_NUM_THREADS=1 .venv-ref/bin/python -m pytest \\
        tests/reference/test_ref_cotracker.py -q

So what is checked is kinema's side: the weight file loaded into the hub's predictor, the uint8 video
handed over as VBench's ``CameraPredict.infer`` does, the tracks given back unchanged. The fast test
shrinks the network with co-tracker's own classes; the full-size one (~25 s of CPU) is marked slow.
"""

import os
import sys

import pytest
import torch

if not os.environ.get("KINEMA_COTRACKER_SRC"):
    pytest.skip("KINEMA_COTRACKER_SRC is not set (path of a facebookresearch/co-tracker checkout)",
                allow_module_level=True)

from test_eval_cotracker import RES, shrink  # tests/ is on sys.path (its conftest.py)

from kinema.eval.backbones.cotracker import CoTrackerGridTracks, load_cotracker

sys.path.insert(0, os.environ["KINEMA_COTRACKER_SRC"])
hub = pytest.importorskip("cotracker.predictor")
ref_cotracker = pytest.importorskip("cotracker.models.core.cotracker.cotracker")


def hub_predictor(model):
    """What ``torch.hub.load("facebookresearch/co-tracker", "cotracker2")`` builds, around ``model``."""
    p = hub.CoTrackerPredictor(checkpoint=None, window_len=8, v2=True)
    p.model, p.interp_shape = model.eval(), model.model_resolution
    return p


def video(T, H, W, seed):
    return torch.randint(0, 256, (T, H, W, 3), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


@pytest.mark.parametrize("T,H,W", [(16, 64, 64), (11, 48, 80), (6, 40, 40)])
def test_grid_tracks_equal_vbench_predictor(T, H, W):
    torch.manual_seed(0)
    ref = hub_predictor(shrink(ref_cotracker.CoTracker2(stride=4, window_len=8, model_resolution=RES)))
    v = video(T, H, W, seed=T)
    expected, _ = ref(v.permute(0, 3, 1, 2)[None].float(), grid_size=10)  # as VBench's CameraPredict.infer
    assert torch.equal(CoTrackerGridTracks(ref)(v), expected[0])


@pytest.mark.slow
def test_released_file_loads_into_the_hub_network(tmp_path):
    torch.manual_seed(3)
    ref = hub_predictor(ref_cotracker.CoTracker2(stride=4, window_len=8))
    path = tmp_path / "cotracker2.pth"
    torch.save({"model": ref.model.state_dict()}, path)  # the released file's wrapper entry
    mine = load_cotracker(path)
    assert all(torch.equal(mine.model.state_dict()[k], v) for k, v in ref.model.state_dict().items())
    v = video(9, 48, 64, seed=6)
    expected, _ = ref(v.permute(0, 3, 1, 2)[None].float(), grid_size=10)
    assert torch.equal(CoTrackerGridTracks(mine)(v), expected[0])
