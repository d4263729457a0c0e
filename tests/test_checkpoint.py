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
