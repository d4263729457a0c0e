"""Shared fixtures: a tiny trained model file, built once per test session."""

import pytest
import torch

torch.set_num_threads(min(2, torch.get_num_threads()))

SLOW_TIMEOUT_S = 1800  # pyproject's 300 s catches a hang in a fast test; a `slow` test may run for minutes


def pytest_collection_modifyitems(config, items):
    """Give tests marked ``slow`` a longer pytest-timeout unless they name their own."""
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))

TINY_TRAIN = ["data.size=[16,16]", "data.frames=4", "batch_size=2", "conditioner.text_encoder=null:16",
              "log_every=1", "save_every=0", "optim.warmup_steps=2", "model.preset=tiny", "stages.0.steps=2"]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """Path of a 2-step pixel-space tiny U-Net model (16x16, 4 frames, null text encoder)."""
    from kinema.train import Trainer, load_config

    out = tmp_path_factory.mktemp("tiny_model")
    Trainer(load_config("toy", TINY_TRAIN), out, progress=False, log=lambda *_: None).run()
    return out / "model.safetensors"


@pytest.fixture(autouse=True)
def _reset_quiet():
    """``kinema -q`` sets a process-wide flag (kinema.progress); keep it from leaking between tests."""
    from kinema.progress import set_quiet

    yield
    set_quiet(False)
