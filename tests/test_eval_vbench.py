"""VBench-I2V rules on synthetic videos with known answers, and the final-score arithmetic.

Hand computations use the constants of Vchitect/VBench ``scripts/constant.py`` written out
literally here (NORMALIZE_DIC_I2V, DIM_WEIGHT_I2V, I2V_WEIGHT = I2V_QUALITY_WEIGHT = 1), and the
rules of ``vbench/*.py`` and ``vbench2_beta_i2v/*.py``.
"""

import itertools
import math

import cv2
import numpy as np
import pytest
import torch
from video_fixtures import texture

from kinema.errors import ConfigError, InputError
from kinema.eval.backbones.aesthetic import AestheticHead
from kinema.eval.backbones.vit import VisionTransformer, ViTConfig, dino_vit
from kinema.eval.protocol import PROTOCOL_KEYS
from kinema.eval.vbench import (
    DIMENSIONS,
    aesthetic_quality,
    background_consistency,
    camera_motion,
    classify_camera_motion,
    default_backbones,
    dynamic_degree,
    final_scores,
    i2v_background,
    i2v_subject,
    imaging_quality,
    motion_smoothness,
    subject_consistency,
    vbench_i2v_scores,
)
from kinema.eval.vbench import preprocess as pp
from kinema.eval.vbench.dimensions import (
    dynamic_degree_thresholds,
    is_moving,
    top5_flow_magnitude,
)
from kinema.eval.vbench.result import DimensionScore
from kinema.eval.vbench.sampling import (
    dynamic_degree_indices,
    dynamic_degree_interval,
    motion_smoothness_split,
)

H = W = 64
CANVAS = texture(H + 60, W + 60)


def shifted(offsets):
    """Frames whose content sits ``offsets[t]`` px to the right of frame 0's."""
    return np.stack([CANVAS[30:30 + H, 30 - o:30 - o + W] for o in offsets])


def pixel_features(frames):
    """A fixed random projection of the pixels: equal frames <-> equal features."""
    x = torch.as_tensor(np.asarray(frames)).reshape(len(frames), -1).float() / 255.0
    proj = torch.randn(x.shape[1], 16, generator=torch.Generator().manual_seed(0))
    return x @ proj


def constant_video(levels):
    return np.stack([np.full((8, 8, 3), v, np.uint8) for v in levels])


def lookup_features(table):
    """Features chosen per frame by its (constant) pixel value."""
    return lambda frames: torch.tensor([table[int(f[0, 0, 0])] for f in np.asarray(frames)], dtype=torch.float32)


# ---------------------------------------------------------------- final scores (cal_i2v_final_score.py)

RAW = {"camera_motion": 0.5, "i2v_subject": 0.9, "i2v_background": 0.95, "subject_consistency": 0.95,
       "background_consistency": 0.96, "motion_smoothness": 0.98, "dynamic_degree": 0.4,
       "aesthetic_quality": 0.6, "imaging_quality": 0.7}


def test_final_scores_match_hand_computation():
    i2v = (0.1 * 0.5 + (0.9 - 0.1462) / (1 - 0.1462) + (0.95 - 0.2615) / (1 - 0.2615)) / (0.1 + 1 + 1)
    quality = ((0.95 - 0.1462) / (1 - 0.1462) + (0.96 - 0.2615) / (1 - 0.2615)
               + (0.98 - 0.706) / (0.9975 - 0.706) + 0.5 * 0.4 + 0.6 + 0.7) / (1 + 1 + 1 + 0.5 + 1 + 1)
    s = vbench_i2v_scores(RAW)
    assert s.i2v == pytest.approx(i2v, rel=1e-12)
    assert s.quality == pytest.approx(quality, rel=1e-12)
    assert s.total == pytest.approx((quality + i2v) / 2, rel=1e-12)
    assert s.normalised["motion_smoothness"] == pytest.approx((0.98 - 0.706) / 0.2915)


