"""kinema's DreamSim ensemble against the dreamsim package (ssundaram21/dreamsim 0.2.1, what
VBench-I2V's ``i2v_background`` runs), both loading the same random weights from one folder laid
out like the released ``dreamsim_ensemble_checkpoint.zip``.

The folder is written offline: torch.hub's cache inside DreamSim's ``cache_dir``
(``facebookresearch_dino_main/hubconf.py`` + ``checkpoints/dino_vitbase16_pretrain.pth``) stands in
for the DINO download, and the LoRA adapter is written by peft itself (``save_pretrained`` of the
package's ``PerceptualModel``), so its key names are peft's. ``dreamsim(pretrained=True)`` then runs
its real loading code (``download_weights`` finds every file, ``PeftModel.from_pretrained``).

Size: DreamSim's converted CLIP towers are built by ``vit_base`` (hard-coded ViT-B); the test
swaps in the package's own ``VisionTransformer`` at width 32 (depth 12 kept: DreamSim reads DINO's
block 11) so the whole suite runs in seconds.
"""

import json
import os
from functools import partial

import numpy as np
import pytest
import torch

dreamsim_pkg = pytest.importorskip("dreamsim")
peft = pytest.importorskip("peft")
T = pytest.importorskip("torchvision.transforms")
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torchvision.transforms import InterpolationMode

from kinema.eval.backbones.dreamsim import (
    DreamSimConfig,
    dreamsim_callables,
    load_dreamsim,
)
from kinema.eval.backbones.vit import ViTConfig
from kinema.eval.vbench import i2v_background

WIDTH, HEADS, PROJ, RANK, ALPHA = 32, 2, 16, 16, 8  # RANK / ALPHA: the released ensemble's LoRA settings
TINY = DreamSimConfig(ViTConfig(embed_dim=WIDTH, num_heads=HEADS), proj_dim=PROJ)
HUBCONF = f'''dependencies = ["torch"]
import os
from functools import partial
import torch
from torch import nn
from dreamsim.feature_extraction.vision_transformer import VisionTransformer


def dino_vitb16(pretrained=True, **kwargs):  # facebookresearch/dino's entry, at the test's width
    model = VisionTransformer(patch_size=16, embed_dim={WIDTH}, depth=12, num_heads={HEADS}, mlp_ratio=4,
                              qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6), num_classes=0)
    path = os.path.join(torch.hub.get_dir(), "checkpoints", "dino_vitbase16_pretrain.pth")
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return model
'''


def tiny_vit(patch_size=16, **kwargs):
    from dreamsim.feature_extraction.vision_transformer import VisionTransformer

    return VisionTransformer(patch_size=patch_size, embed_dim=WIDTH, depth=12, num_heads=HEADS, mlp_ratio=4,
                             qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6), **kwargs)


def randomised(vit, g):
    """DreamSim's ViT copy skips trunc-normal init (zeros for cls/pos); give every tensor a value."""
    with torch.no_grad():
        for name, p in vit.named_parameters():
            if name.endswith(("cls_token", "pos_embed")) or "norm" in name or "pos_drop" in name:
                p.add_(0.1 * torch.randn(p.shape, generator=g))
    return vit


def write_release(folder, g):
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "facebookresearch_dino_main").mkdir()
    (folder / "facebookresearch_dino_main" / "hubconf.py").write_text(HUBCONF)
    torch.save(randomised(tiny_vit(num_classes=0), g).state_dict(), folder / "checkpoints" / "dino_vitbase16_pretrain.pth")
    head = ("mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias", "mlp.4.weight", "mlp.4.bias", "last_layer.weight")
    torch.save({"student": {f"module.head.{k}": torch.zeros(2, 2) for k in head}},  # DINO head: read, never used
               folder / "dino_vitb16_pretrain.pth")
    for name in ("clip", "open_clip"):
        vit = tiny_vit()
        vit.pos_drop = nn.LayerNorm(WIDTH)
        sd = randomised(vit, g).state_dict()
        sd["proj"] = torch.randn(WIDTH, PROJ, generator=g) * WIDTH ** -0.5
        torch.save({"state_dict": sd}, folder / f"{name}_vitb16_pretrain.pth.tar")


