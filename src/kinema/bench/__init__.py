"""Benchmarks that consume the public API (like the CLI): ``kinema bench world``.

* :func:`bench_world` — a model and the static / ground-truth baselines on the held-out test split
  of kinema world: first-frame fidelity, motion direction and trajectory error, camera-move
  accuracy, temporal consistency, a Fréchet distance, time and memory (:mod:`kinema.bench.world`).
* :func:`load_world_encoder` — ``kinema-world-encoder-v1``, the small video encoder behind that
  Fréchet distance, trained on kinema world only (:mod:`kinema.bench.world_encoder`; recipe in
  :mod:`kinema.bench.encoder_train`).
"""

from kinema.bench.world import BENCH_ID, bench_world
from kinema.bench.world_encoder import ENCODER_ID, WorldEncoder, WorldEncoderConfig, load_world_encoder, world_features

__all__ = ["BENCH_ID", "ENCODER_ID", "WorldEncoder", "WorldEncoderConfig", "bench_world", "load_world_encoder",
           "world_features"]
