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


DIST_SCRIPT = r"""
import os, sys
from safetensors.torch import save_file
from kinema.train import Trainer, load_config
from kinema.train.distributed import full_state_dict
out = sys.argv[1]
t = Trainer(load_config("toy", sys.argv[2:]), out, progress=False, log=lambda *_: None)
t.cleanup_on_finish = False
t.run()
state = full_state_dict(t.c.backbone, t.ctx)
save_file({k: v.contiguous() for k, v in state.items()}, f"{out}/rank{os.environ['RANK']}.safetensors")
"""


def _torchrun(tmp_path, strategy, port):
    script = tmp_path / "dist.py"
    script.write_text(DIST_SCRIPT)
    out = tmp_path / strategy
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port),
           str(script), str(out), *TINY, "stages.0.steps=3", f"distributed={strategy}"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return out


@pytest.mark.slow
def test_ddp_and_fsdp_on_two_cpu_processes(tmp_path):
    """DDP replicas stay identical; FSDP (sharded) reaches the same weights as DDP."""
    from safetensors.torch import load_file

    ddp = _torchrun(tmp_path, "ddp", 29517)
    r0, r1 = load_file(ddp / "rank0.safetensors"), load_file(ddp / "rank1.safetensors")
    assert all(torch.equal(r0[k], r1[k]) for k in r0)
    fsdp = _torchrun(tmp_path, "fsdp", 29518)
    f0 = load_file(fsdp / "rank0.safetensors")
    assert all(torch.allclose(f0[k], r0[k], atol=1e-5) for k in r0)
    single = load_checkpoint(ddp / "model.safetensors")[0]  # rank 0 exported the model
    assert single.keys() == load_checkpoint(fsdp / "model.safetensors")[0].keys()


def test_validation_samples_and_logs_are_written(tmp_path):
    _train(tmp_path, ["stages.0.steps=2", "sample_every=2", "diffusion.sample_steps=2"])
    from kinema.video import read_video

    grid, _ = read_video(tmp_path / "samples" / "step_000002.gif")
    assert grid.shape == (4, 32, 32, 3)  # T frames of [real | generated] x 2 clips at 16x16
    assert (tmp_path / "tb").is_dir() and len(_losses(tmp_path)) == 2


def test_resume_after_an_autoencoder_stage_keeps_its_calibration(tmp_path):
    stages = ('stages=[{"name":"vae","steps":2,"target":"autoencoder"},'
              '{"name":"video","steps":2}]')
    over = ["autoencoder.kind=kl", "autoencoder.preset=tiny", stages]
    _train(tmp_path / "a", over)
    _train(tmp_path / "b", over, max_steps=3)
    _train(tmp_path / "b", over, resume=True)
    ca = load_checkpoint(tmp_path / "a" / "model.safetensors")[1]["autoencoder"]["config"]
    cb = load_checkpoint(tmp_path / "b" / "model.safetensors")[1]["autoencoder"]["config"]
    assert ca["scale"] != 1.0 and ca["scale"] == pytest.approx(cb["scale"]) and ca["shift"] == pytest.approx(cb["shift"])


def test_a_finished_stage_given_more_steps_continues_the_same_loss_curve(tmp_path):
    _train(tmp_path / "a", ["stages.0.steps=6"])
    _train(tmp_path / "b", ["stages.0.steps=3"])  # finished and exported at step 3
    _train(tmp_path / "b", ["stages.0.steps=6"], resume=True)  # the stage extended: optimiser state kept
    a, b = _losses(tmp_path / "a"), _losses(tmp_path / "b")
    assert [s for s, _ in b] == [1, 2, 3, 4, 5, 6]
    assert [v for _, v in a] == pytest.approx([v for _, v in b], rel=1e-5, abs=1e-6)


def test_decoder_stage_trains_the_decoder_alone(tmp_path):
    stages = ('stages=[{"name":"vae","steps":2,"target":"autoencoder"},{"name":"video","steps":2},'
              '{"name":"decoder","steps":3,"target":"decoder","frames":2}]')
    over = ["autoencoder.kind=kl", "autoencoder.preset=tiny", stages]
    _train(tmp_path, over, max_steps=4)
    before = load_checkpoint(tmp_path / "checkpoints" / "last.safetensors")[0]
    _train(tmp_path, over, resume=True)
    after, _, state = load_checkpoint(tmp_path / "checkpoints" / "last.safetensors")
    changed = {k for k in after if not k.startswith("optim") and not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("autoencoder.decoder.") for k in changed)  # encoder, backbone, EMA kept
    _, config, info = load_checkpoint(tmp_path / "model.safetensors")
    scale = state["autoencoder"]["config"]["scale"]
    assert info["steps"] == 7 and config["autoencoder"]["config"]["scale"] == scale != 1.0