def test_final_scores_missing_and_unknown_dimensions():
    partial = {k: v for k, v in RAW.items() if k != "imaging_quality"}
    with pytest.raises(ConfigError, match="imaging_quality"):
        vbench_i2v_scores(partial)
    # the reference script scores a missing dimension as raw 0 (normalised, not clipped)
    filled = vbench_i2v_scores(partial, fill_missing=True)
    assert filled.quality == pytest.approx(vbench_i2v_scores({**RAW, "imaging_quality": 0.0}).quality)
    zero_sc = vbench_i2v_scores({**RAW, "subject_consistency": 0.0})
    assert zero_sc.normalised["subject_consistency"] == pytest.approx(-0.1462 / 0.8538)
    with pytest.raises(ConfigError, match="temporal_flickering"):
        vbench_i2v_scores({**RAW, "temporal_flickering": 0.9})


def test_final_score_metric_results():
    proto = {"n_generated": 2, "frames": 16, "resolution": [64, 64], "backbone": "x", "fps": 8.0}
    scores = {d: DimensionScore(d, RAW[d], (RAW[d],), proto) for d in DIMENSIONS}
    results = {r.name: r for r in final_scores(scores)}
    assert results["vbench-i2v/total_score"].value == pytest.approx(vbench_i2v_scores(RAW).total)
    assert set(PROTOCOL_KEYS) <= set(results["vbench-i2v/i2v_score"].protocol)


# ---------------------------------------------------------------- subject / background consistency

def test_still_video_is_fully_consistent():
    still = shifted([0] * 6)
    for fn in (subject_consistency, background_consistency):
        s = fn([still, still], pixel_features)
        assert s.value == pytest.approx(1.0, abs=1e-6) and s.per_video == pytest.approx((1.0, 1.0), abs=1e-6)


def test_consistency_known_answer_and_pair_weighting():
    r = 1 / math.sqrt(2)
    feats = lookup_features({0: [1, 0], 1: [r, r], 2: [0, 1], 3: [-1, 0]})
    a = constant_video([0, 1, 2])  # pairs: (r + r) / 2, (r + 0) / 2
    b = constant_video([0, 3])  # cos = -1, clamped to 0 -> (0 + 0) / 2
    s = subject_consistency([a, b], feats)
    assert s.per_video == pytest.approx(((r + r / 2) / 2, 0.0), abs=1e-6)
    # VBench divides the sum over all frame pairs by the number of pairs (sim / cnt)
    assert s.value == pytest.approx((r + r / 2 + 0.0) / 3, abs=1e-6)


def test_consistency_result_protocol():
    feats = pixel_features
    s = subject_consistency([shifted([0, 1, 2])], feats).result()
    assert s.name == "vbench-i2v/subject_consistency"
    assert s.protocol["frames"] == 3 and s.protocol["resolution"] == [H, W]
    assert s.protocol["frame_sampling"] == "all frames" and s.protocol["backbone"] == "custom"


# ---------------------------------------------------------------- video-image consistency

def test_i2v_subject_of_the_input_image_is_one():
    image = CANVAS[:H, :W]
    video = np.repeat(image[None], 5, axis=0)
    s = i2v_subject([video], [image], pixel_features)
    assert s.value == pytest.approx(1.0, abs=1e-6)


def test_i2v_order_statistics_known_answer():
    r = 1 / math.sqrt(2)
    feats = lookup_features({0: [1, 0], 1: [0, 1], 2: [r, r]})
    image = np.zeros((8, 8, 3), np.uint8)  # feature (1, 0)
    s = i2v_subject([constant_video([0, 1, 2])], [image], feats)
    # max conformity 1; consecutive cosines 0 and r -> 0.4 * 1 + 0.3 * r / 2 + 0.3 * 0
    assert s.value == pytest.approx(0.4 + 0.3 * r / 2, abs=1e-6)


