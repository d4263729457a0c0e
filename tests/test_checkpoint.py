"""Checkpoints: safetensors with embedded config, atomic writes, pickles refused by default."""

import pytest
import torch

from kinema.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from kinema.errors import InputError


def test_round_trip_keeps_tensors_config_and_info(tmp_path):
    t = {"backbone.w": torch.randn(3, 4), "autoencoder.b": torch.arange(5)}
    save_checkpoint(tmp_path / "m.safetensors", t, {"a": [1, 2]}, {"step": 7})
    tensors, config, info = load_checkpoint(tmp_path / "m.safetensors")
    assert torch.equal(tensors["backbone.w"], t["backbone.w"]) and config == {"a": [1, 2]} and info == {"step": 7}
    assert read_metadata(tmp_path / "m.safetensors") == ({"a": [1, 2]}, {"step": 7})


def test_failed_write_leaves_no_file(tmp_path):
    class Boom(dict):
        def items(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        save_checkpoint(tmp_path / "m.safetensors", Boom(), {})
    assert list(tmp_path.iterdir()) == []


def test_pickle_checkpoint_is_refused_unless_allowed(tmp_path):
    path = tmp_path / "m.pt"
    torch.save({"kinema_config": {"x": 1}, "w": torch.ones(2)}, path)
    with pytest.raises(InputError, match="pickle checkpoints can run code"):
        load_checkpoint(path)
    tensors, config, _ = load_checkpoint(path, allow_unsafe=True)
    assert config == {"x": 1} and torch.equal(tensors["w"], torch.ones(2))


def test_truncated_and_missing_files_are_input_errors(tmp_path):
    save_checkpoint(tmp_path / "m.safetensors", {"w": torch.randn(100, 100)}, {"a": 1})
    data = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "t.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="not a readable safetensors|truncated or corrupt"):
        load_checkpoint(tmp_path / "t.safetensors")
    with pytest.raises(InputError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.safetensors")
    (tmp_path / "x.safetensors").write_bytes(b"not a checkpoint at all")
    with pytest.raises(InputError):
        load_checkpoint(tmp_path / "x.safetensors")


def _file_with_config(path, config_text: str):
    from safetensors.torch import save_file

    save_file({"w": torch.ones(2)}, str(path), metadata={"kinema_config": config_text, "kinema_info": "{}"})


def test_invalid_embedded_json_is_one_input_error_line(tmp_path):
    _file_with_config(tmp_path / "m.safetensors", '{"backbone": ')
    with pytest.raises(InputError, match="embedded 'kinema_config' is not valid JSON") as e:
        load_checkpoint(tmp_path / "m.safetensors")
    assert "\n" not in str(e.value)
    _file_with_config(tmp_path / "l.safetensors", "[1, 2]")
    with pytest.raises(InputError, match="must be a JSON object"):
        read_metadata(tmp_path / "l.safetensors")


def test_remove_stale_temps_removes_only_the_temps_of_that_file(tmp_path):
    from kinema.checkpoint import remove_stale_temps

    ours = tmp_path / ".last.safetensors.k3x_9a2b.tmp"  # what a SIGKILL mid-write leaves
    kept = [tmp_path / n for n in (".model.safetensors.k3x_9a2b.tmp", ".last.safetensors.tmp", "notes.tmp",
                                   "last.safetensors", ".last.safetensors.toolongname.tmp")]
    for p in [ours, *kept]:
        p.write_bytes(b"x" * 10)
    assert remove_stale_temps(tmp_path / "last.safetensors") == [ours]
    assert not ours.exists() and all(p.exists() for p in kept)
    assert remove_stale_temps(tmp_path / "missing" / "last.safetensors") == []


def test_a_sigkill_mid_write_leaves_a_temp_that_remove_stale_temps_finds(tmp_path):
    """The temp name a killed atomic_write leaves is the one remove_stale_temps looks for."""
    import subprocess
    import sys

    target = tmp_path / "last.safetensors"
    code = ("import os, signal\nfrom kinema.checkpoint import atomic_write\n"
            "def write(tmp):\n    open(tmp, 'wb').write(b'x' * 1000)\n    os.kill(os.getpid(), signal.SIGKILL)\n"
            f"atomic_write({str(target)!r}, write)\n")
    assert subprocess.run([sys.executable, "-c", code]).returncode != 0
    from kinema.checkpoint import remove_stale_temps

    left = [p for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].stat().st_size == 1000 and not target.exists()
    assert remove_stale_temps(target) == left and list(tmp_path.iterdir()) == []


def _default_model():
    from kinema.sampling.pipeline import default_model_path

    return load_checkpoint(default_model_path())


def test_a_model_whose_weights_disagree_with_its_config_is_refused_in_one_line(tmp_path):
    import kinema

    tensors, config, info = _default_model()
    config["backbone"]["config"]["text_dim"] = config["backbone"]["config"]["text_dim"] * 2
    save_checkpoint(tmp_path / "m.safetensors", tensors, config, info)
    with pytest.raises(InputError, match=r"backbone weights do not match its config \(\d+ of another shape: ") as e:
        kinema.load(tmp_path / "m.safetensors", device="cpu")
    assert "\n" not in str(e.value) and len(str(e.value)) < 600


def test_a_model_with_nan_weights_is_refused_on_load(tmp_path):
    import kinema

    tensors, config, info = _default_model()
    key = next(k for k in tensors if k.startswith("backbone.") and tensors[k].is_floating_point())
    tensors[key] = tensors[key].clone()
    tensors[key].view(-1)[0] = float("nan")
    save_checkpoint(tmp_path / "m.safetensors", tensors, config, info)
    with pytest.raises(InputError, match=f"hold NaN or inf in 1 of .* tensors \\(first: {key[len('backbone.'):]}\\)"):
        kinema.load(tmp_path / "m.safetensors", device="cpu")


def test_weights_mismatch_counts_and_names_each_kind():
    from kinema.build import weights_mismatch

    want = {"a": torch.zeros(2, 3), "b": torch.zeros(4), "c": torch.zeros(1)}
    got = {"a": torch.zeros(3, 3), "c": torch.zeros(1), "d": torch.zeros(5)}
    assert weights_mismatch(want, got) == ("1 of another shape: a (3, 3) in the file, (2, 3) in the model; "
                                           "1 missing: b (4); 1 unexpected: d (5)")
    assert weights_mismatch(want, dict(want)) is None
