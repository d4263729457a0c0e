"""The object-masked motion plan: the composite reference, the segmenter, and their plumbing."""

import pytest
import torch.nn.functional as F
import torch

from kinema.conditioning import Conditioner, ConditionerConfig, Conditions, KnownFrame
from kinema.conditioning.plan import warp_references
from kinema.conditioning.planner import MotionPlanner
from kinema.conditioning.segmenter import ObjectSegmenter
from kinema.errors import ConfigError


class ColourText:
    """Token 0 says which of two colours the prompt names (tests only)."""

    dim, max_length = 16, 4

    def encode(self, prompts):
        toks = torch.zeros(len(prompts), 4, 16)
        for i, p in enumerate(prompts):
            toks[i, 0, 0 if "red" in p else 1] = 1.0
        return toks, torch.ones(len(prompts), 4, dtype=torch.bool)


def test_segmenter_learns_which_object_the_prompt_names():
    torch.manual_seed(0)
    seg = ObjectSegmenter(latent_channels=2, text_dim=16, width=16)
    latent = torch.zeros(8, 2, 8, 8)
    target = torch.zeros(8, 8, 8)
    prompts = []
    for b in range(8):
        y, x = b % 4, 4 - b % 4
        latent[b, 0, y:y + 2, x:x + 2] = 1.0  # a "red" square
        latent[b, 1, 5:7, b % 6:b % 6 + 2] = 1.0  # a "blue" one
        red = b % 2 == 0
        target[b] = latent[b, 0 if red else 1] > 0
        prompts.append("the red square" if red else "the blue square")
    tokens, tmask = ColourText().encode(prompts)
    opt = torch.optim.Adam(seg.parameters(), 3e-3)
    for _ in range(200):
        loss = seg.loss(latent, tokens, tmask, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    got = seg.mask(latent, tokens, tmask) > 0.5
    iou = (got & target.bool()).sum() / (got | target.bool()).sum()
    assert iou > 0.9


def test_an_unsure_segmenter_still_keeps_its_most_likely_region(monkeypatch):
    """A tiny object's latent pixels are only partly covered: a peak below 0.5 is scaled to 1, so the
    object's region survives the sampler's 0.5 threshold; a confident map is only floored."""
    seg = ObjectSegmenter(latent_channels=2, text_dim=16, width=16)
    p = torch.full((2, 8, 8), 0.05)
    p[:, 3:5, 3:5] = 0.4  # unsure object
    p[1, 3, 3] = 0.9  # sample 1 is confident at one pixel
    monkeypatch.setattr(seg, "forward", lambda *a: torch.logit(p))
    tokens, tmask = ColourText().encode(["a", "b"])
    m = seg.mask(torch.zeros(2, 2, 8, 8), tokens, tmask)
    assert torch.equal(m[0] >= 0.5, p[0] >= 0.4)  # the unsure region kept, the rest dropped
    assert torch.allclose(m[1], p[1] * (p[1] >= 0.25))  # confident: unchanged above the floor


def test_object_mask_conditioner_trains_and_samples_with_the_segmenter():
    C, T = 2, 4
    with pytest.raises(ConfigError, match="object_mask"):
        ConditionerConfig(reference="nearest", object_mask=True)
    cond = Conditioner(ConditionerConfig(text_encoder="null:16", reference="planned", object_mask=True),
                       text_encoder=ColourText())
    latents = torch.randn(2, C, T, 4, 4)
    masks = torch.zeros(2, T, 16, 16, dtype=torch.bool)
    masks[:, :, 4:8, 4:8] = True  # one latent pixel of coverage 1 at (1, 1)
    plan = torch.tensor([[0, 0, 0, 0, 0.25, 0]] * 2)
    batch, mask = cond.training_batch(latents, ["red", "blue"], torch.full((2,), 8.0), None,
                                      torch.Generator().manual_seed(0), plan=plan, object_masks=masks)
    assert batch.concat.shape == (2, 3 * C + 1, T, 4, 4)
    frame = KnownFrame(index=0, image=torch.zeros(3, 8, 8))
    sample = cond.sampling_batch(Conditions(frames=[frame], prompt="the red one", plan=tuple(plan[0].tolist())),
                                 T, [torch.randn(C, 4, 4)], (C, 4, 4))
    assert sample.concat.shape == (1, 3 * C + 1, T, 4, 4) and cond.planner.segmenter is not None


def test_a_planner_without_segmenter_loads_into_one_with_it(tmp_path):
    from kinema.checkpoint import prefixed, save_checkpoint
    from kinema.train.components import load_planner

    old = MotionPlanner(16, hidden=32, heads=4)
    save_checkpoint(tmp_path / "m.safetensors", prefixed(old.state_dict(), "planner"), {})
    new = MotionPlanner(16, hidden=32, heads=4, latent_channels=2)
    load_planner(new, str(tmp_path / "m.safetensors"))
    torch.testing.assert_close(new.query, old.query)
    with pytest.raises(ConfigError, match="planner weights"):
        load_planner(MotionPlanner(16, hidden=64, heads=4), str(tmp_path / "m.safetensors"))


def test_world_items_carry_the_main_objects_masks():
    from kinema.data.world import WorldConfig, WorldDataset

    item = WorldDataset(WorldConfig(size=(32, 32), frames=4, min_objects=1), length=2)[0]
    assert item["plan_mask"].shape == (4, 32, 32) and item["plan_mask"].dtype == torch.bool
    assert item["plan_mask"].any()


def test_layered_render_matches_kinema_world_frames_better_than_shifting_the_frame():
    """Trusted reference: the world renderer. The plate + sprite render of frame 0 by the clip's exact
    plan and object mask is closer to the real later frames than the whole frame shifted, and a zero
    plan renders the known frame itself."""
    from kinema.conditioning.layered import render_layers
    from kinema.data.world import WorldConfig
    from kinema.data.world.clip import generate_clip
    from kinema.data.world.dataset import main_object_masks, video_tensor
    from kinema.data.world.plan import clip_plan

    cfg = WorldConfig(size=(64, 64), frames=12, camera_static_prob=0.0, camera_moves=("tilt_up",),
                      backgrounds=("photo",), min_objects=1, max_objects=1, motions=("linear",))
    clip = generate_clip(cfg, 7)
    video = video_tensor(clip.frames)[None]  # (1, 3, T, H, W)
    masks = torch.from_numpy(main_object_masks(clip)).float()[None]  # (1, T, H, W)
    plan = torch.from_numpy(clip_plan(clip))[None]
    first = (torch.arange(12) == 0).float()[None]  # (1, T): frame 0 is known
    layered = render_layers(video, first, plan, masks)
    whole = warp_references(video[:, :, :1].expand(-1, -1, 12, -1, -1), first, plan)[:, 3:]
    inner = torch.zeros(1, 1, 12, 64, 64)
    inner[..., 8:-8, 8:-8] = 1.0
    mse = lambda a: float((((a - video) ** 2) * inner).sum() / inner.sum())  # noqa: E731
    assert mse(layered) < 0.6 * mse(whole)
    still = render_layers(video, first, torch.zeros(1, 6), masks)
    torch.testing.assert_close(still, video[:, :, :1].expand_as(still), atol=1e-5, rtol=0)


def test_clean_plate_removes_the_object():
    from kinema.conditioning.layered import clean_plate

    image = torch.full((3, 16, 16), -0.5)
    image[:, 6:10, 6:10] = 1.0  # a white square on grey
    mask = torch.zeros(16, 16)
    mask[6:10, 6:10] = 1.0
    plate = clean_plate(image, mask)
    assert float((plate - (-0.5)).abs().max()) < 0.05
    assert torch.equal(clean_plate(image, torch.zeros(16, 16)), image)


def test_layered_references_in_training_and_sampling():
    C, T, H = 2, 4, 16
    cond = Conditioner(ConditionerConfig(text_encoder="null:16", reference="planned", object_mask=True,
                                         noise_aug_prob=0.0, drop_plan=0.0, drop_image=0.0), text_encoder=ColourText())
    encode = lambda v: F.avg_pool3d(v[:, :C], (1, 4, 4))  # noqa: E731  a stand-in f4 "encoder" (2 channels)
    video = torch.rand(2, 3, T, H, H) * 2 - 1
    masks = torch.zeros(2, T, H, H, dtype=torch.bool)
    masks[:, :, 4:8, 4:8] = True
    plan = torch.tensor([[0, 0, 0, 0, 0.25, 0]] * 2)
    gen = torch.Generator().manual_seed(0)
    batch, mask = cond.training_batch(encode(video), ["red", "blue"], torch.full((2,), 8.0), None, gen, plan=plan,
                                      object_masks=masks, frames=video, encode=encode)
    from kinema.conditioning.layered import render_layers

    has = (mask > 0).any(dim=1).float().view(-1, 1, 1, 1, 1)  # a sample drawn with no known frame gets zeros
    torch.testing.assert_close(batch.concat[:, 2 * C + 1:], encode(render_layers(video, mask, plan, masks.float())) * has)
    frame = KnownFrame(index=0, image=video[0, :, 0])
    sample = cond.sampling_batch(Conditions(frames=[frame], prompt="red", plan=tuple(plan[0].tolist())), T,
                                 [encode(video[:1, :, :1])[0, :, 0]], (C, 4, 4), encode=encode)
    assert sample.concat.shape == (1, 3 * C + 1, T, 4, 4)
    t2v = cond.sampling_batch(Conditions(prompt="red", plan=tuple(plan[0].tolist())), T, [], (C, 4, 4), encode=encode)
    assert t2v.concat.abs().sum() == 0  # no known frame: nothing to render


def test_a_user_mask_picks_the_object_the_plan_moves():
    """Motion brush: with ``object_mask`` the layered reference moves exactly the painted pixels
    (the segmenter is not asked), and a model without a segmenter refuses the mask."""
    from kinema.conditioning.layered import render_layers

    C, T, H = 2, 4, 16
    cond = Conditioner(ConditionerConfig(text_encoder="null:16", reference="planned", object_mask=True,
                                         noise_aug_prob=0.0), text_encoder=ColourText())
    encode = lambda v: F.avg_pool3d(v[:, :C], (1, 4, 4))  # noqa: E731
    image = torch.rand(3, H, H) * 2 - 1
    painted = torch.zeros(H, H, dtype=torch.bool)
    painted[2:6, 9:13] = True
    plan = (0.0, 0.0, 0.0, 0.0, -0.2, 0.1)
    sample = cond.sampling_batch(Conditions(frames=[KnownFrame(0, image)], prompt="red", plan=plan, object_mask=painted),
                                 T, [encode(image[None, :, None])[0, :, 0]], (C, 4, 4), encode=encode)
    frames = torch.zeros(1, 3, T, H, H)
    frames[0, :, 0] = image
    known = torch.zeros(1, T)
    known[0, 0] = 1.0
    want = encode(render_layers(frames, known, torch.tensor([plan]), painted.float().expand(1, T, H, H)))
    torch.testing.assert_close(sample.concat[:, 2 * C + 1:], want)
    loop = cond.sampling_batch(Conditions(frames=[KnownFrame(0, image), KnownFrame(-1, image)], prompt="red", plan=plan,
                                          object_mask=painted), T, [encode(image[None, :, None])[0, :, 0]] * 2,
                               (C, 4, 4), encode=encode)
    frames[0, :, -1], known[0, -1] = image, 1.0  # a loop ends on the same image: the painted mask there too
    want = encode(render_layers(frames, known, torch.tensor([plan]), painted.float().expand(1, T, H, H)))
    torch.testing.assert_close(loop.concat[:, 2 * C + 1:], want)
    plain = Conditioner(ConditionerConfig(text_encoder="null:16", reference="planned"), text_encoder=ColourText())
    with pytest.raises(ConfigError, match="object_mask: this model has no object-masked"):
        plain.sampling_batch(Conditions(frames=[KnownFrame(0, image)], prompt="red", object_mask=painted), T,
                             [encode(image[None, :, None])[0, :, 0]], (C, 4, 4), encode=encode)
    with pytest.raises(ConfigError, match="no object pixel"):
        Conditions(frames=[KnownFrame(0, image)], object_mask=torch.zeros(H, H, dtype=torch.bool))
