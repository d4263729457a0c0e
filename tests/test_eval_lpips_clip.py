"""LPIPS (Wang et al. 2026 Eq. 10) and CLIPScore / CLIP-SIM: invariants on random trunks and a tiny local CLIP.

Agreement with the lpips package and torchmetrics lives in tests/reference/test_ref_lpips_clip.py
(it reuses :func:`save_tiny_clip` from this file).
"""

import json
import warnings

import numpy as np
import pytest
import torch

from kinema.errors import InputError
from kinema.eval.backbones.lpips_nets import (
    CHANNELS, MIN_SIDE, TAPS, LinearHeads, LPIPSTrunk, load_lpips_heads, load_lpips_trunk, load_trunk_state,
)
from kinema.eval.metrics.lpips import LPIPS, lpips_frames, lpips_score, lpips_video, unit_normalise
from kinema.eval.protocol import PROTOCOL_KEYS


def random_lpips(net: str, seed: int = 0) -> LPIPS:
    """LPIPS with a seeded random trunk and non-negative random heads (as trained heads are)."""
    torch.manual_seed(seed)
    model = LPIPS(net).eval()
    for k in range(len(model.heads)):
        model.heads[k].model[1].weight.data.uniform_(0.0, 1.0)
    return model


def random_videos(n: int, t: int = 3, h: int = 40, w: int = 48, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, t, h, w, 3), dtype=np.uint8)


# ---- LPIPS ------------------------------------------------------------------------------------

@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_identity_symmetry_and_positivity(net):
    model = random_lpips(net)
    a, b = random_videos(2, seed=1)
    assert np.array_equal(lpips_frames(model, a, a), np.zeros(3))
    ab, ba = lpips_frames(model, a, b), lpips_frames(model, b, a)
    np.testing.assert_allclose(ab, ba, rtol=1e-6)
    assert (ab > 0).all()


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_zero_heads_give_zero(net):
    model = random_lpips(net)
    for k in range(len(model.heads)):
        model.heads[k].model[1].weight.data.zero_()
    a, b = random_videos(2, seed=2)
    assert np.array_equal(lpips_frames(model, a, b), np.zeros(3))


def test_lpips_is_sum_of_layer_terms():
    """One-hot heads isolate a layer; the full distance is the sum of the five isolated layers."""
    model = random_lpips("alex")
    weights = [model.heads[k].model[1].weight.data.clone() for k in range(5)]
    a, b = random_videos(2, seed=3)
    total = lpips_frames(model, a, b)
    parts = []
    for k in range(5):
        for j in range(5):
            model.heads[j].model[1].weight.data = weights[j] * (j == k)
        parts.append(lpips_frames(model, a, b))
    np.testing.assert_allclose(total, np.sum(parts, axis=0), rtol=1e-5)


def test_unit_normalise_gives_unit_channel_norm():
    f = torch.randn(2, 7, 3, 4, generator=torch.Generator().manual_seed(0))
    norms = unit_normalise(f).pow(2).sum(dim=1).sqrt()
    torch.testing.assert_close(norms, torch.ones(2, 3, 4))


def test_lpips_uint8_and_float_inputs_agree():
    model = random_lpips("alex")
    a, b = random_videos(2, seed=4)
    fa, fb = a.astype(np.float32) / 127.5 - 1.0, b.astype(np.float32) / 127.5 - 1.0  # (T, H, W, 3) in [-1, 1]
    np.testing.assert_allclose(lpips_frames(model, fa, fb), lpips_frames(model, a, b), rtol=1e-5)
    chw = np.moveaxis(fa, -1, 0), np.moveaxis(fb, -1, 0)  # (3, T, H, W)
    np.testing.assert_allclose(lpips_frames(model, *chw), lpips_frames(model, a, b), rtol=1e-5)


def test_lpips_refuses_size_mismatch_and_small_frames():
    model = random_lpips("alex")
    a, b = random_videos(1, h=40, w=48)[0], random_videos(1, h=40, w=40)[0]
    with pytest.raises(InputError, match="same size"):
        lpips_frames(model, a, b)
    with pytest.raises(InputError, match="same size"):
        model(torch.zeros(1, 3, 32, 32), torch.zeros(2, 3, 32, 32))
    for net in ("alex", "vgg"):
        m = random_lpips(net)
        side = MIN_SIDE[net]
        ok = torch.zeros(1, 3, side, side)
        assert m(ok, ok).shape == (1,)
        small = torch.zeros(1, 3, side - 1, side)
        with pytest.raises(InputError, match=f"at least {side} px"):
            m(small, small)
        with pytest.raises(RuntimeError):  # the bare trunk indeed cannot run one pixel smaller
            m.trunk(small)


