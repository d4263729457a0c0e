"""kinema world: exactness of the procedural ground truth (centroids, flow, camera), determinism,
splits, captions, holdouts. Tiny configs; the whole file runs in seconds."""

import numpy as np
import pytest
from scipy import ndimage

from kinema.data.world import WorldConfig, clip_seed, generate_clip, split_tag, world_preset
from kinema.data.world.caption import DIRECTIONS
from kinema.data.world.config import COLORS
from kinema.data.world.scene import matches
from kinema.data.world.config import parse_combo
from kinema.data.world.splits import seed_split
from kinema.errors import ConfigError

cv2 = pytest.importorskip("cv2")


def _inside_image(box, w, h, margin=1.0):
    return box[0] >= margin and box[1] >= margin and box[2] <= w - 1 - margin and box[3] <= h - 1 - margin


def test_same_seed_same_clip_and_different_seeds_differ():
    cfg = world_preset("tiny")
    a, b, c = generate_clip(cfg, 11), generate_clip(cfg, 11), generate_clip(cfg, 12)
    assert np.array_equal(a.frames, b.frames) and a.caption == b.caption
    assert np.array_equal(a.flow, b.flow) and np.array_equal(a.camera_matrix, b.camera_matrix)
    assert not np.array_equal(a.frames, c.frames)


def test_split_seeds_are_disjoint_and_invertible():
    tags = {split_tag(s) for s in ("train", "val", "test")}
    assert len(tags) == 3
    seeds = {s: {clip_seed(s, i, base) for i in range(2000) for base in (0, 1)} for s in ("train", "val", "test")}
    assert not (seeds["train"] & seeds["val"]) and not (seeds["train"] & seeds["test"])
    assert not (seeds["val"] & seeds["test"])
    assert seed_split(clip_seed("val", 123, 7)) == (split_tag("val"), 7, 123)
    assert split_tag("holdout") not in tags
    assert clip_seed("holdout", (1 << 25) - 1, (1 << 16) - 1) < 2**53  # exact in any JSON reader
    with pytest.raises(ConfigError):
        clip_seed("train", -1)


def test_rendered_centroid_matches_trajectory_subpixel():
    """Flat object on a flat background: the alpha recovered from the pixels has its centroid at
    the trajectory centre (anti-aliased coverage, so well below half a pixel)."""
    cfg = world_preset("default", min_objects=1, max_objects=1, backgrounds=("flat",), textures=("flat",),
                       shapes=("circle", "square", "triangle", "star", "ring"))
    yy, xx = np.mgrid[0:64, 0:64]
    checked = 0
    for seed in range(6):
        clip = generate_clip(cfg, seed)
        obj = clip.objects[0]
        col = np.float64(COLORS[obj.attributes["color"]])
        bg_pixels = clip.frames[clip.labels == -1].astype(np.float64)
        bg = np.median(bg_pixels, axis=0)
        ch = int(np.argmax(np.abs(col - bg)))
        for t in range(clip.num_frames):
            if not _inside_image(obj.box[t], 64, 64):
                continue
            alpha = (clip.frames[t, ..., ch] - bg[ch]) / (col[ch] - bg[ch])
            cx, cy = (alpha * xx).sum() / alpha.sum(), (alpha * yy).sum() / alpha.sum()
            assert np.hypot(cx - obj.center[t, 0], cy - obj.center[t, 1]) < 0.2, (seed, t)
            checked += 1
    assert checked > 30


def test_unoccluded_mask_centroid_and_box_match_trajectory():
    cfg = world_preset("default", max_objects=3)
    checked = 0
    for seed in range(8):
        clip = generate_clip(cfg, seed)
        amodal = clip.stacked("amodal_mask")
        for k, obj in enumerate(clip.objects):
            others = np.delete(amodal, k, 0).any(0)
            for t in range(clip.num_frames):
                ys, xs = np.nonzero(obj.amodal_mask[t])
                if xs.size:  # every covered pixel centre lies inside the (half-pixel padded) box
                    b = obj.box[t]
                    assert xs.min() >= b[0] - 0.5 and xs.max() <= b[2] + 0.5
                    assert ys.min() >= b[1] - 0.5 and ys.max() <= b[3] + 0.5
                if not _inside_image(obj.box[t], 64, 64) or (obj.amodal_mask[t] & others[t]).any():
                    continue
                assert np.array_equal(obj.mask[t], obj.amodal_mask[t])  # unoccluded: all of it shows
                assert np.hypot(xs.mean() - obj.center[t, 0], ys.mean() - obj.center[t, 1]) < 0.5
                assert obj.visible[t]
                checked += 1
            assert np.array_equal(obj.visible, obj.mask.any(axis=(1, 2)))
    assert checked > 40


def _interior(labels):
    return ndimage.minimum_filter(labels, 3) == ndimage.maximum_filter(labels, 3)


def test_flow_warps_frame_t_onto_t_plus_1():
    """Backward-warping frame t+1 along the exact flow reproduces frame t on visible pixels."""
    cfg = world_preset("default", backgrounds=("texture", "photo"), speed_range=(0.015, 0.04),
                       textures=("stripes", "checker", "noise", "gradient"), camera_speed_range=(0.008, 0.02),
                       shapes=("circle", "square", "triangle", "star", "ring"))
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32)
    errors, baselines = [], []
    for seed in range(4):
        clip = generate_clip(cfg, seed)
        f = clip.frames.astype(np.float32)
        for t in range(clip.num_frames - 1):
            mx, my = xx + clip.flow[t, ..., 0], yy + clip.flow[t, ..., 1]
            ok = clip.flow_valid[t] & _interior(clip.labels[t])
            land = cv2.remap(_interior(clip.labels[t + 1]).astype(np.float32), mx, my, cv2.INTER_NEAREST)
            ok &= land > 0  # not landing on an anti-aliased edge either
            ok[:2], ok[-2:], ok[:, :2], ok[:, -2:] = False, False, False, False
            warped = cv2.remap(f[t + 1], mx, my, cv2.INTER_LINEAR)
            errors.append(np.abs(warped - f[t]).mean(-1)[ok].mean())
            baselines.append(np.abs(f[t + 1] - f[t]).mean(-1)[ok].mean())
    assert np.mean(errors) < 1.0  # gray levels out of 255: bilinear resampling + uint8 rounding
    assert np.max(errors) < 3.0
    assert np.mean(errors) < 0.25 * np.mean(baselines)  # the flow explains the motion


