"""Motion plans: warped references agree with kinema world's camera, the planner reads prompts,
and a planner stage trains, exports and samples."""

import math

import numpy as np
import pytest
import torch

from kinema.conditioning import Conditioner, ConditionerConfig, Conditions, KnownFrame
from kinema.conditioning.plan import PLAN_FIELDS, nearest_index, warp_references
from kinema.conditioning.planner import MotionPlanner, plan_classes
from kinema.errors import ConfigError


class FakeText:
    """Token 0 carries the prompt's length (tests only), so "left" and "right" differ."""

    dim, max_length = 16, 4

    def encode(self, prompts):
        toks = torch.zeros(len(prompts), 4, 16)
        for i, p in enumerate(prompts):
            toks[i, 0, len(p) % 16] = 1.0
        return toks, torch.ones(len(prompts), 4, dtype=torch.bool)


def _plan(**rates) -> torch.Tensor:
    return torch.tensor([[float(rates.get(k, 0.0)) for k in PLAN_FIELDS]])


def _first_frame_known(T: int) -> torch.Tensor:
    mask = torch.zeros(1, T)
    mask[0, 0] = 1.0
    return mask


def test_zero_plan_repeats_the_nearest_latent():
    ref = torch.randn(2, 3, 5, 8, 6)
    mask = torch.zeros(2, 5)
    mask[:, 0] = 1.0
    out = warp_references(ref, mask, torch.zeros(2, 6))
    torch.testing.assert_close(out, torch.cat([ref, ref], 1), atol=1e-5, rtol=0)


def test_object_shift_moves_content_by_its_rate_both_ways_in_time():
    h = w = 8
    ref = torch.zeros(1, 1, 6, h, w)
    ref[..., 4, 2] = 1.0  # a bright latent pixel at (x=2, y=4)
    px = 1.0 / math.sqrt(h * w)  # one latent pixel, in image sizes
    first = warp_references(ref, _first_frame_known(6), _plan(object_x=px))[:, 1]  # object copy
    for t in range(4):
        assert first[0, t, 4, 2 + t] == pytest.approx(1.0, abs=1e-5)
    last = torch.zeros(1, 6)
    last[0, -1] = 1.0  # a transition from the end: earlier frames look back along the velocity
    back = warp_references(ref, last, _plan(object_y=px))[:, 1]
    assert back[0, 2, 1, 2] == pytest.approx(1.0, abs=1e-5)  # 3 frames before the known one: 3 px up


def test_nearest_index_ties_go_to_the_earlier_known_frame():
    mask = torch.tensor([[1.0, 0, 0, 0, 1.0]])
    src, has = nearest_index(mask)
    assert src.tolist() == [[0, 0, 0, 4, 4]] and has.tolist() == [True]


@pytest.mark.parametrize("move", ["pan_right", "tilt_up", "zoom_in", "roll_cw", "pan_left+zoom_out"])
def test_camera_warp_of_frame_0_matches_kinema_world_frames(move):
    """Trusted reference: the world renderer's own camera. Warping frame 0 by the clip's exact plan
    reproduces the later frames' background far better than repeating frame 0."""
    from kinema.data.world import WorldConfig
    from kinema.data.world.clip import generate_clip
    from kinema.data.world.dataset import video_tensor
    from kinema.data.world.plan import clip_plan

    cfg = WorldConfig(size=(64, 64), frames=12, camera_static_prob=0.0, camera_moves=(move,), backgrounds=("photo",),
                      min_objects=1, max_objects=1, motions=("linear",))
    clip = generate_clip(cfg, 3)
    video = video_tensor(clip.frames)[None]  # (1, 3, T, H, W)
    ref = video[:, :, :1].expand(-1, -1, 12, -1, -1).contiguous()
    out = warp_references(ref, _first_frame_known(12), torch.from_numpy(clip_plan(clip))[None])
    inner = torch.zeros(1, 1, 12, 64, 64, dtype=torch.bool)
    inner[..., 8:-8, 8:-8] = True
    background = (torch.from_numpy(clip.labels < 0)[None, None] & inner).float()
    mse = lambda a: float((((a - video) ** 2) * background).sum() / background.sum())  # noqa: E731
    assert mse(out[:, :3]) < 0.2 * mse(ref)
    obj = (torch.from_numpy(clip.objects[0].mask)[None, None] & inner).float()
    obj_mse = lambda a: float((((a - video) ** 2) * obj).sum() / obj.sum())  # noqa: E731
    assert obj_mse(out[:, 3:]) < 0.5 * obj_mse(ref)  # the object copy follows the main object