def test_decoder_stage_needs_a_kl_autoencoder(tmp_path):
    from kinema.errors import ConfigError

    with pytest.raises(ConfigError, match="needs a KL autoencoder"):
        _train(tmp_path, ['stages=[{"name":"decoder","steps":1,"target":"decoder"}]'])
    with pytest.raises(ConfigError, match="latent_noise applies to target 'decoder' only"):
        load_config("toy", TINY + ['stages=[{"name":"video","steps":1,"latent_noise":0.1}]'])


def test_sigterm_saves_the_state_and_the_run_resumes(tmp_path):
    """`kill` of a training run keeps every finished step: exit 130, a checkpoint, then --resume."""
    import signal
    import time

    cmd = [sys.executable, "-m", "kinema", "train", "toy", "--out", str(tmp_path), "--no-progress",
           *[a for o in TINY + ["stages.0.steps=100000", "conditioner.text_encoder=null:16"] for a in ("--set", o)]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(_losses(tmp_path) if (tmp_path / "log.csv").exists() else []) < 3:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "state saved at step" in out, err[-2000:]
    step = load_checkpoint(tmp_path / "checkpoints" / "last.safetensors")[2]["step"]
    assert step >= 3
    resumed = Trainer(load_config("toy", TINY + [f"stages.0.steps={step + 1}"]), tmp_path, resume=True,
                      progress=False, log=lambda *_: None).run()
    assert resumed.step == step + 1 and (tmp_path / "model.safetensors").exists()


def test_a_stage_world_override_is_merged_over_the_data_world():
    from kinema.errors import ConfigError
    from kinema.train.config import DataSpec
    from kinema.train.data import build_dataset

    spec = DataSpec(world={"max_objects": 1})
    ds = build_dataset(spec, (16, 16), 2, seed=0, world={"backgrounds": ["photo"], "camera_static_prob": 1.0})
    clips = [ds.clip(i) for i in range(8)]
    assert all(c.attributes["background"] == "photo" and len(c.objects) <= 1 for c in clips)
    assert {c.attributes["background"] for c in (build_dataset(spec, (16, 16), 2, 0).clip(i) for i in range(8))} != {"photo"}
    with pytest.raises(ConfigError, match="unknown config key"):
        build_dataset(spec, (16, 16), 2, seed=0, world={"backgrund": ["photo"]})
    with pytest.raises(ConfigError, match="need data.source='world'"):
        build_dataset(DataSpec(source="folder", path="x"), (16, 16), 2, seed=0, world={"max_objects": 1})


def test_a_stage_trains_on_its_own_world_mix(tmp_path):
    mixes = {"same": "", "photo": ',"world":{"backgrounds":["photo"]}'}
    for name, world in mixes.items():
        _train(tmp_path / name, [f'stages=[{{"name":"a","steps":1}},{{"name":"b","steps":1{world}}}]'])
    same, photo = _losses(tmp_path / "same"), _losses(tmp_path / "photo")
    assert same[0] == photo[0] and same[1][1] != photo[1][1]  # only stage b's batches changed


def test_a_run_can_start_from_a_trained_model(tmp_path):
    from kinema.errors import ConfigError
    from kinema.train.ship import ship_model

    base = tmp_path / "base"
    _train(base, ["autoencoder.kind=kl", "autoencoder.preset=tiny",
                  'stages=[{"name":"vae","steps":2,"target":"autoencoder"},{"name":"video","steps":2}]'])
    recipe = tmp_path / "recipe.json"
    recipe.write_text("{}")
    model = str(ship_model(base, tmp_path / "base.safetensors", recipe=recipe))
    over = [f"model.path={model}", f"autoencoder.path={model}", "autoencoder.kind=kl"]
    _train(tmp_path / "ft", over + ['stages=[{"name":"decoder","steps":2,"target":"decoder","frames":2}]'])
    old, new = load_checkpoint(model)[0], load_checkpoint(tmp_path / "ft" / "model.safetensors")[0]
    assert all(torch.allclose(old[k], new[k], atol=1e-6) for k in old if k.startswith("backbone."))
    assert any(not torch.equal(old[k], new[k]) for k in old if k.startswith("autoencoder.decoder."))
    info = load_checkpoint(tmp_path / "ft" / "model.safetensors")[2]
    assert info["steps"] == 2 and info["init_from"]["steps"] == 4  # the compute of both runs is on record
    prov = load_checkpoint(ship_model(tmp_path / "ft", tmp_path / "ft.safetensors", recipe=recipe))[2]["provenance"]
    assert prov["init_from"]["recipe"] == recipe.as_posix() and prov["total_steps"] == 6
    ft = str(tmp_path / "ft.safetensors")  # a second link: gain the reference route and pooled text
    _train(tmp_path / "ref", [f"model.path={ft}", f"autoencoder.path={ft}", "autoencoder.kind=kl",
                              "conditioner.reference=nearest", "model.overrides.pooled_text=true",
                              'stages=[{"name":"video","steps":1,"lr":1e-12}]'])
    prov = load_checkpoint(ship_model(tmp_path / "ref", tmp_path / "ref.safetensors", recipe=recipe))[2]["provenance"]
    assert prov["total_steps"] == 7 and prov["init_from"]["init_from"]["steps"] == 4  # the whole chain adds up
    ref = load_checkpoint(tmp_path / "ref" / "model.safetensors")[0]
    assert any(k.startswith("backbone.text_embed.") for k in ref)  # the pooled-text branch was added
    wide = ref["backbone.conv_in.weight"]
    narrow = old["backbone.conv_in.weight"]  # (C_out, C + C+1, 3, 3) -> (C_out, C + 2C+1, 3, 3)
    latent_channels = (narrow.shape[1] - 1) // 2
    assert wide.shape[1] == narrow.shape[1] + latent_channels and torch.allclose(wide[:, :narrow.shape[1]], narrow, atol=1e-6)
    assert wide[:, narrow.shape[1]:].abs().max() < 1e-6  # the new reference channels start silent
    with pytest.raises(ConfigError, match="differs from model.path"):  # the shape comes from the file
        _train(tmp_path / "wider", over + ["model.overrides.base_channels=64", "stages.0.steps=1"])
    with pytest.raises(ConfigError, match="in_channels"):  # a pixel-space run cannot start from a latent model
        _train(tmp_path / "bad", [f"model.path={model}", "stages.0.steps=1"])


def test_train_noise_mixed_shares_the_noise_of_clips_with_a_known_frame_only(tmp_path):
    from kinema.errors import ConfigError
    from kinema.train.objectives import training_eps

    latents, gen = torch.zeros(2, 3, 4, 8, 8), torch.Generator().manual_seed(0)
    mask = torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 0]])  # clip 0 knows its first frame, clip 1 is text-only
    assert training_eps("iid", latents, mask, gen) is None and load_config("toy", TINY).diffusion.train_noise == "iid"
    eps = training_eps("mixed", latents, mask, gen)
    corr = [float(torch.corrcoef(eps[b].transpose(0, 1).flatten(1))[0, 1]) for b in range(2)]  # frames 0 and 1
    assert 0.8 < corr[0] < 0.97 and abs(corr[1]) < 0.15  # shared 0.9 / i.i.d.
    cfg = load_config("toy", TINY + ["diffusion.train_noise=mixed", "stages.0.steps=1"])
    assert Trainer(cfg, tmp_path, progress=False, log=lambda *_: None).run().step == 1
    with pytest.raises(ConfigError, match="train_noise"):
        load_config("toy", TINY + ["diffusion.train_noise=lowfreq"])


