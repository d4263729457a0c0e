"""Typed configs: overrides, unknown keys and out-of-range values fail with the key named."""

import pytest

from kinema.config import apply_overrides, from_dict
from kinema.errors import ConfigError, InputError
from kinema.train.config import TrainConfig, load_config


def test_overrides_reach_nested_fields():
    cfg = load_config("toy", ["optim.lr=0.001", "stages.0.steps=7", "data.size=[16,16]"])
    assert cfg.optim.lr == 0.001 and cfg.stages[0].steps == 7 and tuple(cfg.data.size) == (16, 16)


def test_unknown_key_names_the_key_and_the_accepted_ones():
    with pytest.raises(ConfigError, match=r"optim\.lrr.*accepted keys: .*lr"):
        load_config("toy", ["optim.lrr=1"])


@pytest.mark.parametrize("override,needle", [
    ("batch_size=0", "batch_size=0 is outside"),
    ("precision=fp8", "precision='fp8' is not one of"),
    ("stages.0.image_prob=2", "image_prob=2.0 is outside"),
    ("batch_size=abc", "batch_size: expected an integer"),
])
def test_invalid_values_name_key_value_and_range(override, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace("[", r"\[")):
        load_config("toy", [override])


def test_missing_config_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="neither a file nor a preset"):
        load_config(str(tmp_path / "nope.json"))


def test_yaml_and_json_files_load(tmp_path):
    (tmp_path / "a.yaml").write_text("batch_size: 3\nstages:\n  - {name: s, steps: 2}\n")
    (tmp_path / "b.json").write_text('{"batch_size": 5}')
    assert load_config(str(tmp_path / "a.yaml")).batch_size == 3
    assert load_config(str(tmp_path / "b.json")).batch_size == 5


def test_apply_overrides_does_not_mutate_input():
    base = {"a": {"b": 1}}
    out = apply_overrides(base, ["a.b=2", "a.c=true"])
    assert base == {"a": {"b": 1}} and out == {"a": {"b": 2, "c": True}}


def test_from_dict_round_trip_of_the_default_config():
    from kinema.config import to_dict

    cfg = TrainConfig()
    assert from_dict(TrainConfig, to_dict(cfg)) == cfg


@pytest.mark.parametrize("override,needle", [
    ("optim.accumulation=0", "optim.accumulation=0 is outside the accepted range [1, inf]"),
    ("log_every=0", "log_every=0 is outside the accepted range [1, inf]"),
    ("optim.lr=NaN", "optim.lr=nan is outside the accepted range (0, inf]"),
    ("optim.lr=0", "optim.lr=0.0 is outside the accepted range (0, inf]"),
    ("optim.grad_clip=-1", "optim.grad_clip=-1.0 is outside the accepted range [0.0, inf]"),
    ("optim.warmup_steps=-1", "optim.warmup_steps=-1 is outside the accepted range [0, inf]"),
    ("optim.betas=[0.9,1.0]", "optim.betas[1]=1.0 is outside the accepted range [0, 1)"),
    ("diffusion.sample_steps=-3", "diffusion.sample_steps=-3 is outside the accepted range [1, 1000]"),
    ("save_every_minutes=-1", "save_every_minutes=-1.0 is outside the accepted range [0.0, inf]"),
    ("ema_decay=Infinity", "ema_decay=inf is outside the accepted range [0.0, 1.0]"),
    ("stages.0.lr=-1", "stages[video].lr=-1.0 is outside the accepted range (0, inf]"),
    ('stages=[{"name":"a","steps":1},{"name":"a","steps":1}]', "stages: names must be unique"),
    ("stages.5=1", "override stages.5: stages has 1 element(s), no index 5 (valid indices 0..0)"),
    ("stages.x=1", "override stages.x: 'x' is not an index of stages"),
    ("stages.x.steps=1", "override stages.x.steps: 'x' is not an index of stages"),
])
def test_out_of_range_training_values_name_the_key_and_the_range(override, needle):
    """Each of these once trained nothing with exit 0, crashed mid-run, or raised a raw IndexError."""
    with pytest.raises(ConfigError) as e:
        load_config("toy", [override])
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_check_range_rejects_nan_and_infinity():
    from kinema.config import check_range

    for bad in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ConfigError, match="outside the accepted range"):
            check_range("x", bad, 0, None)
    check_range("x", 3, 0, None)


def test_the_toy_preset_checkpoints_before_its_end():
    cfg = load_config("toy")
    assert 0 < cfg.save_every < cfg.total_steps and cfg.save_every_minutes > 0
