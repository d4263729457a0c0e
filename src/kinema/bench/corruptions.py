"""Corrupted clips for the world encoder's sanity check: its Fréchet distance must tell them apart.

Each corruption maps a uint8 (T, H, W, 3) video to another of the same shape, deterministically
(seeded ``numpy`` generator where random):

* ``shuffled``: frames in a random order (appearance intact, motion incoherent);
* ``frozen``: frame 0 repeated (no motion at all);
* ``blurred``: Gaussian blur of every frame, sigma = ``BLUR_SIGMA`` of the image size;
* ``noisy``: additive Gaussian noise, std ``NOISE_STD`` grey levels, clipped.

The check (:func:`separation`) compares FD(reference, real) — two disjoint sets of real test clips,
so only sampling noise — with FD(reference, corrupted(real)) for every corruption.
"""

from __future__ import annotations

import cv2
import numpy as np

BLUR_SIGMA = 0.03  # fraction of sqrt(W H): ~2 px at 64x64
NOISE_STD = 25.0  # grey levels (0..255)


def shuffled(video: np.ndarray, seed: int = 0) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(len(video))
    return video[order]


def frozen(video: np.ndarray, seed: int = 0) -> np.ndarray:
    return np.repeat(video[:1], len(video), axis=0)


def blurred(video: np.ndarray, seed: int = 0) -> np.ndarray:
    sigma = BLUR_SIGMA * float(np.sqrt(video.shape[1] * video.shape[2]))
    return np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in video])


def noisy(video: np.ndarray, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, NOISE_STD, video.shape)
    return np.clip(video.astype(np.float64) + noise, 0, 255).round().astype(np.uint8)


CORRUPTIONS = {"shuffled": shuffled, "frozen": frozen, "blurred": blurred, "noisy": noisy}


def separation(reference_features: np.ndarray, videos: list[np.ndarray], features_fn) -> dict[str, float]:
    """{"real": FD(ref, videos), <corruption>: FD(ref, corrupted videos)} on world-encoder features.

    ``features_fn(list of uint8 videos) -> (N, dim)``; video i is corrupted with seed i.
    """
    from kinema.eval import frechet_distance_features

    out = {"real": frechet_distance_features(reference_features, features_fn(videos))}
    for name, corrupt in CORRUPTIONS.items():
        bad = [corrupt(v, seed=i) for i, v in enumerate(videos)]
        out[name] = frechet_distance_features(reference_features, features_fn(bad))
    return out
