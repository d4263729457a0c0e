"""Training data sources: a latent cache (`kinema data cache-latents`) and aspect-ratio buckets.

Tiny real videos written with kinema.video.write_video, a scanned manifest, the `toy` preset at
16-32 px and a few steps: seconds on a CPU.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from kinema.cli import main
from kinema.data.latent_cache import cache_latents
from kinema.data.scan import scan
from kinema.errors import ConfigError
from kinema.train import Trainer, load_config
from kinema.train.data import batch_iterator, build_stage_dataset
from kinema.vae import build_autoencoder, load_autoencoder, save_autoencoder
from kinema.vae.identity import IdentityAutoencoder
from kinema.video import write_video

TINY = ["data.frames=4", "data.fps=8", "batch_size=2", "conditioner.text_encoder=null:16", "log_every=1",
        "save_every=0", "optim.warmup_steps=2", "model.preset=tiny"]
# the clip the cache takes (first frames, centre crop), without buckets: what a run from videos must see too
SAME_CLIPS = ["data.crop=center", "data.temporal=start", "data.buckets=none"]


def _panning(frames: int, h: int, w: int, seed: int) -> np.ndarray:
    """A smooth random texture panning left by 2 px per frame: uint8 (T, H, W, 3)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (h // 4 + 2, (w + 2 * frames) // 4 + 2, 3)).astype(np.float32)
    tex = torch.nn.functional.interpolate(torch.from_numpy(small).permute(2, 0, 1)[None],
                                          size=(h, w + 2 * frames), mode="bilinear", align_corners=False)
    tex = tex[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy()
    return np.stack([tex[:, 2 * i:2 * i + w] for i in range(frames)])


def _manifest(folder: Path, shapes: list[tuple[int, int]]) -> Path:
    """Videos of the given (W, H), 12 frames at 8 fps, each with a caption; scanned into a manifest."""
    folder.mkdir()
    for i, (w, h) in enumerate(shapes):
        write_video(folder / f"clip{i}.mp4", _panning(12, h, w, seed=i), 8.0)
        (folder / f"clip{i}.txt").write_text(f"texture {i} pans left\n")
    out = folder.parent / f"{folder.name}.jsonl"
    scan(folder, out, min_frames=4, compute_motion=False)
    return out


@pytest.fixture(scope="module")
def square(tmp_path_factory) -> Path:
    return _manifest(tmp_path_factory.mktemp("sq") / "videos", [(24, 24)] * 4)


@pytest.fixture(scope="module")
def two_aspects(tmp_path_factory) -> Path:
    """Three landscape 16:9 and three portrait 9:16 videos."""
    return _manifest(tmp_path_factory.mktemp("ar") / "videos", [(64, 36), (36, 64)] * 3)


def _losses(run_dir: Path) -> list[float]:
    with open(run_dir / "log.csv") as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


def _train(out: Path, overrides: list[str], **kw) -> Trainer:
    trainer = Trainer(load_config("toy", TINY + overrides), out, progress=False, log=lambda *_: None, **kw)
    trainer.run()
    return trainer


# ---- item 9: training from cached latents ------------------------------------------------------

def test_run_from_cached_latents_matches_run_from_videos(square, tmp_path):
    """Identity autoencoder: the cache holds the very pixels the trainer would encode, so the same
    seed gives the same batches, noise and conditions; the losses agree to float rounding."""
    cache_latents(square, IdentityAutoencoder(), tmp_path / "cache", frames=4, size=(16, 16), fps=8.0)
    common = ["data.size=[16,16]", "stages.0.steps=3"]
    _train(tmp_path / "videos", common + SAME_CLIPS + ["data.source=manifest", f"data.path={square}"])
    cached = ["data.source=latent_cache", f"data.path={tmp_path / 'cache' / 'index.json'}",
              "sample_every=3", "diffusion.sample_steps=2"]  # validation clips decoded from the cache
    _train(tmp_path / "cached", common + cached)
    from_videos, from_cache = _losses(tmp_path / "videos"), _losses(tmp_path / "cached")
    assert len(from_videos) == 3
    assert from_cache == pytest.approx(from_videos, rel=1e-5, abs=1e-7)
    assert (tmp_path / "cached" / "samples" / "step_000003.gif").is_file()


def test_kl_cache_encodes_the_posterior_mean_as_the_trainer_does(square, tmp_path):
    """A KL autoencoder: cache and trainer both take the posterior mean, so only float rounding
    (another batch composition in the encoder's convolutions, ~1e-7 relative) separates the two
    runs; a posterior draw instead would move every latent by about its std (~1 for an untrained
    encoder) and the losses by far more than the 1e-4 allowed here."""
    torch.manual_seed(0)
    vae_file = save_autoencoder(build_autoencoder("kl", "tiny"), tmp_path / "vae.safetensors")
    vae = load_autoencoder(vae_file)
    index = cache_latents(square, vae, tmp_path / "cache", frames=4, size=(16, 16), fps=8.0, batch_size=4)
    assert index["autoencoder"]["kind"] == "kl" and index["latent_shape"] == [vae.latent_channels, 4, 4, 4]
    common = ["data.size=[16,16]", "stages.0.steps=3", "autoencoder.kind=kl", f"autoencoder.path={vae_file}"]
    _train(tmp_path / "videos", common + SAME_CLIPS + ["data.source=manifest", f"data.path={square}"])
    _train(tmp_path / "cached", common + ["data.source=latent_cache", f"data.path={tmp_path / 'cache'}"])
    assert _losses(tmp_path / "cached") == pytest.approx(_losses(tmp_path / "videos"), rel=1e-4)


def test_cache_of_another_autoencoder_or_shape_is_refused(square, tmp_path):
    torch.manual_seed(1)
    other = save_autoencoder(build_autoencoder("kl", "tiny"), tmp_path / "other.safetensors")
    torch.manual_seed(2)
    cache_latents(square, build_autoencoder("kl", "tiny"), tmp_path / "cache", frames=4, size=(16, 16))
    cached = ["data.source=latent_cache", f"data.path={tmp_path / 'cache'}", "stages.0.steps=1"]
    with pytest.raises(ConfigError, match="another autoencoder"):
        _train(tmp_path / "a", cached + ["data.size=[16,16]", "autoencoder.kind=kl", f"autoencoder.path={other}"])
    with pytest.raises(ConfigError, match=r"holds size=\[16, 16\] frames=4"):
        _train(tmp_path / "b", cached + ["data.size=[32,32]"])
    with pytest.raises(ConfigError, match="needs pixels"):
        _train(tmp_path / "c", cached + ["data.size=[16,16]", "stages.0.target=autoencoder", "autoencoder.kind=kl"])


def test_cli_cache_latents_takes_the_training_clip_options(square, tmp_path, capsys):
    save_autoencoder(IdentityAutoencoder(), tmp_path / "id.safetensors")
    assert main(["data", "cache-latents", str(square), "--vae", str(tmp_path / "id.safetensors"), "--out",
                 str(tmp_path / "cache"), "--size", "16x16", "--frames", "4", "--fps", "4", "--shard-size", "3"]) == 0
    assert "cached 4 clips in 2 shards" in capsys.readouterr().out
    assert main(["data", "cache-latents", str(square), "--vae", str(tmp_path / "id.safetensors"), "--out",
                 str(tmp_path / "bad"), "--fps", "-4"]) == 2
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("override, key", [
    ("data.fps=-8", "data.fps"), ("data.frames=0", "data.frames"), ("data.size=[0,0]", "data.size"),
    ("data.source=videos", "data.source"), ("data.num_workers=-1", "data.num_workers"),
    ("data.crop=left", "data.crop"), ("data.buckets=some", "data.buckets"),
    ("data.buckets=[[32]]", "data.buckets"), ("data.source=manifest", "data.path"),
])
def test_bad_data_section_fails_at_load(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config("toy", [override])


def test_crop_and_window_choices_match_the_data_package():
    from kinema.data.real.geometry import CROPS
    from kinema.data.real.sampling import TEMPORAL_POLICIES
    from kinema.train.config import CLIP_CROPS, CLIP_WINDOWS

    assert set(CLIP_CROPS) == set(CROPS) and set(CLIP_WINDOWS) == set(TEMPORAL_POLICIES)


# ---- item 10: aspect-ratio buckets -------------------------------------------------------------

def _bucketed(two_aspects: Path, tmp_path: Path, overrides=()):
    cfg = load_config("toy", TINY + ["data.source=manifest", f"data.path={two_aspects}", "data.size=[32,32]",
                                     *overrides])
    t = Trainer(cfg, tmp_path / "probe", progress=False, log=lambda *_: None)
    stage = cfg.stages[0]
    ds = build_stage_dataset(cfg.data, stage, tuple(cfg.data.size), cfg.data.frames, cfg.batch_size, cfg.seed,
                             t.c.autoencoder, t.c.model_config)
    return cfg, ds


def test_manifest_of_two_aspect_ratios_batches_by_bucket(two_aspects, tmp_path):
    cfg, ds = _bucketed(two_aspects, tmp_path)
    it = batch_iterator(ds, cfg.batch_size, cfg.seed, 0)
    batches = [next(it) for _ in range(8)]  # a batch is one stacked tensor: one shape each
    assert {tuple(b["video"].shape[-2:]) for b in batches} == {(24, 42), (42, 24)}  # (H, W) of 16:9, 9:16
    for b in batches:  # clip i is landscape for even i (see two_aspects): each in its own bucket, uncropped
        landscape = {int(c.split()[1]) % 2 == 0 for c in b["caption"]}
        assert landscape == {b["video"].shape[-1] > b["video"].shape[-2]}
    resumed, again = batch_iterator(ds, cfg.batch_size, cfg.seed, 5), batch_iterator(ds, cfg.batch_size, cfg.seed, 0)
    for _ in range(5):
        next(again)
    for _ in range(4):  # the batch of a step is a pure function of (seed, step): exact resume
        assert torch.equal(next(resumed)["video"], next(again)["video"])


def test_bucket_choice_none_and_explicit_list(two_aspects, tmp_path):
    _, ds = _bucketed(two_aspects, tmp_path, ["data.buckets=none"])
    assert tuple(next(batch_iterator(ds, 2, 0, 0))["video"].shape[-2:]) == (32, 32)
    _, ds = _bucketed(two_aspects, tmp_path, ["data.buckets=[[48,28,1],[28,48]]"])
    sizes: dict[tuple[int, int], set[int]] = {}
    for b in (next(batch_iterator(ds, 2, 0, s)) for s in range(12)):
        sizes.setdefault(tuple(b["video"].shape[-2:]), set()).add(b["video"].shape[0])
    # (H, W) -> batch sizes: the listed one, else the run's (3 portrait clips: 2, then 1 to end the epoch)
    assert sizes == {(28, 48): {1}, (48, 28): {1, 2}}


def test_bucketed_training_resumes_exactly(two_aspects, tmp_path):
    over = ["data.source=manifest", f"data.path={two_aspects}", "data.size=[32,32]", "stages.0.steps=4"]
    _train(tmp_path / "a", over)
    _train(tmp_path / "b", over, max_steps=2)
    _train(tmp_path / "b", over, resume=True)
    a, b = _losses(tmp_path / "a"), _losses(tmp_path / "b")
    assert len(a) == 4 and b == pytest.approx(a, rel=1e-5, abs=1e-6)


def test_bucket_step_sampler_splits_ranks_and_covers_every_clip_per_epoch():
    from kinema.train.data import StepBucketBatchSampler

    ids, sizes = [0, 1, 0, 1, 0, None, 1, 0], [2, 3]  # bucket 0: 4 clips, bucket 1: 3 clips, one left out
    one = StepBucketBatchSampler(ids, sizes, seed=3)
    per_epoch = one.per_epoch  # 2 + 1 batches
    epoch = [b for b, _ in zip(one, range(per_epoch))]
    assert per_epoch == 3 and sorted(i for b in epoch for i in b) == [0, 1, 2, 3, 4, 6, 7]
    assert all(len({ids[i] for i in b}) == 1 for b in epoch)
    r0, r1 = (StepBucketBatchSampler(ids, sizes, 3, rank=r, world=2) for r in (0, 1))
    global_order = [b for b, _ in zip(StepBucketBatchSampler(ids, sizes, 3), range(6))]
    interleaved = [b for pair in zip(r0, r1, range(3)) for b in pair[:2]]
    assert interleaved == global_order
