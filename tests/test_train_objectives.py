"""Training objectives and the EMA that follows a stage's tensors (tiny, CPU)."""

import torch
from torch import nn

from kinema.train.ema import EMA
from kinema.train.objectives import OBJECTIVES


def test_every_stage_target_has_an_objective():
    from kinema.train.config import TARGETS

    assert set(OBJECTIVES) == set(TARGETS) and all(OBJECTIVES[t].target == t for t in TARGETS)
    assert [t for t in TARGETS if OBJECTIVES[t].keeps_ema] == ["denoiser"]


def test_a_bound_ema_equals_one_updated_from_state_dicts():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    bound, pulled = EMA(model, 0.9), EMA(model, 0.9)
    bound.bind(model)
    for step in range(1, 5):
        with torch.no_grad():
            model[0].weight.add_(torch.randn(4, 3))  # an optimiser updates the tensors in place
        bound.update(step=step)
        pulled.update(model.state_dict(), step)
    assert all(torch.equal(bound.state_dict()[k], v) for k, v in pulled.state_dict().items())
    bound.unbind()
    assert bound.state_dict().keys() == model.state_dict().keys()
