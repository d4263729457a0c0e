"""The noise-process object: its formulas, how samplers find it, the one randn, the sampler registry."""

from __future__ import annotations

import pytest
import torch

from kinema.diffusion import FLOW, PROCESSES, VE, Denoiser, get_parameterization, get_process, process_of, randn
from kinema.errors import ConfigError
from kinema.sampling.samplers import ALIASES, SAMPLER_PROCESSES, SAMPLERS, sampler_help


def test_a_process_is_its_name_and_the_parameterization_carries_it():
    assert VE == "ve" and FLOW == "flow" and list(PROCESSES) == ["ve", "flow"]
    assert get_process("flow") is FLOW and get_process(VE) is VE
    with pytest.raises(ConfigError, match=r"'vp' is not one of \['ve', 'flow'\]"):
        get_process("vp")
    assert get_parameterization("flow").process is FLOW and get_parameterization("edm").process is VE
    assert Denoiser(torch.nn.Identity(), get_parameterization("flow")).process is FLOW
    assert not VE.bounded and FLOW.bounded and FLOW.sigma_max == 1.0


def test_process_formulas():
    s = torch.tensor([0.1, 0.5, 0.9])
    torch.testing.assert_close(FLOW.alpha(s), 1 - s)
    assert VE.alpha(0.3) == 1.0 and FLOW.alpha(0.25) == 0.75  # floats stay floats
    torch.testing.assert_close(FLOW.from_ve_sigma(FLOW.ve_sigma(s)), s)
    assert float(FLOW.from_ve_sigma(torch.tensor(float("inf")))) == 1.0
    x, z = torch.randn(3), torch.randn(3)
    torch.testing.assert_close(VE.renoise(x, torch.tensor(1.0), torch.tensor(2.0), z), x + 3**0.5 * z)
    for p in PROCESSES:  # eta = 0: the deterministic step reaches sigma_next itself
        torch.testing.assert_close(p.ancestral_sigma_down(s, s / 2, 0.0), s / 2)


def test_process_of_reads_the_carrier_and_follows_wrappers():
    class Wrapper:
        def __init__(self, denoise):
            self.denoise = denoise

    den = Denoiser(torch.nn.Identity(), get_parameterization("flow"))
    assert process_of(Wrapper(Wrapper(den))) is FLOW and process_of("ve") is VE
    assert process_of(lambda x, s, c=None: x) is None


def test_randn_is_the_generators_stream():
    ref = torch.randn(2, 3, generator=torch.Generator().manual_seed(4))
    assert torch.equal(randn((2, 3), torch.Generator().manual_seed(4)), ref)
    half = randn((2, 3), torch.Generator().manual_seed(4), dtype=torch.float16)
    assert half.dtype == torch.float16 and half.shape == (2, 3)


class Half(torch.nn.Module):
    def forward(self, x_in, c_noise, cond=None):
        return 0.5 * x_in


def test_aliases_are_their_sampler_under_a_flow_name():
    den = Denoiser(Half(), get_parameterization("flow"))
    sigmas = torch.tensor([1.0, 0.6, 0.2, 0.0])
    x = torch.randn(1, 2, 2, 3, 3, generator=torch.Generator().manual_seed(0))
    for alias, name in ALIASES.items():
        assert SAMPLER_PROCESSES[alias] == ("flow",)
        assert torch.equal(SAMPLERS[alias](den, x, sigmas), SAMPLERS[name](den, x, sigmas))
    assert all(name in sampler_help() for name in SAMPLER_PROCESSES)
