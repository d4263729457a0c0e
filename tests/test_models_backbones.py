"""Invariants of the two backbones on tiny configs: shapes, zero-init growth from image to video model,
causality, condition routes (concat / vector / tokens), gradient checkpointing."""

import dataclasses

import pytest
import torch

from kinema.conditioning.batch import ConditionBatch
from kinema.errors import InputError
from kinema.models import build_backbone

COND_DIMS = dict(in_channels=4, out_channels=4, concat_channels=5, vector_dim=3, text_dim=12)
KINDS = {
    "unet3d": ("unet3d", {}),
    "stdit_factorized": ("stdit", {"attention": "factorized"}),
    "stdit_factorized_sincos": ("stdit", {"attention": "factorized", "rope": False}),
    "stdit_full": ("stdit", {"attention": "full"}),
    "stdit_full_sincos": ("stdit", {"attention": "full", "rope": False}),
}
SHAPE = (1, 4, 4, 8, 8)  # (B, C, T, H, W)


def make(name: str, **overrides):
    kind, extra = KINDS[name]
    torch.manual_seed(0)  # module initialisers draw from the global generator
    return build_backbone(kind, {"preset": "tiny", **COND_DIMS, **extra, **overrides}).eval()


def first_layer(model):
    return model.conv_in if hasattr(model, "conv_in") else model.patch_embed.proj


@torch.no_grad()
def perturb(model, seed: int = 1, skip=lambda name: False, scale: float = 0.1):
    """Add seeded noise to every parameter not skipped, so zero-initialised outputs become non-trivial.

    The first layer's zero-initialised condition columns are left as built.
    """
    g = torch.Generator().manual_seed(seed)
    first = first_layer(model).weight
    for name, p in model.named_parameters():
        noise = scale * torch.randn(p.shape, generator=g)
        if p is first:
            noise[:, COND_DIMS["in_channels"]:] = 0
        if not skip(name):
            p.add_(noise)
    return model


def temporal_names(model):
    return {n for n, _ in model.named_temporal_parameters()}