def test_lpips_video_and_set_aggregation():
    model = random_lpips("alex")
    gen, ref = random_videos(3, seed=5), random_videos(3, seed=6)
    per_video = [lpips_video(model, g, r) for g, r in zip(gen, ref)]
    assert per_video[0] == pytest.approx(lpips_frames(model, gen[0], ref[0]).mean())
    result = lpips_score(model, list(gen), list(ref), batch_size=2)
    assert result.value == pytest.approx(np.mean(per_video))
    assert result.name == "lpips-alex" and set(PROTOCOL_KEYS) <= set(result.protocol)
    assert result.protocol["resolution"] == [40, 48] and result.protocol["frames"] == 3
    assert result.protocol["backbone"] == "alexnet-torchvision@unloaded+lpips-alex-v0.1@unloaded"
    with pytest.raises(InputError, match="as many reference"):
        lpips_score(model, list(gen), list(ref[:2]))
    with pytest.raises(InputError, match="one video shape"):
        lpips_score(model, [gen[0], gen[1][:2]], [ref[0], ref[1][:2]])


def test_trunk_layout_matches_torchvision_numbering():
    """Conv weights sit at torchvision's `features` indices and the taps are the ReLUs after them."""
    for net in ("alex", "vgg"):
        trunk = LPIPSTrunk(net)
        convs = [i for i, m in enumerate(trunk.features) if isinstance(m, torch.nn.Conv2d)]
        expected = {"alex": [0, 3, 6, 8, 10], "vgg": [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]}[net]
        assert convs == expected
        assert set(trunk.state_dict()) == {f"features.{i}.{p}" for i in convs for p in ("weight", "bias")}
        assert all(isinstance(trunk.features[i], torch.nn.ReLU) for i in TAPS[net])
        outs = trunk(torch.zeros(1, 3, 64, 64))
        assert [o.shape[1] for o in outs] == list(CHANNELS[net])


def test_loaders_read_reference_layouts(tmp_path, monkeypatch):
    """A torchvision-style file (features + classifier) and an lpips head file load strictly."""
    torch.manual_seed(0)
    src = LPIPSTrunk("alex")
    full = {**src.state_dict(), "classifier.1.weight": torch.zeros(4096, 9216), "classifier.1.bias": torch.zeros(4096)}
    torch.save(full, tmp_path / "alexnet-owt-7be5be79.pth")
    trunk = load_lpips_trunk("alex", tmp_path / "alexnet-owt-7be5be79.pth")
    for k, v in src.state_dict().items():
        assert torch.equal(trunk.state_dict()[k], v)
    assert len(trunk.weights_sha256) == 64

    heads = {f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1) for k, c in enumerate(CHANNELS["alex"])}
    torch.save({**heads, **{k.replace("lin", "lins.", 1): v for k, v in heads.items()}}, tmp_path / "alex.pth")
    loaded = load_lpips_heads("alex", tmp_path / "alex.pth")
    assert torch.equal(loaded.lin3.model[1].weight, heads["lin3.model.1.weight"])

    with pytest.raises(InputError, match="missing keys"):
        load_trunk_state(LPIPSTrunk("vgg"), src.state_dict())  # AlexNet weights into the VGG trunk
    with pytest.raises(InputError):
        load_lpips_trunk("vgg", tmp_path / "nothing-here.pth")
    monkeypatch.setenv("KINEMA_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("KINEMA_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("KINEMA_WEIGHT_LPIPS_VGG_V0_1", raising=False)
    monkeypatch.setattr("kinema.eval.backbones.lpips_nets.lpips_package_head_file", lambda net: None)
    with pytest.raises(InputError, match="lpips-vgg-v0.1"):
        load_lpips_heads("vgg")  # no registry copy, no lpips package: one line naming the weight id


def test_heads_shape_check():
    heads = LinearHeads("vgg")
    assert [heads[k].model[1].weight.shape[1] for k in range(len(heads))] == list(CHANNELS["vgg"])


# ---- CLIP -------------------------------------------------------------------------------------

def byte_alphabet() -> list[str]:
    """The 256 printable stand-ins CLIP's byte-level BPE uses for bytes (GPT-2's table)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    return [chr(b) if b in keep else chr(next(extra)) for b in range(256)]


def save_tiny_clip(directory, max_text_tokens: int = 16, seed: int = 0):
    """A randomly initialised tiny CLIP (model, tokenizer, processor) saved with save_pretrained."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    chars = byte_alphabet()
    vocab = chars + [c + "</w>" for c in chars] + ["th", "the</w>", "<|startoftext|>", "<|endoftext|>"]
    (directory / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (directory / "merges.txt").write_text("#version: 0.2\nt h\nth e</w>\n")
    tokenizer = CLIPTokenizer(str(directory / "vocab.json"), str(directory / "merges.txt"))
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # transformers notes the image backend it falls back to
        CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(directory)
    n = len(vocab)
    text = dict(vocab_size=n, hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                max_position_embeddings=max_text_tokens, bos_token_id=n - 2, eos_token_id=n - 1, pad_token_id=n - 1)
    vision = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=37, num_attention_heads=4,
                  num_hidden_layers=2)
    torch.manual_seed(seed)
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    from kinema.eval.backbones.clip import load_clip_dir

    return load_clip_dir(save_tiny_clip(tmp_path_factory.mktemp("clip") / "openai-tiny-clip"))


def model_cosines(clip, video, caption):
    """cos(E_frame, E_caption) from CLIPModel.forward's own normalised embeddings (a second path)."""
    proc = clip.processor
    chw = [torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1))) for f in video]
    pixels = proc(images=chw, return_tensors="pt")["pixel_values"]
    tok = proc(text=[caption], return_tensors="pt", padding=True)
    with torch.no_grad():
        out = clip.model(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"], pixel_values=pixels)
    return (out.image_embeds @ out.text_embeds.T)[:, 0].double().numpy()  # (T,)


def test_clip_score_is_clamped_scaled_cosine(tiny_clip):
    from kinema.eval.metrics.clip_score import clip_score_frames, clip_score_video

    videos = random_videos(3, t=4, h=36, w=44, seed=7)
    for video, caption in zip(videos, ["the cat", "a red ball", "the the"]):
        scores = clip_score_frames(tiny_clip, video, caption)
        assert scores.shape == (4,) and ((scores >= 0) & (scores <= 100)).all()
        expected = 100 * np.maximum(model_cosines(tiny_clip, video, caption), 0)
        np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)
        assert clip_score_video(tiny_clip, video, caption) == pytest.approx(scores.mean())


