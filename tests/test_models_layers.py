"""Shared backbone layers against their formulas and against diffusers where it has the same function."""

import math

import pytest
import torch

from kinema.models.layers import (Attention, PatchEmbed3D, TemporalAttention, TemporalConv, VectorEmbedder,
                                  apply_rope, block_causal_mask, grid_positions, modulate, rope_angles,
                                  rope_axes_dims, sinusoidal_embedding, unpatchify)


def randn(*shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def test_sinusoidal_embedding_matches_diffusers():
    from diffusers.models.embeddings import get_timestep_embedding

    t = torch.tensor([0.0, 1.5, 17.0, 999.0])
    ours = sinusoidal_embedding(t, 64)
    ref = get_timestep_embedding(t, 64, flip_sin_to_cos=True, downscale_freq_shift=0)
    torch.testing.assert_close(ours, ref)
    assert sinusoidal_embedding(t.half(), 64).dtype == torch.float32


def test_rope_scores_depend_on_relative_position_only():
    axes = rope_axes_dims(24)
    assert sum(axes) == 24 and all(a % 2 == 0 for a in axes)
    q, k = randn(1, 2, 5, 24, seed=1), randn(1, 2, 5, 24, seed=2)
    pos = torch.tensor([[0, 0, 0], [1, 2, 3], [2, 0, 1], [3, 3, 3], [0, 4, 2]])

    def scores(p):
        ang = rope_angles(p, axes)
        return apply_rope(q, ang) @ apply_rope(k, ang).transpose(-1, -2)

    torch.testing.assert_close(scores(pos), scores(pos + torch.tensor([5, -2, 7])), atol=1e-4, rtol=1e-4)
    moved = pos.clone()
    moved[1] += torch.tensor([1, 0, 0])  # one token moves relative to the others
    assert (scores(moved) - scores(pos)).abs().max() > 1e-3
    torch.testing.assert_close(apply_rope(q, rope_angles(pos, axes)).norm(dim=-1), q.norm(dim=-1))  # a rotation


def test_rope_angles_follow_roformer_frequencies():
    ang = rope_angles(torch.tensor([[3.0]]), (8,), theta=100.0)
    expected = 3.0 * 100.0 ** (-torch.arange(0, 8, 2) / 8)
    torch.testing.assert_close(ang[0], expected)


def test_attention_equals_eq13_with_key_mask():
    attn = Attention(16, num_heads=2, context_dim=8)
    x, ctx = randn(2, 5, 16, seed=3), randn(2, 4, 8, seed=4)
    key_mask = torch.tensor([[True, True, False, True], [True, False, False, False]])
    out = attn(x, ctx, key_mask=key_mask)
    q = attn.to_q(x).view(2, 5, 2, 8).transpose(1, 2)
    k = attn.to_k(ctx).view(2, 4, 2, 8).transpose(1, 2)
    v = attn.to_v(ctx).view(2, 4, 2, 8).transpose(1, 2)
    logits = (q @ k.transpose(-1, -2)) / math.sqrt(8)
    logits = logits.masked_fill(~key_mask[:, None, None, :], float("-inf"))
    ref = attn.to_out((logits.softmax(-1) @ v).transpose(1, 2).reshape(2, 5, 16))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_attention_with_no_real_key_outputs_zero():
    attn = Attention(16, num_heads=2, context_dim=8)
    out = attn(randn(2, 5, 16), randn(2, 4, 8), key_mask=torch.tensor([[True] * 4, [False] * 4]))
    assert out[1].abs().max() == 0 and out[0].abs().max() > 0


def test_causal_attention_and_block_causal_mask():
    attn = Attention(8, num_heads=2)
    x = randn(1, 6, 8, seed=5)
    causal = attn(x, causal=True)
    torch.testing.assert_close(causal, attn(x, mask=torch.ones(6, 6, dtype=torch.bool).tril()), atol=1e-6, rtol=0)
    x2 = x.clone()
    x2[:, 4] += 1.0
    assert (attn(x2, causal=True)[:, :4] - causal[:, :4]).abs().max() == 0
    mask = block_causal_mask(3, 2)
    expected = torch.tensor([[1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0],
                             [1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(mask, expected)


def test_patch_embed_is_a_linear_map_of_each_patch_and_unpatchify_inverts_the_layout():
    embed = PatchEmbed3D(3, 5, (2, 2, 2), zero_from=2)
    assert embed.proj.weight[:, 2:].abs().max() == 0
    x = randn(1, 3, 4, 6, 4, seed=6)
    tokens = embed(x)  # (1, 2, 3*2, 5)
    assert tokens.shape == (1, 2, 6, 5)
    patch = x[0, :, 2:4, 2:4, 0:2]  # frame-patch 1, row 1, column 0 -> token index 1*2 + 0
    torch.testing.assert_close(tokens[0, 1, 2], embed.proj.weight.flatten(1) @ patch.flatten() + embed.proj.bias)
    video = randn(2, 3, 4, 6, 4, seed=7)
    as_tokens = video.reshape(2, 3, 2, 2, 3, 2, 2, 2).permute(0, 2, 4, 6, 3, 5, 7, 1).reshape(2, 2, 6, 24)
    torch.testing.assert_close(unpatchify(as_tokens, (2, 2, 2), (2, 3, 2)), video)


def test_modulate_is_adaln():
    x, shift, scale = randn(2, 3, 4, 8), randn(2, 8, seed=1), randn(2, 8, seed=2)
    torch.testing.assert_close(modulate(x, shift, scale), x * (1 + scale[:, None, None]) + shift[:, None, None])


@pytest.mark.parametrize("layer", [TemporalConv(16), TemporalAttention(16, num_heads=2)])
def test_temporal_layers_start_as_identity_then_mix_frames_only_along_time(layer):
    x = randn(2 * 3, 16, 4, 4, seed=8)  # (B*T, C, H, W)
    torch.testing.assert_close(layer(x, num_frames=3), x, atol=0, rtol=0)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    out = layer(x, num_frames=3)
    assert (out - x).abs().max() > 1e-3
    x2 = x.clone()
    x2[3:] += 1.0  # change the second video only
    torch.testing.assert_close(layer(x2, num_frames=3)[:3], out[:3])  # videos in a batch stay separate


def test_vector_embedder_starts_at_zero():
    emb = VectorEmbedder(3, 32)
    assert emb(torch.tensor([[24.0, 0.5, 0.02]])).abs().max() == 0


def test_grid_positions_row_major():
    pos = grid_positions(2, 2, 3)
    assert pos.shape == (12, 3)
    assert pos[7].tolist() == [1, 0, 1]