def inputs(seed: int = 0, shape=SHAPE, tokens: int = 6):
    g = torch.Generator().manual_seed(seed)
    b, _, t, h, w = shape
    x = torch.randn(shape, generator=g)
    c_noise = torch.randn(b, generator=g)
    mask = torch.ones(b, tokens, dtype=torch.bool)
    mask[:, tokens // 2:] = False
    cond = ConditionBatch(concat=torch.randn(b, 5, t, h, w, generator=g), tokens=torch.randn(b, tokens, 12, generator=g),
                          token_mask=mask, vector=torch.rand(b, 3, generator=g) * 10)
    return x, c_noise, cond


def frame(cond: ConditionBatch, k: int) -> ConditionBatch:
    return dataclasses.replace(cond, concat=cond.concat[:, :, k:k + 1])


@pytest.mark.parametrize("name", list(KINDS))
def test_output_shape_and_finite(name):
    model = perturb(make(name))
    x, c_noise, cond = inputs(shape=(2, 4, 4, 8, 8))
    out = model(x, c_noise, cond)
    assert out.shape == (2, 4, 4, 8, 8)
    assert torch.isfinite(out).all()
    assert model(x, c_noise, ConditionBatch()).shape == out.shape  # every route absent


@pytest.mark.parametrize("name", ["unet3d", "stdit_factorized", "stdit_factorized_sincos"])
def test_fresh_video_model_equals_image_model_frame_by_frame(name):
    model = make(name)
    assert all(p.abs().sum() > 0 for n, p in model.named_parameters() if n.endswith("conv1.weight"))
    temporal = temporal_names(model)
    assert temporal, "the model must have temporal layers"
    perturb(model, skip=lambda n: n in temporal)  # trained spatial weights, fresh temporal layers
    x, c_noise, cond = inputs()
    with torch.no_grad():
        video = model(x, c_noise, cond)
        image = model(x, c_noise, cond, image_mode=True)
        per_frame = torch.cat([model(x[:, :, k:k + 1], c_noise, frame(cond, k)) for k in range(x.shape[2])], dim=2)
        assert video.abs().mean() > 1e-3  # a non-trivial output
        torch.testing.assert_close(video, image, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(video, per_frame, atol=1e-5, rtol=1e-5)
        perturb(model, seed=2, skip=lambda n: n not in temporal)  # once trained, temporal layers mix frames
        assert (model(x, c_noise, cond) - model(x, c_noise, cond, image_mode=True)).abs().max() > 1e-3
        image_trained = model(x, c_noise, cond, image_mode=True)
        per_frame = torch.cat([model(x[:, :, k:k + 1], c_noise, frame(cond, k), image_mode=True) for k in range(4)], 2)
        torch.testing.assert_close(image_trained, per_frame, atol=1e-5, rtol=1e-5)


def test_full_attention_image_mode_treats_frames_independently():
    model = perturb(make("stdit_full"))
    x, c_noise, cond = inputs()
    with torch.no_grad():
        image = model(x, c_noise, cond, image_mode=True)
        per_frame = torch.cat([model(x[:, :, k:k + 1], c_noise, frame(cond, k)) for k in range(4)], dim=2)
        torch.testing.assert_close(image, per_frame, atol=1e-5, rtol=1e-5)
        assert (model(x, c_noise, cond) - image).abs().max() > 1e-3  # 3-D attention mixes frames


@pytest.mark.parametrize("name", ["stdit_factorized", "stdit_full"])
@pytest.mark.parametrize("causal", [True, False])
def test_causal_temporal_attention_never_sees_the_future(name, causal):
    model = perturb(make(name, causal_temporal=causal))
    x, c_noise, cond = inputs()
    k = 2
    x2 = x.clone()
    x2[:, :, k] += torch.randn(x[:, :, k].shape, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        diff = (model(x, c_noise, cond) - model(x2, c_noise, cond)).abs().amax(dim=(0, 1, 3, 4))  # per frame
    assert diff[k:].min() > 1e-4
    if causal:
        assert diff[:k].max() == 0
    else:
        assert diff[:k].min() > 1e-4


@pytest.mark.parametrize("name", list(KINDS))
def test_concat_channels_start_silent(name):
    model = make(name)
    weight = first_layer(model).weight
    assert weight[:, COND_DIMS["in_channels"]:].abs().max() == 0
    assert weight[:, :COND_DIMS["in_channels"]].abs().max() > 0
    perturb(model)  # leaves the concat columns at zero
    x, c_noise, cond = inputs()
    other = dataclasses.replace(cond, concat=torch.randn(cond.concat.shape, generator=torch.Generator().manual_seed(9)))
    with torch.no_grad():
        out = model(x, c_noise, cond)
        torch.testing.assert_close(out, model(x, c_noise, other), atol=0, rtol=0)
        torch.testing.assert_close(out, model(x, c_noise, dataclasses.replace(cond, concat=None)), atol=0, rtol=0)
        w = first_layer(model).weight[:, 4:]
        w += 0.1 * torch.randn(w.shape, generator=torch.Generator().manual_seed(3))  # once trained, it is seen
        assert (model(x, c_noise, other) - model(x, c_noise, cond)).abs().max() > 1e-4


@pytest.mark.parametrize("name", ["unet3d", "stdit_factorized"])
def test_vector_embedding_starts_silent_and_none_means_zeros(name):
    model = make(name)
    last = "vector_embed.mlp.2" if name == "unet3d" else "vector_embedder.mlp.2"
    perturb(model, skip=lambda n: n.startswith(last))
    x, c_noise, cond = inputs()
    with torch.no_grad():
        out = model(x, c_noise, cond)
        torch.testing.assert_close(out, model(x, c_noise, cond.drop_vector()), atol=0, rtol=0)
        perturb(model, seed=3, skip=lambda n: not n.startswith(last))
        out = model(x, c_noise, cond)
        zeros = model(x, c_noise, cond.drop_vector())
        assert (out - zeros).abs().max() > 1e-4
        torch.testing.assert_close(zeros, model(x, c_noise, dataclasses.replace(cond, vector=None)), atol=0, rtol=0)


@pytest.mark.parametrize("name", ["unet3d", "stdit_factorized", "stdit_full"])
def test_cross_attention_reads_real_tokens_only(name):
    model = perturb(make(name))
    x, c_noise, cond = inputs()
    g = torch.Generator().manual_seed(4)
    tokens = cond.tokens.clone()
    padded = tokens.clone()
    padded[:, 3:] = torch.randn(padded[:, 3:].shape, generator=g)  # positions where token_mask is False
    real = tokens.clone()
    real[:, :3] = torch.randn(real[:, :3].shape, generator=g)
    with torch.no_grad():
        out = model(x, c_noise, cond)
        torch.testing.assert_close(out, model(x, c_noise, dataclasses.replace(cond, tokens=padded)), atol=1e-6, rtol=0)
        assert (out - model(x, c_noise, dataclasses.replace(cond, tokens=real))).abs().max() > 1e-4
        nothing = dataclasses.replace(cond, token_mask=torch.zeros_like(cond.token_mask))
        no_text = dataclasses.replace(cond, tokens=None, token_mask=None)
        torch.testing.assert_close(model(x, c_noise, nothing), model(x, c_noise, no_text), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["unet3d", "stdit_factorized"])
def test_pooled_text_starts_silent_then_reads_real_tokens_only(name):
    last = "text_embed.mlp.2" if name == "unet3d" else "text_embedder.mlp.2"
    model = perturb(make(name, pooled_text=True), skip=lambda n: n.startswith(last))
    plain = make(name)
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith(last.split(".")[0])})
    x, c_noise, cond = inputs()
    with torch.no_grad():
        torch.testing.assert_close(model(x, c_noise, cond), plain(x, c_noise, cond), atol=0, rtol=0)  # a no-op at first
        perturb(model, seed=5, skip=lambda n: not n.startswith(last))
        out = model(x, c_noise, cond)
        assert (out - plain(x, c_noise, cond)).abs().max() > 1e-4
        padded = cond.tokens.clone()
        padded[:, 3:] += 1.0  # positions where token_mask is False
        torch.testing.assert_close(out, model(x, c_noise, dataclasses.replace(cond, tokens=padded)), atol=1e-6, rtol=0)
        nothing = dataclasses.replace(cond, token_mask=torch.zeros_like(cond.token_mask))
        torch.testing.assert_close(model(x, c_noise, nothing), plain(x, c_noise, nothing), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["unet3d", "stdit_factorized", "stdit_full"])
def test_gradient_checkpointing_gives_identical_gradients(name):
    grads = []
    for ckpt in (False, True):
        model = perturb(make(name, gradient_checkpointing=ckpt)).train()
        x, c_noise, cond = inputs()
        model(x, c_noise, cond).square().mean().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 10
    for n in grads[0]:
        torch.testing.assert_close(grads[1][n], grads[0][n], atol=1e-6, rtol=1e-5, msg=n)


def test_inputs_are_validated_with_teaching_errors():
    model = make("stdit_factorized")
    x, c_noise, cond = inputs()
    with pytest.raises(InputError, match="cond.concat"):
        model(x, c_noise, dataclasses.replace(cond, concat=cond.concat[:, :2]))
    with pytest.raises(InputError, match="x_in"):
        model(x[:, :3], c_noise, cond)
    with pytest.raises(InputError, match="divisible"):
        model(x[..., :7], c_noise, cond)
    with pytest.raises(InputError, match="text_dim=0"):
        make("unet3d", text_dim=0)(x, c_noise, cond)
    with pytest.raises(InputError, match="patch_size"):
        make("stdit_factorized", patch_size=[2, 2, 2])(x, c_noise, cond, image_mode=True)
    with pytest.raises(InputError, match="divisible by 2"):
        make("unet3d")(x[..., :7, :7], c_noise, dataclasses.replace(cond, concat=cond.concat[..., :7, :7]))


@pytest.mark.parametrize("name", list(KINDS))
def test_noise_level_reaches_the_output(name):
    model = perturb(make(name))
    x, c_noise, cond = inputs()
    with torch.no_grad():
        assert (model(x, c_noise, cond) - model(x, c_noise + 0.5, cond)).abs().max() > 1e-4


def test_batch_elements_are_independent():
    model = perturb(make("stdit_factorized"))
    x, c_noise, cond = inputs(shape=(2, 4, 4, 8, 8))
    with torch.no_grad():
        both = model(x, c_noise, cond)
        first = model(x[:1], c_noise[:1], cond.index(slice(0, 1)))
    torch.testing.assert_close(both[:1], first, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", list(KINDS))
def test_bfloat16_forward_tracks_float32(name):
    model = perturb(make(name))
    x, c_noise, cond = inputs()
    with torch.no_grad():
        ref = model(x, c_noise, cond)
        out = model.to(torch.bfloat16)(x.bfloat16(), c_noise, cond.to(dtype=torch.bfloat16))
    assert out.dtype == torch.bfloat16
    assert (out.float() - ref).abs().mean() < 0.05 * ref.abs().mean()
