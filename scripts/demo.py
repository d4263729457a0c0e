"""Animate the bundled example images with the default model (loaded once) into out/."""

import time
from pathlib import Path

import kinema

EXAMPLES = [  # (output, image, keyword arguments)
    ("astronaut.mp4", "examples/astronaut.png", dict(prompt="a small red circle moves to the right")),
    ("chelsea.gif", "examples/chelsea.png", dict(prompt="the camera pans left")),
    ("coffee_loop.mp4", "examples/coffee.png", dict(prompt="the camera zooms in", loop=True)),
    ("transition.gif", "examples/coffee.png", dict(prompt="a slow transition", last_frame="examples/chelsea.png")),
]

t0 = time.perf_counter()
pipe = kinema.load()  # the bundled default model: no path, no download
print(f"loaded the default model in {time.perf_counter() - t0:.1f}s")
Path("out").mkdir(exist_ok=True)
for name, image, kwargs in EXAMPLES:
    result = pipe(image, **kwargs)
    path = result.save(Path("out") / name)
    print(f"wrote {path} ({result.frames.shape[0]} frames, generated in {result.seconds:.1f} s): {kwargs['prompt']!r}")
