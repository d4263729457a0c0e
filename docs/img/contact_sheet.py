"""Draw docs/img/contact_sheet.png: real outputs of the default model on the example photographs.

Run from the repository root: `.venv/bin/python docs/img/contact_sheet.py` (about a minute on 2 CPU
cores). Each row is one video (seed 0, the model's defaults), every second of its 16 frames shown
left to right at 2x, under the prompt that made it. The rows are chosen to show what works (zoom)
and what does not (pans sliding into grey, a prompt outside kinema world's words, a transition).
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import kinema

ROWS = [  # (image, prompt, keyword arguments)
    ("examples/astronaut.png", "the camera zooms in", {}),
    ("examples/chelsea.png", "the camera pans left", {}),
    ("examples/coffee.png", "steam rises from the cup", {}),
    ("examples/astronaut.png", "a slow transition", {"last_frame": "examples/coffee.png"}),
]
SCALE, STRIDE, LABEL_H = 2, 2, 16


def labelled_row(frames: np.ndarray, label: str) -> Image.Image:
    """Every STRIDE-th frame of (T, H, W, 3) uint8 side by side, enlarged, under a one-line label."""
    strip = Image.fromarray(np.concatenate(list(frames[::STRIDE]), axis=1))  # (H, W * T / STRIDE, 3)
    strip = strip.resize((strip.width * SCALE, strip.height * SCALE), Image.NEAREST)
    row = Image.new("RGB", (strip.width, strip.height + LABEL_H), "white")
    row.paste(strip, (0, LABEL_H))
    ImageDraw.Draw(row).text((4, 2), label, fill="black")
    return row


def main(out: Path = Path("docs/img/contact_sheet.png")) -> None:
    pipe = kinema.load()  # the default model, embedded in the package
    rows = []
    for image, prompt, kwargs in ROWS:
        result = pipe(image, prompt=prompt, seed=0, **kwargs)
        extra = "".join(f", {k}={Path(v).name}" for k, v in kwargs.items())
        rows.append(labelled_row(result.frames, f"{Path(image).name}, \"{prompt}\"{extra}  (frames 0, 2, ..., 14)"))
    sheet = Image.new("RGB", (rows[0].width, sum(r.height for r in rows)), "white")
    for i, row in enumerate(rows):
        sheet.paste(row, (0, sum(r.height for r in rows[:i])))
    sheet.save(out, optimize=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
