"""load_image: every Pillow mode converted, EXIF orientation, resize policies, bad files."""

import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from kinema.errors import ConfigError, InputError
from kinema.video import load_image


def to01(x):
    return (x + 1) / 2


def test_rgb_values_and_range(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    x = load_image(tmp_path / "a.png")
    assert x.dtype == torch.float32 and x.shape == (3, 6, 5)
    torch.testing.assert_close(x, torch.from_numpy(arr).permute(2, 0, 1).float() / 127.5 - 1)


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red
    rgba[:2, :, 3] = 255  # top half opaque
    rgba[2:, :, 3] = 0  # bottom half transparent
    rgba[3, :, 3] = 128  # one half-transparent row
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    x = to01(load_image(tmp_path / "a.png"))
    torch.testing.assert_close(x[:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(x[:, 2, 0], torch.tensor([1.0, 1.0, 1.0]))
    a = 128 / 255
    torch.testing.assert_close(x[:, 3, 0], torch.tensor([1.0, 1 - a, 1 - a]))


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "PA", "CMYK", "YCbCr", "I;16", "I;16B", "I", "F"])
def test_every_mode_becomes_rgb(tmp_path, mode):
    gray = np.tile(np.linspace(0, 255, 8).astype(np.uint8), (5, 1))
    im = Image.fromarray(gray, "L")
    g16 = gray.astype(np.uint16) * 257  # 8-bit ramp scaled to the full 16-bit range
    if mode == "I;16":
        im = Image.fromarray(g16)
    elif mode == "I;16B":  # big-endian 16-bit (Pillow's convert() to I;16B clips, so build it)
        im = Image.frombytes("I;16B", (8, 5), g16.astype(">u2").tobytes())
    elif mode == "I":
        im = Image.fromarray(g16).convert("I")
    elif mode == "F":
        im = Image.fromarray(gray.astype(np.float32) / 255.0, "F")
    else:
        im = im.convert(mode)
    x = to01(load_image(im))
    assert x.shape == (3, 5, 8)
    assert im.mode == mode
    if mode != "1":
        # every channel reproduces the gray ramp (CMYK / YCbCr / palette conversions are near exact)
        expected = torch.from_numpy(gray).float() / 255
        assert (x - expected).abs().max() < 0.02, mode
    else:
        assert set(x.unique().tolist()) <= {0.0, 1.0}


def test_palette_with_transparency(tmp_path):
    im = Image.new("P", (4, 4), 0)
    im.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    im.putpixel((0, 0), 1)
    im.info["transparency"] = 0
    im.save(tmp_path / "p.png", transparency=0)
    x = to01(load_image(tmp_path / "p.png"))
    torch.testing.assert_close(x[:, 1, 1], torch.ones(3))  # transparent -> white
    torch.testing.assert_close(x[:, 0, 0], torch.tensor([10, 200, 30]) / 255.0)


def test_sixteen_bit_png_keeps_precision(tmp_path):
    ramp = (np.arange(12, dtype=np.uint16) * 5000 + 7).reshape(3, 4)
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    x = to01(load_image(tmp_path / "g16.png"))
    torch.testing.assert_close(x[1], torch.from_numpy(ramp / 65535.0).float())


def test_cmyk_jpeg_file(tmp_path):
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)  # red
    x = to01(load_image(tmp_path / "c.jpg"))
    assert x[0].mean() > 0.9 and x[1].mean() < 0.1 and x[2].mean() < 0.1


def test_exif_orientation(tmp_path):
    arr = np.zeros((2, 3, 3), np.uint8)
    arr[0, 0] = 255  # white top-left pixel of a 3-wide, 2-high image
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    im.save(tmp_path / "o.jpg", exif=exif, quality=100, subsampling=0)
    x = to01(load_image(tmp_path / "o.jpg"))
    assert x.shape == (3, 3, 2)  # displayed portrait
    assert x[:, 0, 1].mean() > 0.7 and x[:, 0, 0].mean() < 0.3  # the white pixel is now top-right


def test_resize_policies_and_extreme_aspect():
    strip = Image.fromarray(np.full((4, 4000, 3), 200, np.uint8))
    crop = load_image(strip, size=(16, 8))
    assert crop.shape == (3, 8, 16)
    torch.testing.assert_close(crop, torch.full_like(crop, 200 / 127.5 - 1), atol=1e-5, rtol=0)
    pad = load_image(strip, size=(16, 8), policy="pad")
    assert pad.shape == (3, 8, 16)
    # fitted to 16 x 1 pixels, placed at row (8 - 1) // 2 = 3, black bars elsewhere
    assert (pad[:, 3] > 0.5).all() and (pad[:, :3] == -1).all() and (pad[:, 4:] == -1).all()
    assert load_image(strip, size=(5, 7), policy="stretch").shape == (3, 7, 5)


def test_resize_crop_is_centred():
    arr = np.zeros((10, 30, 3), np.uint8)
    arr[:, 10:20] = 255  # the centre third is white
    x = load_image(Image.fromarray(arr), size=(10, 10))
    torch.testing.assert_close(x, torch.ones_like(x), atol=1e-5, rtol=0)


def test_bad_files_raise_input_error(tmp_path):
    Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 99).save(tmp_path / "ok.png")
    data = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(tmp_path / "j.jpg")
    jpg = (tmp_path / "j.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(jpg[: len(jpg) // 2])
    (tmp_path / "notes.png").write_text("hello")
    (tmp_path / "empty.jpg").write_bytes(b"")
    for name in ("cut.png", "cut.jpg", "notes.png", "empty.jpg", "missing.png"):
        with pytest.raises(InputError) as err:
            load_image(tmp_path / name)
        assert name in str(err.value), str(err.value)


def _png_header_only(width, height):
    """A PNG whose header declares a huge size but holds almost no data (a decompression bomb)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


def test_huge_declared_size_is_refused_before_decoding(tmp_path):
    (tmp_path / "bomb.png").write_bytes(_png_header_only(10000, 8000))  # 80 Mpx declared
    with pytest.raises(InputError, match="80.0 Mpx"):
        load_image(tmp_path / "bomb.png")
    (tmp_path / "big.png").write_bytes(_png_header_only(40, 30))
    with pytest.raises(InputError, match="limit"):
        load_image(tmp_path / "big.png", max_pixels=1000)


def test_bad_arguments():
    im = Image.new("RGB", (4, 4))
    with pytest.raises(ConfigError):
        load_image(im, size=(4, 4), policy="zoom")
    with pytest.raises(ConfigError):
        load_image(im, size=(0, 4))