def test_i2v_needs_one_image_per_video():
    with pytest.raises(InputError, match="one image per video"):
        i2v_subject([shifted([0, 1])] * 2, [CANVAS[:H, :W]], pixel_features)


def test_dino_image_and_frame_paths_agree_without_resize():
    image = texture(256, 300)[:256, :256]  # short side already 256: only the centre crop acts
    np.testing.assert_allclose(pp.dino_i2v_image(image), pp.dino_i2v_frames(image[None]), atol=1e-6)


# ---------------------------------------------------------------- motion smoothness

def blend(a, b):
    """An exact linear interpolator: the rounded mean of the two frames."""
    return ((a.astype(np.uint16) + b + 1) // 2).astype(np.uint8)


def test_motion_smoothness_known_answers():
    assert motion_smoothness([shifted([0] * 7)], blend).value == 1.0
    ramp = constant_video([10 * t for t in range(8)])  # linear in time: the blend is exact
    assert motion_smoothness([ramp], blend).value == 1.0
    flicker = constant_video([0, 255] * 4)  # predictions 0, held-out frames 255
    assert motion_smoothness([flicker], blend).value == 0.0
    off = constant_video([0, 5, 0, 5, 0])  # |0 - 5| on every held-out frame
    assert motion_smoothness([off, ramp], blend).per_video == pytest.approx(((255 - 5) / 255, 1.0))


def test_motion_smoothness_split():
    assert motion_smoothness_split(6) == ([0, 2, 4], [1, 3, 5])
    assert motion_smoothness_split(5) == ([0, 2, 4], [1, 3])


# ---------------------------------------------------------------- dynamic degree

def farneback(frames):
    """(n, H, W, 3) -> (n-1, 2, H, W) OpenCV Farneback flow of consecutive frames."""
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    flows = [cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0) for a, b in itertools.pairwise(gray)]
    return torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2)


def constant_flow(dx):
    return lambda frames: torch.zeros(len(frames) - 1, 2, *frames.shape[1:3]) + torch.tensor([dx, 0.0]).view(1, 2, 1, 1)


def test_dynamic_degree_still_and_moving_with_farneback():
    still, moving = shifted([0] * 8), shifted([3 * t for t in range(8)])  # threshold 6 * 64 / 256 = 1.5 px
    s = dynamic_degree([still, moving, still], farneback)
    assert s.per_video == (False, True, False) and s.value == pytest.approx(1 / 3)


def test_dynamic_degree_count_rule():
    assert dynamic_degree_thresholds(64, 128, 16) == (1.5, 4)
    assert dynamic_degree_thresholds(256, 256, 10)[1] == 2  # round(2.5) == 2 (ties to even)
    assert is_moving([2, 0, 2, 2], 1.5, 3) and not is_moving([2, 0, 2, 0], 1.5, 3)
    assert is_moving([0.0], 1.5, 0) and not is_moving([], 1.5, 0)  # count 0: any pair suffices
    # 8 sampled frames of 64 px need round(2) = 2 pairs above 1.5 px
    assert dynamic_degree([shifted([0] * 8)], constant_flow(1.6)).value == 1.0
    assert dynamic_degree([shifted([0] * 8)], constant_flow(1.5)).value == 0.0
    # two sampled frames: round(0.5) = 0 pairs needed, so VBench calls even a still pair dynamic
    assert dynamic_degree([shifted([0, 0])], constant_flow(0.0)).value == 1.0


def test_dynamic_degree_sampling():
    assert [dynamic_degree_interval(f) for f in (None, 4, 8, 12, 20, 24)] == [1, 1, 1, 2, 2, 3]
    assert dynamic_degree_indices(10, 24) == [0, 3, 6, 9]
    seen = []

    def recording_flow(frames):
        seen.append(len(frames))
        return constant_flow(0.0)(frames)

    s = dynamic_degree([shifted([0] * 10)], recording_flow, fps=24)
    assert seen == [4] and s.protocol["stride"] == 3 and s.protocol["fps"] == 24


