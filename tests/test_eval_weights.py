"""The weights registry: resolution order, one-line errors, safe loading, verification."""

from __future__ import annotations

import hashlib
import os
import re

import pytest
import torch
from safetensors.torch import save_file

from kinema.errors import ConfigError, InputError
from kinema.eval import weights
from kinema.eval.weights import CATALOG, WeightSpec

PAYLOAD = b"kinema weights registry test payload\n"
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
SOURCE = "https://example.org/kinema-test/test.pth"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No user weights leak in: every weights variable unset, the cache in tmp."""
    for name in list(os.environ):
        if name.startswith("KINEMA_WEIGHT") or name in ("XDG_CACHE_HOME",):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KINEMA_CACHE", str(tmp_path / "kcache"))
    return tmp_path


def _spec(**kw) -> WeightSpec:
    base = {"id": "test-weight.v1", "filename": "test-weight.pth", "sha256": PAYLOAD_SHA,
            "size": len(PAYLOAD), "source": SOURCE, "licence": "MIT (test)", "format": "pth",
            "used_by": ("test",)}
    base.update(kw)
    return WeightSpec(**base)


@pytest.fixture
def spec():
    s = weights.register(_spec())
    yield s
    weights.unregister(s.id)


def _put(path, data: bytes = PAYLOAD):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# ---- resolution --------------------------------------------------------------------------------

def test_env_var_name_upper_cases_and_replaces_non_alnum(spec):
    assert spec.env_var == "KINEMA_WEIGHT_TEST_WEIGHT_V1"
    assert CATALOG["lpips-alex-v0.1"].env_var == "KINEMA_WEIGHT_LPIPS_ALEX_V0_1"


def test_resolution_order_explicit_env_dir_cache(spec, monkeypatch, tmp_path):
    explicit = _put(tmp_path / "explicit" / "mine.pth")
    env_file = _put(tmp_path / "env" / "other-name.pth")
    wdir = tmp_path / "wdir"
    _put(wdir / spec.filename)
    cached = _put(tmp_path / "kcache" / "weights" / spec.filename)
    monkeypatch.setenv(spec.env_var, str(env_file))
    monkeypatch.setenv("KINEMA_WEIGHTS_DIR", str(wdir))

    assert weights.resolve_weights(spec.id, path=explicit) == explicit
    assert weights.resolve_weights(spec.id) == env_file
    monkeypatch.delenv(spec.env_var)
    assert weights.resolve_weights(spec.id) == wdir / spec.filename
    monkeypatch.delenv("KINEMA_WEIGHTS_DIR")
    assert weights.resolve_weights(spec.id) == cached


def test_explicit_directory_is_searched_for_the_registry_filename(spec, tmp_path):
    target = _put(tmp_path / "d" / spec.filename)
    assert weights.resolve_weights(spec.id, path=tmp_path / "d") == target


def test_explicit_path_that_misses_is_an_error_not_a_fallback(spec, tmp_path):
    _put(tmp_path / "kcache" / "weights" / spec.filename)  # would be found by the cache step
    with pytest.raises(InputError, match="nowhere.pth") as e:
        weights.resolve_weights(spec.id, path=tmp_path / "nowhere.pth")
    assert "\n" not in str(e.value) and SOURCE in str(e.value)


def test_env_var_that_misses_is_an_error(spec, monkeypatch, tmp_path):
    monkeypatch.setenv(spec.env_var, str(tmp_path / "gone.pth"))
    with pytest.raises(InputError, match=spec.env_var):
        weights.resolve_weights(spec.id)


def test_cache_dir_precedence(monkeypatch, tmp_path):
    assert weights.cache_dir() == tmp_path / "kcache" / "weights"
    monkeypatch.delenv("KINEMA_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights.cache_dir() == tmp_path / "xdg" / "kinema" / "weights"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert weights.cache_dir() == tmp_path / "home" / ".cache" / "kinema" / "weights"


def test_missing_weight_is_one_line_naming_file_places_and_source():
    spec = CATALOG["inception-fid"]
    with pytest.raises(InputError) as e:
        weights.resolve_weights("inception-fid")
    msg = str(e.value)
    assert "\n" not in msg
    for part in ("'inception-fid'", spec.filename, spec.source, spec.env_var, "KINEMA_WEIGHTS_DIR",
                 str(weights.cache_dir())):
        assert part in msg


def test_unknown_id_lists_known_ids():
    with pytest.raises(ConfigError, match="unknown weight id 'no-such'.*inception-fid"):
        weights.resolve_weights("no-such")


def test_alternative_filename_of_a_mirror_is_found(tmp_path):
    alt = _put(tmp_path / "kcache" / "weights" / "weights-inception-2015-12-05-6726825d.pth")
    assert weights.resolve_weights("inception-fid") == alt


def test_where_lists_places_in_order_with_existence(spec, monkeypatch, tmp_path):
    monkeypatch.setenv("KINEMA_WEIGHTS_DIR", str(tmp_path / "wdir"))
    cached = _put(tmp_path / "kcache" / "weights" / spec.filename)
    rows = weights.where(spec.id)
    assert [(place, exists) for place, _, exists in rows] == [("$KINEMA_WEIGHTS_DIR", False), ("cache", True)]
    assert rows[-1][1] == cached


def test_list_rows_show_found_path_and_hash_forms(spec, tmp_path):
    cached = _put(tmp_path / "kcache" / "weights" / spec.filename)
    rows = {r["id"]: r for r in weights.list_rows() if not CATALOG[r["id"]].is_dir}
    assert rows[spec.id]["local"] == str(cached) and rows[spec.id]["source"] == SOURCE
    assert rows["inception-fid"]["local"] == "missing"
    assert rows["dino-vitb16"]["sha256"] == "unknown"
    assert rows["alexnet-torchvision"]["sha256"].startswith("7be5be79")


def test_list_rows_name_every_file_with_its_source_including_folder_members(tmp_path):
    """Issue 25 item 11: one row per file a user must fetch, each with size, hash, source and presence."""
    rows = weights.list_rows()
    assert all(set(r) == set(weights.LIST_COLUMNS) for r in rows)
    for s in CATALOG.values():
        mine = [r for r in rows if r["id"] == s.id]
        assert mine and all(r["source"] == s.source for r in mine), s.id
        assert len(mine) == (len(s.members) if s.is_dir else 1), s.id
    assert len(rows) == sum(len(s.members) if s.is_dir else 1 for s in CATALOG.values())
    clip = {r["file"]: r for r in rows if r["id"] == "clip-vit-base-patch32"}
    assert clip["clip-vit-base-patch32/config.json"]["sha256"].startswith("b575ef3c")
    folder = tmp_path / "kcache" / "weights" / "clip-vit-base-patch32"
    _put(folder / "config.json")
    _put(folder / "pytorch_model.bin")
    clip = {r["file"]: r for r in weights.list_rows() if r["id"] == "clip-vit-base-patch32"}
    assert clip["clip-vit-base-patch32/config.json"]["local"] == str(folder / "config.json")
    assert clip["clip-vit-base-patch32/vocab.json"]["local"] == "missing"
    assert clip["clip-vit-base-patch32/pytorch_model.bin"]["sha256"].startswith("a6308213")  # the one present


def test_cli_weights_list_is_a_table_of_every_file(capsys):
    from kinema.cli import main

    assert main(["weights", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [c.upper() for c in weights.LIST_COLUMNS]
    body = lines[1:-1]
    assert len(body) == len(weights.list_rows()) and lines[-1].startswith(f"{len(body)} files, 0 present")
    assert any("inception-fid" in ln and "https://github.com/mseitzer/pytorch-fid" in ln for ln in body)


# ---- the catalog's own facts -------------------------------------------------------------------

def test_catalog_hashes_agree_with_torch_hub_file_name_prefixes():
    """A torch-hub name ``<stem>-<8 hex>.<ext>`` carries the first 8 hex digits of the sha256."""
    checked = 0
    for s in CATALOG.values():
        for name in s.filenames:
            m = re.search(r"-([0-9a-f]{8})\.[a-z]+$", name)
            if m:
                assert s.sha256_prefix == m.group(1), s.id
                assert s.sha256 is None or s.sha256.startswith(m.group(1)), s.id
                checked += 1
    assert checked >= 4  # inception (two names), alexnet, vgg16, musiq


def test_catalog_entries_name_source_licence_and_consumer():
    for s in CATALOG.values():
        assert s.source.startswith("https://"), s.id
        assert s.licence and s.used_by, s.id
        if s.sha256 is None:  # an unknown hash is explained, never left silent
            assert "sha256" in s.note or "hash" in s.note, s.id


def test_spec_rejects_malformed_hashes_and_formats():
    with pytest.raises(ConfigError, match="64 lowercase hex"):
        _spec(sha256="ABC")
    with pytest.raises(ConfigError, match="does not start with"):
        _spec(sha256_prefix="00000000")
    with pytest.raises(ConfigError, match="format"):
        _spec(format="onnx")


def test_register_refuses_to_shadow_an_existing_id(spec):
    with pytest.raises(ConfigError, match="already registered"):
        weights.register(_spec(size=1))


# ---- loading -----------------------------------------------------------------------------------

def _state() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"conv.weight": torch.randn(4, 3, 3, 3, generator=g), "conv.bias": torch.randn(4, generator=g)}


def _assert_same(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k, value in a.items():
        assert torch.equal(value, b[k]), k


def test_load_safetensors_round_trip_detected_by_content(tmp_path):
    sd = _state()
    save_file(sd, str(tmp_path / "w.safetensors"))
    _assert_same(weights.load_state_dict(tmp_path / "w.safetensors"), sd)
    save_file(sd, str(tmp_path / "misnamed.pth"))  # safetensors bytes under a .pth name
    _assert_same(weights.load_state_dict(tmp_path / "misnamed.pth"), sd)


@pytest.mark.parametrize("wrap", [None, "state_dict", "model", "module"])
def test_load_pth_round_trip_unwraps_checkpoint_dicts(tmp_path, wrap):
    sd = _state()
    obj = sd if wrap is None else {wrap: sd, "epoch": 7, "optimizer_name": "adam"}
    torch.save(obj, tmp_path / "w.pth")
    _assert_same(weights.load_state_dict(tmp_path / "w.pth"), sd)


_SIDE_EFFECTS: list[str] = []


def _record(tag):
    _SIDE_EFFECTS.append(tag)
    return tag


class _Arbitrary:
    """Unpickling this would call _record: weights_only loading must refuse before that."""

    def __reduce__(self):
        return (_record, ("code ran",))


def test_pickle_with_an_arbitrary_object_is_refused_without_running_it(tmp_path):
    torch.save({"w": torch.ones(2), "payload": _Arbitrary()}, tmp_path / "evil.pth")
    _SIDE_EFFECTS.clear()
    with pytest.raises(InputError, match="evil.pth") as e:
        weights.load_state_dict(tmp_path / "evil.pth")
    assert "\n" not in str(e.value)
    assert _SIDE_EFFECTS == []


@pytest.mark.parametrize("name,data", [("bad.pth", b"\x00not a pickle" * 10),
                                       ("bad.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":")])
def test_corrupt_file_is_one_line_error_naming_it(tmp_path, name, data):
    _put(tmp_path / name, data)
    with pytest.raises(InputError, match=re.escape(name)) as e:
        weights.load_state_dict(tmp_path / name)
    assert "\n" not in str(e.value)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        weights.load_state_dict(tmp_path / "absent.pth")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script, used to build the fixture
def test_torchscript_archive_loads_and_gives_its_state_dict(tmp_path):
    torch.manual_seed(0)
    module = torch.jit.script(torch.nn.Linear(3, 2))
    module.save(str(tmp_path / "lin.pt"))
    loaded = weights.load_torchscript(tmp_path / "lin.pt")
    x = torch.randn(5, 3)
    assert torch.equal(loaded(x), module(x))
    _assert_same(weights.load_state_dict(tmp_path / "lin.pt"), dict(module.state_dict()))


def test_load_torchscript_refuses_a_plain_checkpoint(tmp_path):
    torch.save(_state(), tmp_path / "plain.pt")
    with pytest.raises(InputError, match="plain.pt.*TorchScript"):
        weights.load_torchscript(tmp_path / "plain.pt")


# ---- verification ------------------------------------------------------------------------------

def test_verify_accepts_the_recorded_file(spec, tmp_path):
    _put(tmp_path / "kcache" / "weights" / spec.filename)
    r = weights.verify(spec.id)
    assert (r.found, r.size_ok, r.sha256_ok, r.ok) == (True, True, True, True)


def test_verify_detects_a_wrong_hash_of_the_right_size(spec, tmp_path):
    wrong = bytes(reversed(PAYLOAD))  # same length, different bytes
    _put(tmp_path / "kcache" / "weights" / spec.filename, wrong)
    r = weights.verify(spec.id)
    assert (r.found, r.size_ok, r.sha256_ok, r.ok) == (True, True, False, False)
    assert hashlib.sha256(wrong).hexdigest() in r.message


def test_verify_detects_a_wrong_size(spec, tmp_path):
    _put(tmp_path / "kcache" / "weights" / spec.filename, PAYLOAD + b"x")
    r = weights.verify(spec.id)
    assert (r.size_ok, r.ok) == (False, False)
    assert str(len(PAYLOAD) + 1) in r.message


def test_verify_with_only_a_prefix(tmp_path):
    s = weights.register(_spec(id="test-prefix", filename=f"thing-{PAYLOAD_SHA[:8]}.pth", sha256=None,
                               size=None, sha256_prefix=PAYLOAD_SHA[:8]))
    try:
        path = _put(tmp_path / "kcache" / "weights" / s.filename)
        r = weights.verify(s.id)
        assert (r.found, r.size_ok, r.sha256_ok) == (True, None, True)
        _put(path, PAYLOAD + b"tampered")
        r = weights.verify(s.id)
        assert (r.sha256_ok, r.ok) == (False, False)
    finally:
        weights.unregister(s.id)


def test_verify_without_any_hash_checks_presence_and_size(tmp_path):
    s = weights.register(_spec(id="test-nohash", sha256=None, size=None))
    try:
        assert weights.verify(s.id).found is False
        _put(tmp_path / "kcache" / "weights" / s.filename)
        r = weights.verify(s.id)
        assert (r.found, r.size_ok, r.sha256_ok, r.ok) == (True, None, None, True)
    finally:
        weights.unregister(s.id)


def test_verify_folder_members_and_pins(tmp_path):
    s = weights.register(_spec(id="test-dir", filename="model-dir", sha256=None, size=None, format="hf-dir",
                               members=("config.json", "model.safetensors|pytorch_model.bin"),
                               member_sha256=(("pytorch_model.bin", PAYLOAD_SHA),)))
    try:
        folder = tmp_path / "kcache" / "weights" / "model-dir"
        _put(folder / "config.json", b"{}")
        r = weights.verify(s.id)
        assert not r.found and "model.safetensors|pytorch_model.bin" in r.message
        _put(folder / "pytorch_model.bin")
        assert weights.verify(s.id).sha256_ok is True
        _put(folder / "pytorch_model.bin", PAYLOAD + b"!")
        assert weights.verify(s.id).sha256_ok is False
        assert weights.resolve_weights(s.id, path=folder) == folder  # the folder itself
    finally:
        weights.unregister(s.id)