def test_clip_score_result_and_truncation(tiny_clip):
    from kinema.eval.metrics.clip_score import clip_score, clip_score_video

    videos = list(random_videos(2, t=2, h=32, w=32, seed=8))
    long_caption = "the " * 40  # > 16 tokens: cut to the text tower's length, with a warning
    with pytest.warns(UserWarning, match="cut to"):
        result = clip_score(tiny_clip, videos, ["the cat", long_caption])
    with pytest.warns(UserWarning):
        expected = np.mean([clip_score_video(tiny_clip, videos[0], "the cat"),
                            clip_score_video(tiny_clip, videos[1], long_caption)])
    assert result.value == pytest.approx(expected)
    assert result.name == "clipscore" and result.protocol["frames"] == 2
    assert "openai-tiny-clip@sha256:" in result.protocol["backbone"]
    with pytest.raises(InputError, match="one caption per video"):
        clip_score(tiny_clip, videos, ["the cat"])


def test_clip_sim_modes(tiny_clip):
    from kinema.eval.metrics.clip_score import clip_sim, clip_sim_frames

    rng = np.random.default_rng(9)
    still = np.repeat(rng.integers(0, 256, (1, 40, 40, 3), dtype=np.uint8), 4, axis=0)  # 4 equal frames
    for mode in ("first", "consecutive"):
        np.testing.assert_allclose(clip_sim_frames(tiny_clip, still, mode), np.ones(3), atol=1e-5)
    video = random_videos(1, t=4, h=40, w=40, seed=10)[0]
    feats = tiny_clip.image_features(video)
    e = feats / feats.norm(dim=-1, keepdim=True)
    first = clip_sim_frames(tiny_clip, video, "first")
    np.testing.assert_allclose(first, (e[1:] @ e[0]).numpy(), rtol=1e-5)
    consecutive = clip_sim_frames(tiny_clip, video, "consecutive")
    np.testing.assert_allclose(consecutive, (e[1:] * e[:-1]).sum(-1).numpy(), rtol=1e-5)
    with_image = clip_sim_frames(tiny_clip, video, "first", image=video[0])
    assert with_image.shape == (4,) and with_image[0] == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(with_image[1:], first, rtol=1e-5)
    result = clip_sim(tiny_clip, [video, still], mode="consecutive")
    assert result.name == "clip-sim-consecutive"
    assert result.value == pytest.approx((consecutive.mean() + 1.0) / 2, abs=1e-5)
    with pytest.raises(InputError, match="at least 2 frames"):
        clip_sim_frames(tiny_clip, video[:1], "consecutive")


def test_load_clip_refuses_missing_directory(tmp_path):
    from kinema.eval.backbones.clip import load_clip, load_clip_dir

    with pytest.raises(InputError, match="config.json"):
        load_clip_dir(tmp_path)
    with pytest.raises(InputError):
        load_clip("clip-vit-base-patch32", path=tmp_path / "absent")
