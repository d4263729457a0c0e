"""kinema's LPIPS and CLIPScore against the lpips package and torchmetrics (reference venv only).

LPIPS: the lpips package's network with a random (seeded) torchvision trunk and its shipped v0.1
linear heads; kinema reads the same trunk from a torchvision-format file and the same head file, and
both score the same uint8 image pairs (``lpips.im2tensor`` preprocessing on the reference side).

CLIPScore: a tiny random CLIP saved to a local folder; torchmetrics' ``clip_score`` runs it through
its documented callable hook. The callable restores transformers 4's return type of
``get_*_features`` (a tensor; transformers 5 returns an output object that torchmetrics 1.9 cannot
divide) and loads the processor with the PIL backend kinema pins (see kinema.eval.backbones.clip).
"""

from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
import torch

lpips = pytest.importorskip("lpips")
pytest.importorskip("torchmetrics")
torchvision = pytest.importorskip("torchvision")

from test_eval_lpips_clip import save_tiny_clip  # noqa: E402  (tests/ is on sys.path)

from kinema.eval.backbones.lpips_nets import HEAD_FILES, load_lpips_heads, load_lpips_trunk  # noqa: E402
from kinema.eval.metrics.lpips import LPIPS, lpips_frames  # noqa: E402

TV_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}


def reference_and_kinema(net: str, tmp_path):
    """(lpips.LPIPS, kinema LPIPS) sharing one random torchvision trunk and the shipped v0.1 heads."""
    torch.manual_seed(0)
    classifier = torchvision.models.alexnet(weights=None) if net == "alex" else torchvision.models.vgg16(weights=None)
    # torchvision's key layout; of the classifier only the 1000-way layer is kept (small, and ignored by LPIPS)
    state = {k: v for k, v in classifier.state_dict().items() if k.startswith(("features.", "classifier.6."))}
    torch.save(state, tmp_path / TV_FILES[net])
    ref = lpips.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False).eval()
    by_index = {k.split(".", 1)[1]: k for k in ref.net.state_dict()}  # "3.weight" -> "slice2.3.weight"
    features = {k.removeprefix("features."): v for k, v in classifier.state_dict().items() if k.startswith("features.")}
    ref.net.load_state_dict({by_index[k]: v for k, v in features.items() if k in by_index})
    head_file = lpips_root() / "weights" / "v0.1" / HEAD_FILES[net]  # the file ref just loaded
    ours = LPIPS(net, load_lpips_trunk(net, tmp_path / TV_FILES[net]), load_lpips_heads(net, head_file)).eval()
    return ref, ours


def lpips_root() -> Path:
    return Path(lpips.__file__).parent


def image_pairs(n: int, h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n uint8 pairs: a smooth random image and a noisy copy (distances in LPIPS's usual range)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (n, h // 8 + 1, w // 8 + 1, 3)).astype(np.float64)
    smooth = np.repeat(np.repeat(base, 8, axis=1), 8, axis=2)[:, :h, :w]
    a = np.clip(smooth + rng.normal(0, 10, smooth.shape), 0, 255).astype(np.uint8)
    b = np.clip(smooth + rng.normal(0, 30, smooth.shape), 0, 255).astype(np.uint8)
    return a, b


@pytest.mark.parametrize("net,size", [("alex", (64, 64)), ("alex", (48, 80)), ("vgg", (64, 64))])
def test_lpips_matches_package(net, size, tmp_path):
    ref, ours = reference_and_kinema(net, tmp_path)
    a, b = image_pairs(4, *size, seed=1)
    with torch.no_grad():
        expected = np.array([ref(lpips.im2tensor(x), lpips.im2tensor(y)).item() for x, y in zip(a, b)])
    got = lpips_frames(ours, a, b)
    assert (expected > 0).all()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_heads_found_in_installed_lpips_package(net, tmp_path, monkeypatch):
    """With no registry copy, kinema's loader reads the head file inside the installed lpips package."""
    for var in ("KINEMA_WEIGHTS_DIR", "KINEMA_WEIGHT_LPIPS_ALEX_V0_1", "KINEMA_WEIGHT_LPIPS_VGG_V0_1"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KINEMA_CACHE", str(tmp_path))
    heads = load_lpips_heads(net)
    shipped = torch.load(lpips_root() / "weights" / "v0.1" / HEAD_FILES[net], map_location="cpu")
    for k in range(5):
        assert torch.equal(heads[k].model[1].weight, shipped[f"lin{k}.model.1.weight"])


# ---- CLIPScore --------------------------------------------------------------------------------

class Transformers4Features(torch.nn.Module):
    """CLIPModel whose get_*_features return the projected tensor, as torchmetrics 1.9 expects."""

    def __init__(self, model):
        super().__init__()
        self.model, self.config = model, model.config

    def get_image_features(self, *args, **kwargs):
        return self.model.get_image_features(*args, **kwargs).pooler_output

    def get_text_features(self, *args, **kwargs):
        return self.model.get_text_features(*args, **kwargs).pooler_output


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("clip") / "openai-tiny-clip")


def torchmetrics_loader(directory):
    from transformers import CLIPModel, CLIPProcessor

    def load():
        model = CLIPModel.from_pretrained(directory, local_files_only=True).eval()
        return Transformers4Features(model), CLIPProcessor.from_pretrained(directory, local_files_only=True,
                                                                           backend="pil")
    return load


def test_clip_score_matches_torchmetrics(clip_dir):
    from torchmetrics.functional.multimodal import clip_score as tm_clip_score

    from kinema.eval.backbones.clip import load_clip_dir
    from kinema.eval.metrics.clip_score import clip_score_frames

    ours = load_clip_dir(clip_dir)
    load = torchmetrics_loader(clip_dir)
    video = np.random.default_rng(3).integers(0, 256, (5, 36, 52, 3), dtype=np.uint8)
    long_caption = "the cat sat on the mat " * 6  # longer than the 16-token text tower: truncated
    for caption in ["the cat", "a red ball", long_caption]:
        with pytest.warns(UserWarning) if caption is long_caption else nullcontext():
            got = clip_score_frames(ours, video, caption)
        frames = [torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1))) for f in video]  # (3, H, W)
        with torch.no_grad(), pytest.warns(UserWarning) if caption is long_caption else nullcontext():
            expected = np.array([tm_clip_score(f, caption, load).item() for f in frames])
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_clip_image_similarity_matches_torchmetrics(clip_dir):
    """CLIP-SIM 'first' is torchmetrics' image-image CLIPScore / 100 wherever the cosine is >= 0."""
    from torchmetrics.functional.multimodal import clip_score as tm_clip_score

    from kinema.eval.backbones.clip import load_clip_dir
    from kinema.eval.metrics.clip_score import clip_sim_frames

    ours = load_clip_dir(clip_dir)
    video = np.random.default_rng(4).integers(0, 256, (4, 40, 40, 3), dtype=np.uint8)
    video[1:] = np.clip(video[:1].astype(int) + np.random.default_rng(5).integers(-20, 21, video[1:].shape), 0, 255)
    chw = [torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1))) for f in video]
    with torch.no_grad():
        expected = np.array([tm_clip_score(f, chw[0], torchmetrics_loader(clip_dir)).item() for f in chw[1:]])
    got = clip_sim_frames(ours, video, "first")
    np.testing.assert_allclose(100 * np.maximum(got, 0), expected, rtol=1e-5, atol=1e-4)