def test_top5_flow_magnitude():
    flow = torch.zeros(2, 10, 10)  # 100 px -> top 5
    flow[0, 0, :4], flow[1, 0, :4] = 3.0, 4.0  # four magnitudes of 5
    flow[0, 5, 5] = 2.0
    assert top5_flow_magnitude(flow) == pytest.approx((4 * 5 + 2) / 5)
    with pytest.raises(InputError, match="too small"):
        top5_flow_magnitude(torch.zeros(2, 4, 4))


# ---------------------------------------------------------------- camera motion

def grid_points(h, w, size=10):
    """CoTracker's get_points_on_a_grid: (size*size, 2) (x, y), row-major, margin W/64."""
    m = w / 64
    ys, xs = torch.meshgrid(torch.linspace(m, h - m, size), torch.linspace(m, w - m, size), indexing="ij")
    return torch.stack([xs, ys], -1).reshape(-1, 2)


def moved_tracks(h, w, motion, t=5):
    """(t, 100, 2) tracks that move linearly from the grid to ``motion(grid)``."""
    p0 = grid_points(h, w)
    return torch.stack([p0 + (motion(p0) - p0) * k / (t - 1) for k in range(t)])


def test_camera_motion_rule_on_synthetic_tracks():
    h, w = 128, 256  # threshold 0.005 * 128 = 0.64 px
    centre = torch.tensor([w / 2, h / 2])
    cases = {
        "pan_right": lambda p: p + torch.tensor([-20.0, 0.0]),  # content moves left
        "pan_left": lambda p: p + torch.tensor([20.0, 0.0]),
        "tilt_up": lambda p: p + torch.tensor([0.0, 15.0]),  # content moves down
        "tilt_down": lambda p: p + torch.tensor([0.0, -15.0]),
        "zoom_in": lambda p: centre + (p - centre) * 1.2,
        "zoom_out": lambda p: centre + (p - centre) * 0.8,
        "static": lambda p: p,
    }
    for label, motion in cases.items():
        predicted = classify_camera_motion(moved_tracks(h, w, motion), h, w)
        assert label in predicted, label
        if not label.startswith("zoom"):
            assert predicted == (label,), label
    # The middle grid column/row (index 5 of 10) sits right of / below the centre, so under a zoom the
    # edge points also drift sideways: top/bottom x by +-0.2 * 13.8 px, left/right y by +-0.2 * 6.7 px,
    # both above 0.64 px. The label pairs then also give a pan and a tilt, as VBench's rule does.
    assert classify_camera_motion(moved_tracks(h, w, cases["zoom_in"]), h, w) == ("pan_left", "tilt_up", "zoom_in")
    assert classify_camera_motion(moved_tracks(h, w, cases["zoom_out"]), h, w) == ("pan_right", "tilt_down",
                                                                                    "zoom_out")


def test_camera_motion_threshold_and_truncation():
    h = w = 200  # threshold 1.0 px; tracks are truncated to integers before differencing
    p0 = grid_points(h, w)
    low, high = torch.floor(p0) + 0.1, torch.floor(p0) + 0.9

    def predict(start, dx):
        return classify_camera_motion(torch.stack([start, start + torch.tensor([dx, 0.0])]), h, w)

    assert predict(low, -1.0) == ("static",)  # |dx| = 1 is not above the threshold
    assert predict(low, -2.0) == ("pan_right",)
    assert predict(high, -1.8) == ("static",)  # k + 0.9 -> k - 0.9: integers k -> k - 1
    assert predict(low, -1.8) == ("pan_right",)  # k + 0.1 -> k - 1.7: integers k -> k - 2


