"""The registry: every pretrained file kinema's evaluation backbones read (issue 5).

Each hash and size below is one that public sources state, or that was computed from the very
file a public package or repository ships; each ``note`` says which. Unknown values are ``None``
and are never filled in by guess. Nothing here downloads: ``source`` tells the user where to get
the file, and :func:`kinema.eval.weights.resolve_weights` finds it on disk.
"""

from __future__ import annotations

from kinema.errors import ConfigError
from kinema.eval.weights.spec import WeightSpec

_CLIP_CDN = "https://openaipublic.azureedge.net/clip/models"
_NO_PUBLIC_HASH = "No public sha256 or size found; verify checks presence only."

_SPECS = (
    # ---- distribution metrics: FID / KID / IS, FVD ------------------------------------------------
    WeightSpec(
        id="inception-fid",
        filename="pt_inception-2015-12-05-6726825d.pth",
        sha256="6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
        size=95_628_359,
        source="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
               "pt_inception-2015-12-05-6726825d.pth",
        licence="Apache-2.0 (pytorch-fid; ported from TensorFlow's inception-2015-12-05, Apache-2.0)",
        format="pth",
        used_by=("fid", "kid", "is", "pytorch-fid", "torch-fidelity", "torchmetrics"),
        sha256_prefix="6726825d",
        alt_filenames=("weights-inception-2015-12-05-6726825d.pth",),
        note="sha256 pinned by several public projects (and it starts with the name's prefix); size "
             "stated beside that hash. torch-fidelity (and torchmetrics through it) serves the same "
             "bytes as weights-inception-2015-12-05-6726825d.pth from github.com/toshas/torch-fidelity "
             "releases v0.2.0.",
    ),
    WeightSpec(
        id="i3d-stylegan-v",
        filename="i3d_torchscript.pt",
        sha256="bec6519f66ea534e953026b4ae2c65553c17bf105611c746d904657e5860a5e2",
        size=51_235_320,
        source="https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1",
        licence="Apache-2.0 (DeepMind kinetics-i3d / TF-Hub I3D, which this TorchScript export "
                "reproduces); the StyleGAN-V repository ships no licence file",
        format="torchscript",
        used_by=("fvd-styleganv", "stylegan-v"),
        note="URL from StyleGAN-V src/metrics/frechet_video_distance.py; sha256 and size stated by "
             "several independent public projects, none of them upstream.",
    ),
    WeightSpec(
        id="i3d-tats-400",
        filename="i3d_pretrained_400.pt",
        sha256=None,
        size=None,
        source="https://github.com/songweige/TATS/raw/main/tats/fvd/i3d_pretrained_400.pt",
        licence="MIT (TATS repository; weights converted from DeepMind kinetics-i3d, Apache-2.0)",
        format="pth",
        used_by=("fvd-tats", "cd-fvd", "tats"),
        note=_NO_PUBLIC_HASH + " URL is the one cd-fvd downloads; in songweige/TATS (commit "
             "03bbce1daa3da7e9bff8221e9ec433df9484817f) its git blob id is "
             "a867b87ac3a9097d200598b1d48a1b890d8ec744 (a git object id, not a file sha256).",
    ),
    WeightSpec(
        id="videomae-v2-g-ssv2",
        filename="vit_g_hybrid_pt_1200e_ssv2_ft.pth",
        sha256="5a210a92f035dff30c53b46157b612e7a1a5d3c99700e1b2d71da5c399ca7e70",
        size=2_023_804_201,
        source="https://pjlab-gvm-data.oss-cn-shanghai.aliyuncs.com/internvideo/videomaev2/"
               "vit_g_hybrid_pt_1200e_ssv2_ft.pth",
        licence="MIT (OpenGVLab/VideoMAEv2)",
        format="pth",
        used_by=("fvd-videomae", "cd-fvd"),
        note="URL is the one cd-fvd downloads (also on Hugging Face OpenGVLab/VideoMAE2, mae-g/). "
             "sha256 pinned by three public projects; size from one public manifest of Hugging Face "
             "LFS records beside the same hash. The state dict sits under the 'module' key.",
    ),
    # ---- LPIPS: torchvision trunks and the lpips v0.1 linear heads -------------------------------
    WeightSpec(
        id="alexnet-torchvision",
        filename="alexnet-owt-7be5be79.pth",
        sha256="7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02",
        size=244_408_911,
        source="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
        licence="BSD-3-Clause (torchvision)",
        format="pth",
        used_by=("lpips-alex",),
        sha256_prefix="7be5be79",
        note="sha256 pinned by several public projects and starts with the prefix torchvision checks; "
             "size stated by two of them.",
    ),
    WeightSpec(
        id="vgg16-torchvision",
        filename="vgg16-397923af.pth",
        sha256="397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0",
        size=553_433_881,
        source="https://download.pytorch.org/models/vgg16-397923af.pth",
        licence="BSD-3-Clause (torchvision)",
        format="pth",
        used_by=("lpips-vgg",),
        sha256_prefix="397923af",
        note="sha256 pinned by several public projects and starts with the prefix torchvision checks; "
             "size stated by two of them.",
    ),
    WeightSpec(
        id="lpips-alex-v0.1",
        filename="alex.pth",
        sha256="df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0",
        size=6_009,
        source="https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth",
        licence="BSD-2-Clause (lpips)",
        format="pth",
        used_by=("lpips-alex",),
        note="Computed from lpips/weights/v0.1/alex.pth in the lpips 0.1.4 wheel on PyPI (agrees with "
             "the wheel's RECORD). `pip download lpips==0.1.4` and unzip to get it.",
    ),
    WeightSpec(
        id="lpips-vgg-v0.1",
        filename="vgg.pth",
        sha256="a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868",
        size=7_289,
        source="https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/vgg.pth",
        licence="BSD-2-Clause (lpips)",
        format="pth",
        used_by=("lpips-vgg",),
        note="Computed from lpips/weights/v0.1/vgg.pth in the lpips 0.1.4 wheel on PyPI (agrees with "
             "the wheel's RECORD; TATS ships the same bytes as tats/modules/cache/vgg.pth).",
    ),
    # ---- CLIPScore: Hugging Face CLIP folders --------------------------------------------------
    WeightSpec(
        id="clip-vit-large-patch14",
        filename="clip-vit-large-patch14",
        sha256=None,
        size=None,
        source="https://huggingface.co/openai/clip-vit-large-patch14",
        licence="MIT (OpenAI CLIP)",
        format="hf-dir",
        used_by=("clipscore", "clip-sim", "torchmetrics"),
        members=("config.json", "vocab.json", "merges.txt", "model.safetensors|pytorch_model.bin"),
        note="A Hugging Face model folder (e.g. from `huggingface-cli download`). No public hash of "
             "its weight files found; verify checks the required files only.",
    ),
    WeightSpec(
        id="clip-vit-base-patch32",
        filename="clip-vit-base-patch32",
        sha256=None,
        size=None,
        source="https://huggingface.co/openai/clip-vit-base-patch32",
        licence="MIT (OpenAI CLIP)",
        format="hf-dir",
        used_by=("clipscore", "clip-sim"),
        members=("config.json", "vocab.json", "merges.txt", "model.safetensors|pytorch_model.bin"),
        member_sha256=(
            ("pytorch_model.bin", "a63082132ba4f97a80bea76823f544493bffa8082296d62d71581a4feff1576f"),
            ("config.json", "b575ef3c36f2a057fa19e221650105052d61cc9c1a972ec15019c6261ec98770"),
            ("vocab.json", "5047b556ce86ccaf6aa22b3ffccfc52d391ea4accdab9c2f2407da5b742d4363"),
            ("merges.txt", "f526393189112391ce6f9795d4695f704121ce452c3aad1f5335cc41337eba85"),
        ),
        note="Member hashes are those several public projects pin at Hugging Face revision "
             "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268; a folder with only model.safetensors is "
             "checked for presence.",
    ),
    # ---- VBench / VBench-I2V backbones --------------------------------------------------------
    WeightSpec(
        id="dino-vitb16",
        filename="dino_vitbase16_pretrain.pth",
        sha256=None,
        size=None,
        source="https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth",
        licence="Apache-2.0 (facebookresearch/dino)",
        format="pth",
        used_by=("vbench.subject_consistency", "vbench.i2v_subject"),
        note=_NO_PUBLIC_HASH,
    ),
    WeightSpec(
        id="clip-vit-b32-openai",
        filename="ViT-B-32.pt",
        sha256="40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
        size=None,
        source=f"{_CLIP_CDN}/40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",
        licence="MIT (openai/CLIP)",
        format="torchscript",
        used_by=("vbench.background_consistency",),
        note="sha256 is the one openai/CLIP clip.py checks (the second-to-last URL segment); size not "
             "stated publicly.",
    ),
    WeightSpec(
        id="clip-vit-l14-openai",
        filename="ViT-L-14.pt",
        sha256="b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836",
        size=None,
        source=f"{_CLIP_CDN}/b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",
        licence="MIT (openai/CLIP)",
        format="torchscript",
        used_by=("vbench.aesthetic_quality",),
        note="sha256 is the one openai/CLIP clip.py checks (the second-to-last URL segment); size not "
             "stated publicly.",
    ),
    WeightSpec(
        id="laion-aesthetic-vit-l-14-linear",
        filename="sa_0_4_vit_l_14_linear.pth",
        sha256="2cd4e60f4f24ae3bcd57b847b13c1f3ba27edc28cc1a7f9ce74ee9f421243cba",
        size=4_071,
        source="https://github.com/LAION-AI/aesthetic-predictor/raw/main/sa_0_4_vit_l_14_linear.pth",
        licence="MIT (LAION-AI/aesthetic-predictor)",
        format="pth",
        used_by=("vbench.aesthetic_quality",),
        note="Computed from the file as committed in LAION-AI/aesthetic-predictor "
             "(last changed in 7e37768a02b0863eac390a702903aaa90ecf938e).",
    ),
    WeightSpec(
        id="raft-things",
        filename="raft-things.pth",
        sha256=None,
        size=None,
        source="https://dl.dropboxusercontent.com/s/4j4z58wuv8o0mfz/models.zip",
        licence="BSD-3-Clause (princeton-vl/RAFT)",
        format="pth",
        used_by=("vbench.dynamic_degree",),
        note=_NO_PUBLIC_HASH + " The file is models/raft-things.pth inside models.zip "
             "(RAFT download_models.sh; VBench downloads the same zip).",
    ),
    WeightSpec(
        id="amt-s",
        filename="amt-s.pth",
        sha256=None,
        size=None,
        source="https://huggingface.co/lalala125/AMT/resolve/main/amt-s.pth",
        licence="CC-BY-NC-4.0 (MCG-NKU/AMT; non-commercial)",
        format="pth",
        used_by=("vbench.motion_smoothness",),
        note=_NO_PUBLIC_HASH + " URL is the one VBench and the AMT README give.",
    ),
    WeightSpec(
        id="musiq-spaq",
        filename="musiq_spaq_ckpt-358bb6af.pth",
        sha256="358bb6af275e28ea56821d44fb55c6cb83645db11f394d3ad65b2d149965ab50",
        size=None,
        source="https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/"
               "musiq_spaq_ckpt-358bb6af.pth",
        licence="PolyForm-Noncommercial-1.0.0 (pyiqa / IQA-PyTorch, which converted it; earlier pyiqa "
                "releases: S-Lab License 1.0, non-commercial); MUSIQ model by Google Research, Apache-2.0",
        format="pth",
        used_by=("vbench.imaging_quality",),
        sha256_prefix="358bb6af",
        note="sha256 stated by one public project and starts with the name's prefix; size not stated. "
             "Also at huggingface.co/chaofengc/IQA-PyTorch-Weights.",
    ),
    WeightSpec(
        id="dreamsim-ensemble",
        filename="dreamsim-ensemble",
        sha256=None,
        size=None,
        source="https://github.com/ssundaram21/dreamsim/releases/download/v0.2.0-checkpoints/"
               "dreamsim_ensemble_checkpoint.zip",
        licence="MIT (DreamSim; its backbones: DINO Apache-2.0, OpenAI CLIP MIT, OpenCLIP MIT)",
        format="dir",
        used_by=("vbench.i2v_background",),
        members=("dino_vitb16_pretrain.pth", "clip_vitb16_pretrain.pth.tar",
                 "open_clip_vitb16_pretrain.pth.tar", "ensemble_lora/adapter_config.json",
                 "ensemble_lora/adapter_model.safetensors|ensemble_lora/adapter_model.bin"),
        note="Unzip the archive into a folder of this name; these are the files dreamsim's "
             "download_weights() checks for the 'ensemble' type VBench-I2V uses. " + _NO_PUBLIC_HASH,
    ),
    WeightSpec(
        id="cotracker2",
        filename="cotracker2.pth",
        sha256=None,
        size=None,
        source="https://huggingface.co/facebook/cotracker/resolve/main/cotracker2.pth",
        licence="CC-BY-NC-4.0 (facebookresearch/co-tracker; non-commercial)",
        format="pth",
        used_by=("vbench.camera_motion",),
        note=_NO_PUBLIC_HASH + " VBench-I2V loads torch.hub 'facebookresearch/co-tracker' entry "
             "'cotracker2', whose hubconf downloads this file.",
    ),
)

CATALOG: dict[str, WeightSpec] = {spec.id: spec for spec in _SPECS}


def get_spec(weight_id: str) -> WeightSpec:
    """The registry entry for ``weight_id``; a :class:`ConfigError` listing the known ids otherwise."""
    try:
        return CATALOG[weight_id]
    except KeyError:
        raise ConfigError(f"unknown weight id {weight_id!r}; known: {', '.join(sorted(CATALOG))}") from None


def register(spec: WeightSpec, *, replace: bool = False) -> WeightSpec:
    """Add ``spec`` to the registry (for tests and local extensions); refuses to shadow an id."""
    if spec.id in CATALOG and not replace and CATALOG[spec.id] != spec:
        raise ConfigError(f"weight id {spec.id!r} is already registered (pass replace=True to override)")
    CATALOG[spec.id] = spec
    return spec


def unregister(weight_id: str) -> None:
    """Remove ``weight_id`` from the registry (no error when absent)."""
    CATALOG.pop(weight_id, None)
