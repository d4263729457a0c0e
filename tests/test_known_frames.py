"""Known-frame replacement: known frames come out as given; unknown frames are untouched."""

import numpy as np
import torch

from kinema.sampling.known_frames import KnownFrameReplacement


def test_replacement_formula_per_frame_and_strength():
    known = torch.randn(1, 2, 3, 4, 4)
    mask = torch.tensor([[1.0, 0.0, 0.25]])
    est = torch.randn(1, 2, 3, 4, 4)
    out = KnownFrameReplacement(lambda x, s, c=None: est, known, mask)(torch.zeros_like(est), torch.ones(1))
    assert torch.equal(out[:, :, 0], known[:, :, 0]) and torch.equal(out[:, :, 1], est[:, :, 1])
    assert torch.allclose(out[:, :, 2], 0.25 * known[:, :, 2] + 0.75 * est[:, :, 2])


def test_pipeline_first_and_last_frames_match_the_inputs(tiny_model):
    import kinema

    pipe = kinema.load(tiny_model, device="cpu")
    g = torch.Generator().manual_seed(0)
    first, last = torch.rand(3, 16, 16, generator=g) * 2 - 1, torch.rand(3, 16, 16, generator=g) * 2 - 1
    res = pipe(first, last_frame=last, steps=3, sampler="heun")
    to_u8 = lambda t: ((t.permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()  # noqa: E731
    assert np.abs(res.frames[0].astype(int) - to_u8(first)).max() <= 1
    assert np.abs(res.frames[-1].astype(int) - to_u8(last)).max() <= 1
    off = pipe(first, last_frame=last, steps=3, sampler="heun", replace_known=False)
    assert np.abs(off.frames[0].astype(int) - to_u8(first)).max() > 1  # the 2-step model alone does not copy