def test_camera_parameters_reproduce_background_motion():
    cfg = world_preset("default", backgrounds=("texture", "photo"), camera_static_prob=0.0,
                       camera_speed_range=(0.008, 0.02), max_objects=2)
    errors, baselines = [], []
    for seed in range(4):
        clip = generate_clip(cfg, seed)
        f = clip.frames.astype(np.float32)
        for t in range(clip.num_frames - 1):
            step = clip.camera_matrix[t + 1] @ np.linalg.inv(clip.camera_matrix[t])  # image t -> t+1
            pred = cv2.warpAffine(f[t], step[:2], (64, 64), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            ok = ndimage.binary_erosion((clip.labels[t] == -1) & (clip.labels[t + 1] == -1), iterations=2)
            ok[:3], ok[-3:], ok[:, :3], ok[:, -3:] = False, False, False, False
            errors.append(np.abs(pred - f[t + 1]).mean(-1)[ok].mean())
            baselines.append(np.abs(f[t] - f[t + 1]).mean(-1)[ok].mean())
    assert np.mean(errors) < 1.0 and np.mean(errors) < 0.25 * np.mean(baselines)


def test_camera_matrix_matches_documented_parameters():
    from kinema.data.world.camera import camera_matrices, camera_trajectory

    params = camera_trajectory("pan_right+zoom_in+roll_cw", 0.01, 5, 40, 30)
    m = camera_matrices(params, 40, 30)
    assert np.allclose(m[0], np.eye(3))
    tx, ty, s, r = params[3]
    c = np.array([19.5, 14.5])
    p = np.array([3.0, 7.0])
    rot = np.array([[np.cos(-r), -np.sin(-r)], [np.sin(-r), np.cos(-r)]])
    assert np.allclose(m[3, :2, :2] @ p + m[3, :2, 2], c + s * rot @ (p - c - [tx, ty]))
    assert tx > 0 and s > 1 and r > 0


def _direction_ok(word, d):
    dx, dy = d
    angle = np.degrees(np.arctan2(dy, dx))
    target = {w: 45.0 * i for i, w in enumerate(DIRECTIONS)}[word]
    return abs((angle - target + 180) % 360 - 180) <= 22.5 + 1e-6


def test_caption_direction_agrees_with_trajectory():
    cfg = world_preset("tiny", motions=("linear",), speed_range=(0.02, 0.04), max_objects=1, min_objects=1)
    for seed in range(12):
        clip = generate_clip(cfg, seed)
        obj = clip.objects[0]
        word = obj.attributes["direction_screen"]
        assert word is not None and word in clip.caption
        assert _direction_ok(word, obj.center[-1] - obj.center[0])
        world = obj.attributes["direction_world"]
        assert _direction_ok(world, obj.center_world[-1] - obj.center_world[0])
        if world != word:
            assert world.replace("to the ", "") + " in the scene" in clip.caption
        move = clip.attributes["camera"]
        if move.startswith("pan_"):
            assert f"pans {move[4:].split('+')[0]}" in clip.caption


def test_still_scene_with_static_camera_has_zero_motion():
    cfg = world_preset("tiny", motions=("still",), camera_moves=("static",))
    clip = generate_clip(cfg, 3)
    assert clip.motion_amount == 0.0 and not clip.flow.any()
    assert all(np.array_equal(f, clip.frames[0]) for f in clip.frames)
    moving = generate_clip(world_preset("tiny", motions=("linear",), speed_range=(0.03, 0.04), fps=4.0), 3)
    per_frame = np.linalg.norm(moving.flow, axis=-1).mean() / np.hypot(32, 32)
    assert moving.motion_amount > 1e-4
    assert np.isclose(moving.motion_amount, per_frame * 8.0 / 4.0, rtol=1e-5)  # per 1/8 s, data.motion units


def test_holdout_combos_never_in_train_and_only_in_eval():
    combos = ("shape=star", "motion=orbit&color=red")
    cfg = world_preset("tiny", holdout=combos)
    for i in range(40):
        attrs = generate_clip(cfg, clip_seed("train", i), split="train").attributes
        assert not any(matches(attrs, parse_combo(c)) for c in combos)
    only = cfg.replace(holdout_eval="only")
    for i in range(10):
        attrs = generate_clip(only, clip_seed("test", i), split="test").attributes
        assert any(matches(attrs, parse_combo(c)) for c in combos)


def test_config_errors_teach():
    with pytest.raises(ConfigError, match="hexagon"):
        WorldConfig(shapes=("hexagon",))
    with pytest.raises(ConfigError, match="holdout key"):
        WorldConfig(holdout=("flavour=red",))
    with pytest.raises(ConfigError, match="camera_moves"):
        WorldConfig(camera_moves=("dolly_in",))
    with pytest.raises(ConfigError, match="max_objects"):
        WorldConfig(min_objects=3, max_objects=2)
