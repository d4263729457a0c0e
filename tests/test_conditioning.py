"""Conditions as data: task masks, the Eq. 12 concat route, dropout for CFG, sampling batches."""

import pytest
import torch

from kinema.conditioning import ConditionBatch, Conditioner, ConditionerConfig, Conditions, KnownFrame, TaskMix
from kinema.conditioning.tasks import sample_tasks, task_mask
from kinema.errors import ConfigError


class FakeText:
    """A deterministic stand-in text encoder: token = hash-seeded vector (tests only)."""

    dim, max_length = 8, 4

    def encode(self, prompts):
        toks = torch.stack([torch.full((4, 8), float(len(p))) for p in prompts])
        return toks, torch.ones(len(prompts), 4, dtype=torch.bool)


def test_task_masks():
    assert task_mask("first", 5).tolist() == [1, 0, 0, 0, 0]
    assert task_mask("first_last", 5).tolist() == [1, 0, 0, 0, 1]
    assert task_mask("prefix", 5, 3).tolist() == [1, 1, 1, 0, 0]
    assert task_mask("none", 3).tolist() == [0, 0, 0]
    with pytest.raises(ConfigError, match="not one of"):
        task_mask("middle", 3)


def test_task_mix_frequencies_follow_weights():
    g = torch.Generator().manual_seed(0)
    modes, _ = sample_tasks(4000, 8, TaskMix(first=3, first_last=1, loop=0, prefix=0, none=0), g)
    frac = modes.count("first") / len(modes)
    assert 0.72 < frac < 0.78 and "loop" not in modes


def test_concat_route_is_mask_times_latent_then_mask():
    z = torch.randn(2, 4, 3, 5, 5)
    mask = torch.tensor([[1.0, 0, 0.5], [0, 0, 0]])
    c = Conditioner.concat(z, mask)
    assert c.shape == (2, 5, 3, 5, 5)
    assert torch.equal(c[0, :4, 0], z[0, :, 0]) and torch.all(c[0, :4, 1] == 0)
    assert torch.allclose(c[0, :4, 2], 0.5 * z[0, :, 2]) and torch.all(c[0, 4, 2] == 0.5)
    assert torch.all(c[1] == 0)


def test_nearest_known_gives_every_frame_its_closest_known_latent():
    from kinema.conditioning.conditioner import nearest_known

    z = torch.randn(3, 4, 5, 2, 2)
    mask = torch.tensor([[1.0, 0, 0, 0, 0], [1.0, 0, 0, 0, 0.5], [0, 0, 0, 0, 0]])
    ref = nearest_known(z, mask)
    assert all(torch.equal(ref[0, :, t], z[0, :, 0]) for t in range(5))  # image-to-video: the image everywhere
    for t, (src, s) in enumerate([(0, 1), (0, 1), (0, 1), (4, 0.5), (4, 0.5)]):  # transition, tie -> earlier
        assert torch.allclose(ref[1, :, t], s * z[1, :, src])
    assert torch.all(ref[2] == 0)  # text-to-video: nothing known, nothing leaks


def test_reference_route_widens_the_concat_and_drops_with_the_image():
    cfg = ConditionerConfig(reference="nearest", drop_image=0.0, noise_aug_prob=0.0,
                            task_mix=TaskMix(first=1, first_last=0, loop=0, prefix=0, none=0))
    cond = Conditioner(cfg, FakeText())
    assert cond.concat_channels(4) == 9 and Conditioner(ConditionerConfig(), FakeText()).concat_channels(4) == 5
    z = torch.randn(2, 4, 6, 2, 2)
    batch, _ = cond.training_batch(z, ["a", "b"], torch.full((2,), 8.0), None, torch.Generator())
    assert batch.concat.shape == (2, 9, 6, 2, 2)
    assert torch.equal(batch.concat[:, 5:, -1], z[:, :, 0])  # the last frame sees the first frame's latent
    assert torch.all(batch.drop_image().concat == 0)
    with pytest.raises(ConfigError, match="reference"):
        ConditionerConfig(reference="first")


def test_training_batch_shapes_loops_and_dropout():
    cfg = ConditionerConfig(drop_image=1.0, drop_text=0.0, noise_aug_prob=0.0,
                            task_mix=TaskMix(first=0, first_last=0, loop=1, prefix=0, none=0))
    cond, mask = Conditioner(cfg, FakeText()).training_batch(
        torch.randn(3, 4, 6, 2, 2), ["a", "bb", "ccc"], torch.full((3,), 8.0), torch.rand(3), torch.Generator())
    assert mask.shape == (3, 6) and torch.all(mask[:, 0] == 1) and torch.all(mask[:, -1] == 1)
    assert torch.all(cond.concat == 0)  # every image dropped
    assert cond.tokens.shape == (3, 4, 8) and cond.vector.shape == (3, 3)

    cfg2 = ConditionerConfig(drop_image=0.0, noise_aug_prob=0.0, task_mix=cfg.task_mix)
    z = torch.randn(2, 4, 6, 2, 2)
    cond2, _ = Conditioner(cfg2, FakeText()).training_batch(z, ["a", "b"], torch.full((2,), 8.0), None,
                                                           torch.Generator())
    assert torch.equal(cond2.concat[:, :4, -1], z[:, :, 0])  # the loop ends on its first frame


def test_sampling_batch_places_frames_by_index_and_strength():
    cond = Conditioner(ConditionerConfig(), FakeText()).sampling_batch(
        Conditions(frames=[KnownFrame(0, torch.zeros(3, 4, 4)), KnownFrame(-1, torch.zeros(3, 4, 4), 0.5)],
                   prompt="hi", fps=12, motion=0.2),
        num_frames=5, known_latents=[torch.ones(4, 2, 2), 2 * torch.ones(4, 2, 2)], latent_shape=(4, 2, 2))
    assert cond.concat[0, 4, :, 0, 0].tolist() == [1, 0, 0, 0, 0.5]
    assert torch.all(cond.concat[0, :4, 4] == 1.0)  # 0.5 strength * latent 2
    assert cond.vector[0].tolist() == pytest.approx([1.2, 3.0, 0.0])


def test_batch_cat_and_drops():
    a = ConditionBatch(concat=torch.ones(1, 2, 1, 1, 1), tokens=torch.ones(1, 2, 3), vector=torch.ones(1, 3))
    b = ConditionBatch.cat([a, a.drop_text(), a.drop_image()])
    assert b.batch_size == 3
    assert b.tokens[1].abs().sum() == 0 and b.concat[2].abs().sum() == 0 and b.concat[1].abs().sum() > 0
    partial = a.repeat(2).drop_vector(torch.tensor([True, False]))
    assert partial.vector[0].sum() == 0 and partial.vector[1].sum() == 3


def test_condition_spec_validation():
    with pytest.raises(ConfigError, match="strength"):
        KnownFrame(0, torch.zeros(3, 2, 2), strength=1.5)
    with pytest.raises(ConfigError, match="outside a 4-frame video"):
        Conditions(frames=[KnownFrame(7, torch.zeros(3, 2, 2))]).resolved_indices(4)