def test_camera_motion_dimension_scores_prompt_matches():
    pan = moved_tracks(H, W, lambda p: p + torch.tensor([-10.0, 0.0]))
    videos = [shifted([0] * 5)] * 3
    prompts = ["a boat on a lake, camera pans right", "a boat on a lake, camera pans left", "pan_right"]
    s = camera_motion(videos, prompts, tracks=lambda v: pan)
    assert s.per_video == (1.0, 0.0, 1.0) and s.value == pytest.approx(2 / 3)
    assert s.details["by_type"] == {"pan_left": 0.0, "pan_right": 1.0}
    with pytest.raises(ConfigError, match="camera motion"):
        camera_motion(videos[:1], ["a boat"], tracks=lambda v: pan)


# ---------------------------------------------------------------- aesthetic and imaging quality

def test_aesthetic_head_and_dimension():
    head = AestheticHead()
    with torch.no_grad():
        head.weight.zero_()
        head.weight[0, 0] = 2.0
        head.bias.fill_(5.0)
    emb = torch.zeros(2, 768)
    emb[0, 0], emb[0, 1] = 3.0, 4.0  # normalised first entry 0.6 -> 2 * 0.6 + 5
    emb[1, 1] = 7.0  # normalised first entry 0 -> 5
    scores = head(emb)
    assert scores.tolist() == pytest.approx([6.2, 5.0])
    s = aesthetic_quality([shifted([0, 0])], lambda frames: scores)
    assert s.value == pytest.approx((0.62 + 0.5) / 2)


def test_imaging_quality_rule_and_resize():
    seen = []

    def quality(x):
        seen.append(tuple(x.shape))
        return torch.tensor([float(x.mean()) * 100])

    video = np.full((3, 600, 300, 3), 51, np.uint8)  # 51 / 255 = 0.2
    s = imaging_quality([video], quality)
    assert seen == [(1, 3, 512, 256)] * 3 and s.value == pytest.approx(0.2, abs=1e-6)
    assert pp.musiq_frames(video[:1], "shorter").shape[-2:] == (600, 300)  # short side 300 <= 512
    assert pp.musiq_frames(shifted([0]), "longer").shape[-2:] == (H, W)


# ---------------------------------------------------------------- preprocessing geometry

def test_torchvision_resize_and_crop_geometry():
    assert pp.short_side_size(480, 854, 224) == (224, 398)
    assert pp.short_side_size(854, 480, 224) == (398, 224)
    x = torch.arange(455, dtype=torch.float32).view(1, 1, 1, 455).expand(1, 3, 224, 455)
    assert pp.center_crop(x, 224)[0, 0, 0, 0] == 116  # round(115.5) -> 116 (ties to even)
    assert pp.dino_frames(np.zeros((2, 90, 160, 3), np.uint8)).shape == (2, 3, 224, 398)
    assert pp.clip_frames(np.zeros((1, 90, 160, 3), np.uint8)).shape == (1, 3, 224, 224)


# ---------------------------------------------------------------- backbones

DINO_BLOCK_KEYS = ["norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight",
                   "attn.proj.bias", "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias",
                   "mlp.fc2.weight", "mlp.fc2.bias"]


def test_dino_vitb16_keys_and_shapes():
    sd = VisionTransformer().state_dict()  # ViT-B/16 defaults
    expected = {"cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias", "norm.weight",
                "norm.bias"} | {f"blocks.{i}.{k}" for i in range(12) for k in DINO_BLOCK_KEYS}
    assert set(sd) == expected
    assert sd["pos_embed"].shape == (1, 197, 768) and sd["blocks.0.attn.qkv.weight"].shape == (2304, 768)
    assert sd["blocks.11.mlp.fc1.weight"].shape == (3072, 768)


