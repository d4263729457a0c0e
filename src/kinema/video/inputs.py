"""Input images before any model loads: open and decode them, read their shown size, fingerprint them.

Torch-free on purpose: the command line checks every input file here (image, last frame, mask)
before it loads a model, so a typo in a path costs a fraction of a second, not a model load.
:func:`kinema.video.load_image` opens files through :func:`open_image` too, so both report a bad
file with the same line.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from kinema.errors import InputError

DEFAULT_MAX_PIXELS = 50_000_000  # larger images are refused from their header (decompression bombs)
_ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height (transpose and 90-degree turns)
_EXIF_ORIENTATION = 0x0112
ASPECT_TOLERANCE_PX = 1.0  # a mask whose aspect differs from the image's by at most this much is resized


def _is_array(value: Any) -> bool:
    """isinstance(value, numpy.ndarray) without importing numpy (0.3 s) when nothing has yet."""
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.ndarray)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def open_image(path: str | os.PathLike) -> Image.Image:
    """``Image.open`` with one-line InputErrors for a missing, empty, folder or non-image path."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"cannot read image {path}: no such file")
    if path.is_dir():
        raise InputError(f"cannot read image {path}: it is a folder, not an image file")
    if path.stat().st_size == 0:
        raise InputError(f"cannot read image {path}: the file is empty (0 bytes)")
    try:
        return Image.open(path)
    except UnidentifiedImageError:
        raise InputError(f"cannot read image {path}: not an image format Pillow recognises") from None
    except Image.DecompressionBombError as e:
        raise InputError(f"cannot read image {path}: {e}") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise InputError(f"cannot read image {path}: {_one_line(e)}") from None


def check_pixels(im: Image.Image, name: str, max_pixels: int) -> None:
    """Refuse an image above ``max_pixels`` from its header, before any pixel is decoded."""
    w, h = im.size
    if w * h > max_pixels:
        raise InputError(f"image {name} is {w}x{h} = {w * h / 1e6:.1f} Mpx, above the limit of "
                         f"{max_pixels / 1e6:.1f} Mpx (raise max_pixels to accept it)")
    if w < 1 or h < 1:
        raise InputError(f"image {name} has an empty size {w}x{h}")


def shown_size(im: Image.Image) -> tuple[int, int]:
    """(W, H) as the image is shown: EXIF orientation 5-8 (a portrait phone photo) swaps the sides."""
    w, h = im.size
    try:
        orientation = im.getexif().get(_EXIF_ORIENTATION)
    except (OSError, ValueError, SyntaxError):
        orientation = None
    return (h, w) if orientation in _ROTATED else (w, h)


def check_image_file(path: str | os.PathLike, max_pixels: int) -> tuple[int, int]:
    """Open and fully decode ``path`` (a truncated file fails here, not after a model load); (W, H) shown."""
    with open_image(path) as im:
        check_pixels(im, str(path), max_pixels)
        try:
            im.load()
            ImageOps.exif_transpose(im)  # a broken EXIF block fails now too
        except (OSError, ValueError, SyntaxError) as e:
            raise InputError(f"cannot read image {path}: {_one_line(e)}") from None
        return shown_size(im)


def image_size(value: Any) -> tuple[int, int]:
    """(W, H) of an input image in any accepted form: a path, a PIL image, an (H, W[, C]) numpy array
    or a (C, H, W) / (H, W) tensor (a mask)."""
    if isinstance(value, (str, os.PathLike)):
        with open_image(value) as im:
            return shown_size(im)
    if isinstance(value, Image.Image):
        return shown_size(value)
    if _is_array(value):
        return int(value.shape[1]), int(value.shape[0])
    shape = tuple(getattr(value, "shape", ()))
    if len(shape) in (2, 3):  # a tensor: (H, W) mask or (C, H, W) image
        return int(shape[-1]), int(shape[-2])
    raise InputError(f"cannot tell the size of an input of type {type(value).__name__}")


def mask_fit(mask: tuple[int, int], image: tuple[int, int]) -> str | None:
    """How a motion-brush mask of size ``mask`` maps onto an image of size ``image`` (both (W, H)).

    Same size: None. Same aspect (within a pixel of rounding): a note saying it is resized, since a
    mask painted on a downscaled copy of the photo still marks the same object. Another aspect:
    InputError, because the mask would be cropped differently from the image and mark the wrong place.
    """
    if mask == image:
        return None
    (mw, mh), (iw, ih) = mask, image
    if abs(mh * iw / mw - ih) <= ASPECT_TOLERANCE_PX or abs(mw * ih / mh - iw) <= ASPECT_TOLERANCE_PX:
        return f"mask {mw}x{mh} resized to the image's {iw}x{ih} (same aspect ratio)"
    raise InputError(f"mask is {mw}x{mh} but the image is {iw}x{ih}: a motion-brush mask must have the "
                     f"image's aspect ratio (ideally its size) so that it marks the same place")


def sha256_of(value: Any) -> dict[str, str]:
    """Fingerprint of an input for provenance: ``{"sha256": hex, "of": "file" | "pixels"}``.

    A path is hashed as a file, so the value matches ``sha256sum``; an in-memory image (PIL, numpy,
    tensor) by its pixel bytes as given.
    """
    if isinstance(value, (str, os.PathLike)):
        digest = hashlib.sha256()
        with open(value, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return {"sha256": digest.hexdigest(), "of": "file"}
    if isinstance(value, Image.Image):
        data = value.tobytes()
    elif _is_array(value):
        data = sys.modules["numpy"].ascontiguousarray(value).tobytes()
    else:  # a tensor
        data = value.detach().cpu().contiguous().numpy().tobytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "of": "pixels"}
