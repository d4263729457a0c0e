"""Frame-level fidelity: PSNR (Wang et al. 2026, I2V survey Eq. 8), SSIM (Eq. 9) and MS-SSIM, per frame and per video.

Inputs are two videos of the same shape in any layout :mod:`kinema.eval.frames` accepts; they are
compared on the 0..255 scale with ``data_range = 255`` (PSNR and SSIM are invariant to that common
rescaling, so float videos in [-1, 1] give the same numbers as their exact 0..255 image).

SSIM follows Wang et al. (2004) with the settings of ``skimage.metrics.structural_similarity(...,
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=R, channel_axis=-1)``:
an 11-tap Gaussian window (sigma 1.5, truncated at 3.5 sigma), K1 = 0.01, K2 = 0.03, the map
averaged over the pixels at least 5 px from the border, then over the colour channels.

MS-SSIM follows Wang, Simoncelli & Bovik (2003): contrast-structure terms at scales 1..M-1 and the
full SSIM at scale M, weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), 2x2 average pooling
between scales (odd rows/columns dropped), negative terms clipped to 0 (as pytorch-msssim does).
A video is scored per frame; the per-video value is the mean over frames.
"""

from __future__ import annotations

import cv2
import numpy as np

from kinema.errors import InputError
from kinema.eval.frames import DATA_RANGE, as_float_video

SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # int(3.5 * 1.5 + 0.5): window of 11 taps, as skimage's gaussian_filter
K1, K2 = 0.01, 0.03
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _pair(a, b, value_range) -> tuple[np.ndarray, np.ndarray]:
    x, y = as_float_video(a, value_range), as_float_video(b, value_range)
    if x.shape != y.shape:
        raise InputError(f"videos differ in shape: {x.shape} vs {y.shape} (T, H, W, 3)")
    return x, y


def psnr_frames(a, b, value_range=(-1.0, 1.0)) -> np.ndarray:
    """(T,) PSNR in dB per frame, Eq. 8 with MAX = 255 (inf where the frames are identical)."""
    x, y = _pair(a, b, value_range)
    mse = ((x - y) ** 2).mean(axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(DATA_RANGE ** 2 / mse)


def psnr(a, b, value_range=(-1.0, 1.0)) -> float:
    """Mean over frames of the per-frame PSNR (dB)."""
    return float(psnr_frames(a, b, value_range).mean())


def gaussian_window() -> np.ndarray:
    """(11,) normalised Gaussian taps, sigma 1.5 (scipy.ndimage's kernel for truncate=3.5)."""
    r = np.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=np.float64)
    w = np.exp(-0.5 * (r / SSIM_SIGMA) ** 2)
    return w / w.sum()


def _blur(img: np.ndarray) -> np.ndarray:
    w = gaussian_window()
    return cv2.sepFilter2D(img, cv2.CV_64F, w, w, borderType=cv2.BORDER_REFLECT)


def _ssim_cs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One frame pair (H, W, C) -> per-channel (mean SSIM, mean contrast-structure), each (C,)."""
    h, w = x.shape[:2]
    if min(h, w) < 2 * SSIM_RADIUS + 1:
        raise InputError(f"SSIM needs frames of at least {2 * SSIM_RADIUS + 1} px per side, got {h}x{w}")
    c1, c2 = (K1 * DATA_RANGE) ** 2, (K2 * DATA_RANGE) ** 2
    mu_x, mu_y = _blur(x), _blur(y)
    var_x = _blur(x * x) - mu_x ** 2  # population (biased) moments: use_sample_covariance=False
    var_y = _blur(y * y) - mu_y ** 2
    cov = _blur(x * y) - mu_x * mu_y
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x ** 2 + mu_y ** 2 + c1) * cs
    crop = (slice(SSIM_RADIUS, h - SSIM_RADIUS), slice(SSIM_RADIUS, w - SSIM_RADIUS))
    ssim_map, cs = ssim_map[crop].reshape(-1, x.shape[2]), cs[crop].reshape(-1, x.shape[2])
    return ssim_map.mean(0), cs.mean(0)


def ssim_frames(a, b, value_range=(-1.0, 1.0)) -> np.ndarray:
    """(T,) SSIM per frame (Eq. 9), averaged over the colour channels."""
    x, y = _pair(a, b, value_range)
    return np.array([_ssim_cs(fx, fy)[0].mean() for fx, fy in zip(x, y)])


def ssim(a, b, value_range=(-1.0, 1.0)) -> float:
    """Mean over frames of the per-frame SSIM."""
    return float(ssim_frames(a, b, value_range).mean())


def _halve(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
    x = img[:h, :w]
    # (H, W, C) -> (H/2, 2, W/2, 2, C) -> mean over each 2x2 block
    return x.reshape(h // 2, 2, w // 2, 2, -1).mean(axis=(1, 3))


def ms_ssim_min_size(n_scales: int = len(MS_SSIM_WEIGHTS)) -> int:
    """Smallest frame side for which every scale still holds an 11-px window."""
    return (2 * SSIM_RADIUS + 1) * 2 ** (n_scales - 1)


def _ms_ssim_frame(x: np.ndarray, y: np.ndarray, weights: tuple[float, ...]) -> float:
    w = np.asarray(weights, np.float64)
    terms = []
    for scale in range(len(w)):
        s, cs = _ssim_cs(x, y)
        terms.append(np.maximum(s if scale == len(w) - 1 else cs, 0.0))  # (C,)
        x, y = _halve(x), _halve(y)
    per_channel = np.prod(np.stack(terms) ** w[:, None], axis=0)  # (C,)
    return float(per_channel.mean())


def ms_ssim_frames(a, b, value_range=(-1.0, 1.0), weights: tuple[float, ...] = MS_SSIM_WEIGHTS) -> np.ndarray:
    """(T,) MS-SSIM per frame. Frames must be >= :func:`ms_ssim_min_size` px per side."""
    x, y = _pair(a, b, value_range)
    need = ms_ssim_min_size(len(weights))
    if min(x.shape[1:3]) < need:
        raise InputError(f"MS-SSIM with {len(weights)} scales needs frames >= {need} px per side, got "
                         f"{x.shape[1]}x{x.shape[2]}; pass fewer weights (e.g. weights=MS_SSIM_WEIGHTS[:3], "
                         "renormalised) and record it, or use ssim()")
    return np.array([_ms_ssim_frame(fx, fy, tuple(weights)) for fx, fy in zip(x, y)])


def ms_ssim(a, b, value_range=(-1.0, 1.0), weights: tuple[float, ...] = MS_SSIM_WEIGHTS) -> float:
    """Mean over frames of the per-frame MS-SSIM."""
    return float(ms_ssim_frames(a, b, value_range, weights).mean())
