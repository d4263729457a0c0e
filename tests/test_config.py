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
