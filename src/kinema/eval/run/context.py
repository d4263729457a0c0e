"""What set-level metrics know besides the frames: input images, prompts, frame rate.

* Input images (VBench-I2V's i2v_subject / i2v_background, CLIP-SIM to the image): from
  ``--images DIR`` (files named like the videos), else frame 0 of the reference video of the same
  name, else none.
* Prompts (CLIPScore, VBench camera motion): from ``--prompts FILE`` (JSON ``{name: prompt}``),
  else the ``prompt`` kinema writes into each generated video's metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinema.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


@dataclass
class SetContext:
    names: list[str]
    fps: float
    images: list[np.ndarray] | None  # uint8 (H, W, 3) per video, or None when unknown
    prompts: list[str] | None  # one per video, or None when unknown

    def require_images(self, metric: str) -> list[np.ndarray]:
        if self.images is None:
            raise InputError(f"{metric} needs the input images: pass --images DIR (named like the videos) "
                             "or a --reference folder whose frame 0 is the input")
        return self.images

    def require_prompts(self, metric: str) -> list[str]:
        if self.prompts is None:
            raise InputError(f"{metric} needs a prompt per video: pass --prompts FILE (JSON {{name: prompt}}) "
                             "or videos written by kinema (their metadata holds the prompt)")
        return self.prompts


def set_context(req, gen, ref_set) -> SetContext:
    return SetContext(gen.names, gen.videos[0].fps, _images(req, gen, ref_set), _prompts(req, gen))


def _images(req, gen, ref_set) -> list[np.ndarray] | None:
    if req.images is not None:
        from kinema.video import load_image

        folder = Path(req.images)
        out = []
        for name in gen.names:
            path = next((folder / f"{name}{s}" for s in IMAGE_SUFFIXES if (folder / f"{name}{s}").is_file()), None)
            if path is None:
                raise InputError(f"no input image for {name!r} in {folder} (looked for {name}.png/.jpg/...)")
            x = load_image(path)  # (3, H, W) in [-1, 1]
            out.append(((x.permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8))
        return out
    if ref_set is not None:
        ref = {v.name: v for v in ref_set.videos}
        if all(n in ref for n in gen.names):
            return [ref[n].frames[0] for n in gen.names]
    return None


def _prompts(req, gen) -> list[str] | None:
    if req.prompts is not None:
        try:
            table = json.loads(Path(req.prompts).read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"--prompts {req.prompts}: not a readable JSON object ({e})") from None
        missing = [n for n in gen.names if n not in table]
        if missing:
            raise InputError(f"--prompts {req.prompts} has no prompt for {missing[:3]}")
        return [str(table[n]) for n in gen.names]
    from kinema.video import read_metadata

    prompts = []
    for v in gen.videos:
        meta = read_metadata(v.path, "any")
        if not isinstance(meta, dict) or "prompt" not in meta:
            return None
        prompts.append(str(meta["prompt"]))
    return prompts
