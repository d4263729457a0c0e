"""The training loop: exact resume, stages as data, LoRA stages, autoencoder stage, export."""

import csv
import subprocess
import sys

import pytest
import torch

from kinema.checkpoint import load_checkpoint, subdict
from kinema.train import Trainer, load_config

TINY = ["data.size=[16,16]", "data.frames=4", "batch_size=2", "conditioner.text_encoder=null:16",
        "log_every=1", "save_every=0", "optim.warmup_steps=2", "model.preset=tiny"]


def _losses(run_dir):
    with open(run_dir / "log.csv") as f:
        return [(int(r["step"]), float(r["loss"])) for r in csv.DictReader(f)]


def _train(out, overrides, **kw):
    cfg = load_config("toy", TINY + overrides)
    return Trainer(cfg, out, progress=False, log=lambda *_: None, **kw).run()


def test_resumed_run_continues_the_same_loss_curve(tmp_path):
    _train(tmp_path / "a", ["stages.0.steps=6"])
    _train(tmp_path / "b", ["stages.0.steps=6"], max_steps=3)
    assert not (tmp_path / "b" / "model.safetensors").exists()  # stopped early: no export yet
    _train(tmp_path / "b", ["stages.0.steps=6"], resume=True)
    a, b = _losses(tmp_path / "a"), _losses(tmp_path / "b")
    assert [s for s, _ in b] == [1, 2, 3, 4, 5, 6]
    assert [s for s, _ in a] == [s for s, _ in b]
    assert [v for _, v in a] == pytest.approx([v for _, v in b], rel=1e-5, abs=1e-6)
    wa = load_checkpoint(tmp_path / "a" / "model.safetensors")[0]
    wb = load_checkpoint(tmp_path / "b" / "model.safetensors")[0]
    assert all(torch.allclose(wa[k], wb[k], atol=1e-6) for k in wa)


def test_temporal_only_stage_leaves_spatial_weights_alone(tmp_path):
    stages = ('stages=[{"name":"image","steps":2,"image_prob":1.0},'
              '{"name":"video","steps":2,"trainable":"temporal"}]')
    cfg = load_config("toy", TINY + [stages])
    trainer = Trainer(cfg, tmp_path, progress=False, log=lambda *_: None, max_steps=2)
    trainer.run()
    before = {k: v.clone() for k, v in trainer.c.backbone.state_dict().items()}
    Trainer(cfg, tmp_path, resume=True, progress=False, log=lambda *_: None).run()
    after = subdict(load_checkpoint(tmp_path / "checkpoints" / "last.safetensors")[0], "backbone")
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    temporal = {n for n, _ in trainer.c.backbone.named_temporal_parameters()}
    assert changed and changed <= temporal


def test_lora_stage_trains_only_lora_and_exports_merged_weights(tmp_path):
    base = tmp_path / "base"
    _train(base, ["stages.0.steps=2"])
    stages = 'stages=[{"name":"pre","steps":2},{"name":"ft","steps":2,"trainable":"lora","lora":{"rank":2}}]'
    cfg = load_config("toy", TINY + [stages])
    t = Trainer(cfg, tmp_path / "lora", progress=False, log=lambda *_: None)
    t.run()
    lora = load_checkpoint(tmp_path / "lora" / "lora_ft.safetensors")[0]
    assert lora and all("lora" in k for k in lora)
    exported = load_checkpoint(tmp_path / "lora" / "model.safetensors")[0]
    assert not any("lora" in k for k in exported)  # merged into the base weights


def test_autoencoder_stage_then_latent_diffusion(tmp_path):
    stages = ('stages=[{"name":"vae","steps":2,"target":"autoencoder"},'
              '{"name":"video","steps":2,"trainable":"all"}]')
    _train(tmp_path, ["autoencoder.kind=kl", "autoencoder.preset=tiny", stages])
    tensors, config, info = load_checkpoint(tmp_path / "model.safetensors")
    assert config["autoencoder"]["kind"] == "kl" and "scale" in config["autoencoder"]["config"]
    assert info["steps"] == 4 and any(k.startswith("autoencoder.") for k in tensors)


def test_exported_model_animates_and_is_deterministic(tmp_path):
    import kinema

    _train(tmp_path, ["stages.0.steps=2"])
    pipe = kinema.load(tmp_path / "model.safetensors", device="cpu")
    img = torch.rand(3, 16, 16) * 2 - 1
    a = pipe(img, "a red circle moves left", steps=3, seed=1)
    b = pipe(img, "a red circle moves left", steps=3, seed=1)
    assert a.frames.shape == (4, 16, 16, 3) and a.frames.dtype.name == "uint8"
    assert (a.frames == b.frames).all()
    assert a.params["request"]["seed"] == 1 and a.params["model"].startswith("model.safetensors@sha256:")


DDP_SCRIPT = r"""
import sys, torch, torch.distributed as dist
from safetensors.torch import save_file
from kinema.train import Trainer, load_config
out = sys.argv[1]
cfg = load_config("toy", sys.argv[2:])
t = Trainer(cfg, out, progress=False, log=lambda *_: None)
t.run()
rank = int(__import__("os").environ["RANK"])
save_file({k: v.contiguous() for k, v in t.c.backbone.state_dict().items()}, f"{out}/rank{rank}.safetensors")
"""


@pytest.mark.slow
def test_ddp_two_cpu_processes_keep_replicas_identical(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           str(script), str(tmp_path), *TINY, "stages.0.steps=3", "distributed=ddp"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    from safetensors.torch import load_file

    r0, r1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert all(torch.equal(r0[k], r1[k]) for k in r0)
    init = load_checkpoint(tmp_path / "model.safetensors")[0]
    assert init  # rank 0 exported the model