def write_adapter(folder, g):
    """peft's own adapter files for the package's ensemble, with random (trained-like) A and B."""
    from dreamsim.config import dreamsim_args
    from dreamsim.model import PerceptualModel

    model = PerceptualModel(**dreamsim_args["model_config"]["ensemble"], device="cpu", load_dir=str(folder),
                            normalize_embeds=True)
    cfg = peft.LoraConfig(r=RANK, lora_alpha=ALPHA, lora_dropout=0.3, bias="none", target_modules=["qkv"])
    model = peft.get_peft_model(model, cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_A" in name:
                p.copy_(torch.randn(p.shape, generator=g) * p.shape[1] ** -0.5)
            elif "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    model.save_pretrained(str(folder / "ensemble_lora"))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    import dreamsim.feature_extraction.load_clip_as_dino as clip_loader
    import dreamsim.feature_extraction.load_open_clip_as_dino as open_clip_loader

    folder = tmp_path_factory.mktemp("ds") / "dreamsim-ensemble"
    g = torch.Generator().manual_seed(0)
    hub_dir = torch.hub.get_dir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(clip_loader, "vit_base", tiny_vit)
        mp.setattr(open_clip_loader, "vit_base", tiny_vit)
        try:
            write_release(folder, g)
            write_adapter(folder, g)
            ref, _ = dreamsim_pkg.dreamsim(pretrained=True, device="cpu", cache_dir=str(folder))
        finally:
            torch.hub.set_dir(hub_dir)  # dreamsim points torch.hub at its cache_dir
    assert json.loads((folder / "ensemble_lora" / "adapter_config.json").read_text())["r"] == RANK
    return ref, load_dreamsim(folder, cfg=TINY), folder


def test_adapter_files_are_peft_layout(models):
    _, _, folder = models
    assert os.path.exists(folder / "ensemble_lora" / "adapter_model.safetensors")


@pytest.mark.parametrize("n", [1, 3])
def test_embedding_matches_dreamsim(models, n):
    ref, kin, _ = models
    x = torch.rand(n, 3, 224, 224, generator=torch.Generator().manual_seed(n))
    with torch.no_grad():
        want, got = ref.embed(x), kin(x)
    assert got.shape == want.shape == (n, WIDTH + 2 * PROJ)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=2e-6)


def test_lora_adapter_matters(models):
    """Without its adapter the package's embedding moves far beyond the tolerance above."""
    ref, kin, _ = models
    x = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(7))
    with torch.no_grad(), ref.disable_adapter():
        plain = ref.embed(x)
    with torch.no_grad():
        assert (kin(x) - plain).abs().max() > 1e-2


def vbench_frame_features(ref, video):
    """VBench ``i2v_background``: ``dreamsim_transform(224)`` on ``torch.Tensor(frames)``, one frame a call."""
    tf = T.Compose([T.Resize((224, 224), interpolation=InterpolationMode.BICUBIC),
                    T.Lambda(lambda x: x.float().div(255.0))])
    frames = tf(torch.Tensor(video).permute(0, 3, 1, 2))
    with torch.no_grad():
        return torch.cat([F.normalize(ref.embed(frames[i:i + 1]), dim=-1, p=2) for i in range(len(frames))])


def vbench_image_feature(ref, image):
    tf = T.Compose([T.Resize((224, 224), interpolation=InterpolationMode.BICUBIC), T.ToTensor()])
    with torch.no_grad():
        return F.normalize(ref.embed(tf(Image.fromarray(image)).unsqueeze(0)), dim=-1, p=2)


def vbench_score(g, f):
    conformity = [max(0.0, F.cosine_similarity(g, f[i:i + 1]).item()) for i in range(len(f))]
    consec = [max(0.0, F.cosine_similarity(f[i - 1:i], f[i:i + 1]).item()) for i in range(1, len(f))]
    return 0.4 * np.max(conformity) + 0.3 * np.mean(consec) + 0.3 * np.min(consec)


def test_vbench_i2v_background_pipeline(models):
    ref, kin, _ = models
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (36, 60, 3), dtype=np.uint8)  # a textured scene, jittered per frame
    videos = [np.clip(base[None] + rng.integers(-20, 21, (4, 36, 60, 3)), 0, 255).astype(np.uint8) for _ in range(2)]
    images = [rng.integers(0, 256, (50, 30, 3), dtype=np.uint8), base]
    roles = dreamsim_callables(kin)
    for video, image in zip(videos, images):
        torch.testing.assert_close(F.normalize(roles["i2v_background_frames"](video), dim=-1),
                                   vbench_frame_features(ref, video), rtol=1e-4, atol=2e-6)
        torch.testing.assert_close(F.normalize(roles["i2v_background_image"](image[None]), dim=-1),
                                   vbench_image_feature(ref, image), rtol=1e-4, atol=2e-6)
    want = [vbench_score(vbench_image_feature(ref, im), vbench_frame_features(ref, v)) for v, im in zip(videos, images)]
    got = i2v_background(videos, images, features=roles["i2v_background_frames"],
                         image_features=roles["i2v_background_image"])
    np.testing.assert_allclose(got.per_video, want, rtol=0, atol=1e-5)
    assert got.value == pytest.approx(float(np.mean(want)), abs=1e-5)