def test_vit_position_embedding_resize():
    torch.manual_seed(0)
    vit = VisionTransformer(ViTConfig(embed_dim=24, depth=1, num_heads=2)).eval()
    assert vit.position_embedding(224, 224) is vit.pos_embed
    pe = vit.position_embedding(224, 398)  # 14 x 24 patch grid
    assert pe.shape == (1, 1 + 14 * 24, 24)
    with torch.no_grad():  # bicubic resizing keeps a constant embedding constant
        vit.pos_embed.fill_(0.5)
    assert torch.allclose(vit.position_embedding(160, 250), torch.full((1, 1 + 10 * 15, 24), 0.5))
    assert vit(torch.randn(2, 3, 224, 398)).shape == (2, 24)
    assert dino_vit("small").cfg.embed_dim == 384
    with pytest.raises(ConfigError, match="huge"):
        dino_vit("huge")


def test_missing_backbones_raise_one_line_errors():
    v = [shifted([0, 1, 2])]
    for call, name in ((lambda: motion_smoothness(v), "AMT"), (lambda: imaging_quality(v), "MUSIQ"),
                       (lambda: i2v_background(v, [CANVAS[:H, :W]]), "DreamSim"),
                       (lambda: camera_motion(v, ["static"]), "CoTracker")):
        with pytest.raises(ConfigError, match=name) as e:
            call()
        assert "\n" not in str(e.value)


def test_default_backbones_without_weight_files(tmp_path):
    missing = tmp_path / "absent.pth"
    b = default_backbones(dino_path=missing, clip_b32_path=missing, clip_l14_path=missing,
                          aesthetic_path=missing, raft_path=missing)
    assert b.subject is None and b.background is None and b.aesthetic is None and b.flow is None
    assert {"subject", "background", "aesthetic", "flow", "interpolate", "tracks"} <= set(b.missing)


def test_dino_callables_compose_vbench_preprocessing():
    from kinema.eval.vbench.backbones import dino_callables

    torch.manual_seed(0)
    vit = VisionTransformer(ViTConfig(embed_dim=24, depth=1, num_heads=2)).eval()
    fns = dino_callables(vit)
    video = shifted([0, 1, 2])
    with torch.no_grad():
        expected = vit(pp.dino_frames(video))
    torch.testing.assert_close(fns["subject"](video), expected)
    fns["subject"].batch_size = 1  # batching does not change the features
    torch.testing.assert_close(fns["subject"](video), expected, rtol=1e-5, atol=1e-6)
    assert fns["i2v_subject_image"](video[:1]).shape == (1, 24)
    assert fns["subject"].backbone_id == "dino-vitb16"
    s = subject_consistency([video], fns["subject"])
    assert s.protocol["backbone"] == "dino-vitb16" and "224 short side" in s.protocol["preprocessing"]


def test_raft_pair_flow_keeps_the_padded_field():
    from kinema.eval.backbones.raft import RAFT, raft_flow
    from kinema.eval.vbench import RaftPairFlow

    torch.manual_seed(0)
    raft = RAFT().eval()
    frames = np.stack([texture(130, 140, seed=s) for s in (1, 2)])
    flow = RaftPairFlow(raft)(frames)
    assert flow.shape == (1, 2, 136, 144)  # replicate-padded to multiples of 8, not cropped back
    x = torch.from_numpy(frames).permute(0, 3, 1, 2)
    torch.testing.assert_close(flow, raft_flow(raft, x[:1], x[1:], unpad=False))


def test_evaluate_dimension_uses_backbones_and_reports_missing_ones():
    from kinema.eval.vbench import VBenchBackbones, evaluate_dimension

    b = VBenchBackbones(subject=pixel_features, missing={"background": "InputError: no ViT-B-32 file here"})
    assert evaluate_dimension("subject_consistency", [shifted([0] * 3)], b).value == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ConfigError, match="no ViT-B-32 file here"):
        evaluate_dimension("background_consistency", [shifted([0] * 3)], b)
    with pytest.raises(ConfigError, match="input images"):
        evaluate_dimension("i2v_subject", [shifted([0] * 3)], b)
    with pytest.raises(ConfigError, match="temporal_flickering"):
        evaluate_dimension("temporal_flickering", [shifted([0] * 3)], b)
