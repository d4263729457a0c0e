"""Synthetic test images shared by the eval tests."""

import cv2
import numpy as np


def texture(h, w, seed=0):
    """A smooth random RGB texture, uint8 (h, w, 3): trackable corners everywhere."""
    r = cv2.GaussianBlur(np.random.default_rng(seed).random((h, w, 3)).astype(np.float32), (0, 0), 1.5)
    return ((r - r.min()) / (r.max() - r.min()) * 255).astype(np.uint8)