def test_a_stage_task_mix_replaces_the_conditioners(tmp_path):
    mix = '{"first":0,"first_last":0,"loop":0,"prefix":0,"none":1}'
    cfg = load_config("toy", TINY + ['stages=[{"name":"t2v","steps":2,"task_mix":' + mix + '}]'])
    trainer = Trainer(cfg, tmp_path, progress=False, log=lambda *_: None)
    masks, batch = [], trainer.c.conditioner.training_batch

    def record(*args, **kw):
        cond, mask = batch(*args, **kw)
        masks.append(mask)
        return cond, mask

    trainer.c.conditioner.training_batch = record
    trainer.run()
    assert len(masks) == 2 and all(float(m.abs().sum()) == 0 for m in masks)  # text-only: no known frame


def test_a_low_noise_stage_trains_only_below_its_max_sigma(tmp_path):
    from kinema.diffusion import Truncated
    from kinema.errors import ConfigError

    cfg = load_config("toy", TINY + ['stages=[{"name":"all","steps":1},{"name":"low","steps":1,"max_sigma":0.5}]'])
    trainer = Trainer(cfg, tmp_path, progress=False, log=lambda *_: None)
    trainer.run()
    denoiser = trainer.objectives["denoiser"]
    density = denoiser.loss_fn.density  # the last stage's
    assert isinstance(density, Truncated) and float(density.sample(256, torch.Generator().manual_seed(0)).max()) <= 0.5
    assert denoiser.stage_density(cfg.stages[0]) is denoiser.density  # the first stage: the whole range
    with pytest.raises(ConfigError, match="max_sigma"):
        load_config("toy", TINY + ['stages=[{"name":"ae","target":"autoencoder","max_sigma":0.5}]'])