def test_clip_plan_has_the_world_camera_rates():
    from kinema.data.world import WorldConfig
    from kinema.data.world.clip import generate_clip
    from kinema.data.world.plan import clip_plan

    cfg = WorldConfig(size=(32, 32), frames=8, camera_static_prob=0.0, camera_moves=("zoom_in",), motions=("still",))
    clip = generate_clip(cfg, 1)
    plan = clip_plan(clip)
    assert plan[2] == pytest.approx(2 * clip.attributes["camera_speed"], rel=1e-4)  # camera.py: exp(2 speed t)
    assert np.allclose(plan[[0, 1, 3, 4, 5]], 0.0)


def test_planner_decodes_its_classes_and_learns_directions():
    torch.manual_seed(0)
    planner = MotionPlanner(16, hidden=32, heads=4)
    text = FakeText()
    prompts = ["it moves left", "it moves to the right", "the camera pans left", "static"]
    targets = torch.tensor([[0, 0, 0, 0, -0.02, 0], [0, 0, 0, 0, 0.03, 0], [-0.01, 0, 0, 0, 0, 0], [0.0] * 6])
    tokens, mask = text.encode(prompts)
    opt = torch.optim.Adam(planner.parameters(), 1e-2)
    for _ in range(150):
        loss = planner.loss(tokens, mask, None, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    plan = planner.plan(tokens, mask, None)
    for got, want in zip(plan_classes(plan), plan_classes(targets)):
        assert torch.equal(got, want)
    assert plan[1, 4] == pytest.approx(0.03, rel=0.2)
    empty = planner.plan(torch.zeros(1, 4, 16), torch.zeros(1, 4, dtype=torch.bool), torch.tensor([0.01]))
    assert torch.isfinite(empty).all()  # no real token: a plan from the motion amount alone


def test_planned_conditioner_routes_a_user_plan_or_the_planners():
    C, T = 2, 4
    cond = Conditioner(ConditionerConfig(text_encoder="null:16", reference="planned"), text_encoder=FakeText())
    assert cond.concat_channels(C) == 3 * C + 1
    frame = KnownFrame(index=0, image=torch.zeros(3, 8, 8))
    z = [torch.randn(C, 4, 4)]
    still = cond.sampling_batch(Conditions(frames=[frame], plan=(0.0,) * 6), T, z, (C, 4, 4))
    ref = still.concat[:, C + 1:]
    torch.testing.assert_close(ref[:, :C], ref[:, C:])  # a zero plan: camera copy == object copy
    moving = cond.sampling_batch(Conditions(frames=[frame], plan=(0, 0, 0, 0, 0.25, 0)), T, z, (C, 4, 4))
    assert not torch.allclose(moving.concat[:, 2 * C + 1:, 1:], moving.concat[:, C + 1:2 * C + 1, 1:])
    planned = cond.sampling_batch(Conditions(frames=[frame], prompt="go"), T, z, (C, 4, 4))
    assert planned.concat.shape == (1, 3 * C + 1, T, 4, 4)
    with pytest.raises(ConfigError, match="plan"):
        Conditions(plan=(0.0, 1.0))


def test_planner_stage_trains_only_the_planner_and_ships_it(tmp_path):
    import kinema
    from kinema.checkpoint import load_checkpoint, subdict
    from kinema.train import Trainer, load_config

    tiny = ["data.size=[16,16]", "data.frames=4", "batch_size=2", "conditioner.text_encoder=null:16",
            "log_every=1", "save_every=0", "optim.warmup_steps=1", "model.preset=tiny",
            "conditioner.reference=planned",
            'stages=[{"name":"plan","steps":2,"target":"planner"},{"name":"video","steps":1}]']
    cfg = load_config("toy", tiny)
    trainer = Trainer(cfg, tmp_path, progress=False, log=lambda *_: None, max_steps=2)
    before = {k: v.clone() for k, v in trainer.c.backbone.state_dict().items()}
    planner_before = {k: v.clone() for k, v in trainer.planner.state_dict().items()}
    trainer.run()
    assert all(torch.equal(before[k], v) for k, v in trainer.c.backbone.state_dict().items())
    assert any(not torch.equal(planner_before[k], v) for k, v in trainer.planner.state_dict().items())
    Trainer(cfg, tmp_path, progress=False, log=lambda *_: None, resume=True).run()  # resumes into the video stage
    tensors = load_checkpoint(tmp_path / "model.safetensors")[0]
    assert subdict(tensors, "planner")
    pipe = kinema.load(tmp_path / "model.safetensors", device="cpu")
    assert pipe.conditioner.planner is not None
    out = pipe(torch.rand(3, 16, 16) * 2 - 1, "a red circle moves left", steps=2, seed=0)
    assert out.frames.shape == (4, 16, 16, 3)


def test_camera_moves_follow_kinema_world_and_override_the_plan():
    from kinema.conditioning.plan import camera_rates
    from kinema.data.world.camera import camera_trajectory

    for move in ("pan_left", "tilt_down", "zoom_in+roll_ccw"):
        params = camera_trajectory(move, 0.02, 3, 64, 64)  # (T, 4): tx, ty px; zoom; roll
        want = [params[1, 0] / 64, params[1, 1] / 64, math.log(params[1, 2]), params[1, 3]]
        assert camera_rates(f"{move}:0.02") == pytest.approx(want)
    assert camera_rates("static") == (0.0, 0.0, 0.0, 0.0)
    with pytest.raises(ConfigError, match="unknown camera move 'spin'"):
        Conditions(camera="spin")
    cond = Conditioner(ConditionerConfig(text_encoder="null:16", reference="planned"), text_encoder=FakeText())
    plan = cond.sampling_plan(Conditions(plan=(0, 0, 0, 0, 0.1, 0), camera="pan_right"), *FakeText().encode([""]),
                              None)
    assert plan[0].tolist() == pytest.approx([0.01, 0, 0, 0, 0.1, 0])
    plain = Conditioner(ConditionerConfig(text_encoder="null:16", reference="nearest"), text_encoder=FakeText())
    with pytest.raises(ConfigError, match="takes no motion plan or camera move"):
        plain.sampling_plan(Conditions(camera="pan_left"), *FakeText().encode([""]), None)


def test_plan_guidance_adds_an_independent_term_toward_the_plan():
    from kinema.conditioning.batch import ConditionBatch
    from kinema.sampling.guidance import GuidanceConfig, guided_denoiser

    def denoise(x, sigma, cond, **kw):  # x0_hat = the concat route's first channel (tests only)
        return cond.concat[:, :1].expand_as(x).clone()

    planned, zero = torch.randn(2, 3, 4, 5, 5), torch.randn(2, 3, 4, 5, 5)
    cond = ConditionBatch(concat=planned, nulls={"plan": zero})
    x, sigma = torch.zeros(2, 2, 4, 5, 5), torch.ones(2)
    a, z = planned[:, :1].expand_as(x), zero[:, :1].expand_as(x)
    out = guided_denoiser(denoise, GuidanceConfig(plan_scale=3.0))(x, sigma, cond)
    torch.testing.assert_close(out, a + 2.0 * (a - z))
    both = guided_denoiser(denoise, GuidanceConfig(plan_scale=3.0, image_scale=1.5))(x, sigma, cond)
    torch.testing.assert_close(both, a + 2.0 * (a - z) + 0.5 * a)  # no image: the route is zero
    off = guided_denoiser(denoise, GuidanceConfig(plan_scale=3.0))(x, sigma, ConditionBatch(concat=planned))
    torch.testing.assert_close(off, a)  # an unplanned model has nothing to guide