@pytest.mark.parametrize("minutes,timed", [(1.0, [3]), (0.0, [])])
def test_a_run_checkpoints_by_wall_time_when_save_every_is_larger_than_the_run(tmp_path, monkeypatch, minutes, timed):
    cfg = load_config("toy", TINY + ["stages.0.steps=4", "save_every=1000", f"save_every_minutes={minutes}"])
    trainer = Trainer(cfg, tmp_path, progress=False, log=lambda *_: None)
    trainer.clock = lambda: 25.0 * trainer.state.step  # each step takes 25 s: a minute has passed at step 3
    saved = []
    save = trainer._save_state
    monkeypatch.setattr(trainer, "_save_state", lambda stage, done=False: (saved.append((trainer.state.step, done)),
                                                                            save(stage, done)))
    trainer.run()
    assert [s for s, done in saved if not done] == timed  # by time, before the end (0 = off)...
    assert saved[-1] == (4, True)  # ...and always at the stage's end


def test_a_resumed_run_drops_the_log_rows_of_the_steps_it_redoes(tmp_path):
    """A crash after step 4 was logged but with the checkpoint at step 2: each step is logged once."""
    import shutil

    steps = ["stages.0.steps=6"]
    _train(tmp_path / "a", steps)
    run = tmp_path / "b"
    _train(run, steps, max_steps=2)
    shutil.copy(run / "checkpoints" / "last.safetensors", tmp_path / "at2.safetensors")
    _train(run, steps, max_steps=4, resume=True)
    shutil.copy(tmp_path / "at2.safetensors", run / "checkpoints" / "last.safetensors")  # the crash
    _train(run, steps, resume=True)
    a, b = _losses(tmp_path / "a"), _losses(run)
    assert [s for s, _ in b] == [1, 2, 3, 4, 5, 6]
    assert [v for _, v in a] == pytest.approx([v for _, v in b], rel=1e-5, abs=1e-6)


def test_resume_removes_only_the_temp_files_of_its_own_checkpoints(tmp_path):
    _train(tmp_path, ["stages.0.steps=2"], max_steps=1)
    orphan = tmp_path / "checkpoints" / ".last.safetensors.a1b2c3d4.tmp"  # a SIGKILL mid-write
    orphan.write_bytes(b"x" * 4096)
    other = tmp_path / "checkpoints" / "mine.tmp"
    other.write_bytes(b"keep")
    _train(tmp_path, ["stages.0.steps=2"], resume=True)
    assert not orphan.exists() and other.exists() and (tmp_path / "model.safetensors").exists()


def test_resume_with_a_changed_architecture_is_one_line(tmp_path):
    from kinema.errors import InputError

    _train(tmp_path, ["stages.0.steps=2"], max_steps=1)
    with pytest.raises(InputError, match=r"last.safetensors .*architecture.*backbone weights do not match its config "
                                         r"\(\d+ of another shape: ") as e:
        _train(tmp_path, ["stages.0.steps=2", "conditioner.text_encoder=null:32"], resume=True)
    assert "\n" not in str(e.value) and len(str(e.value)) < 600


def test_negative_max_steps_is_refused():
    from kinema.errors import ConfigError

    with pytest.raises(ConfigError, match=r"max_steps=-1 is outside the accepted range \[0, inf\]"):
        Trainer(load_config("toy", TINY), "unused", max_steps=-1)


@pytest.mark.parametrize("overrides,needle", [
    (["data.frames=1"], "frames=1 is outside the accepted range"),  # only the dataset knows this limit
    (['stages.0.world={"fps": -8}'], "fps=-8.0 is outside the accepted range"),
    (["data.source=folder", "data.path=/nonexistent/videos"], "/nonexistent/videos"),
])
def test_dry_run_rejects_what_a_real_run_rejects_in_one_line(tmp_path, capsys, overrides, needle):
    from kinema.cli import main

    sets = [a for o in overrides for a in ("--set", o)]
    code = main(["train", "toy", "--out", str(tmp_path / "r"), "--dry-run", *sets])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1, err
    assert not (tmp_path / "r").exists()  # a dry run writes nothing


def test_negative_max_steps_on_the_command_line_is_one_line(tmp_path, capsys):
    from kinema.cli import main

    with pytest.raises(SystemExit) as e:
        main(["train", "toy", "--out", str(tmp_path), "--max-steps", "-1"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "argument --max-steps: -1 is outside the accepted range" in err
    assert err.count("\n") == 1


def test_dry_run_with_resume_checks_the_checkpoint(tmp_path, capsys):
    from kinema.cli import main

    _train(tmp_path, ["stages.0.steps=2"], max_steps=1)
    sets = [a for o in TINY + ["stages.0.steps=2"] for a in ("--set", o)]
    assert main(["train", "toy", "--out", str(tmp_path), "--dry-run", "--resume", *sets]) == 0
    code = main(["train", "toy", "--out", str(tmp_path), "--dry-run", "--resume", *sets,
                 "--set", "conditioner.text_encoder=null:32"])
    assert code == 2 and "backbone weights do not match" in capsys.readouterr().err
