"""``kinema bench world`` outputs: report.json, report.md (metrics x generators) and grid.png.

JSON has no infinity: an infinite PSNR (identical frames) is written as the string ``"inf"``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from kinema.eval.run.report import strict_json as json_safe  # one spelling of non-finite values

ROWS: tuple[tuple[str, str, str], ...] = (  # (summary key, row label, format)
    ("first_frame_psnr", "first-frame PSNR (dB) ↑", "{:.2f}"),
    ("first_frame_ssim", "first-frame SSIM ↑", "{:.4f}"),
    ("direction_accuracy", "motion direction accuracy (within 45° of the caption's) ↑", "{:.3f}"),
    ("direction_accuracy_exact", "motion direction accuracy (exact 8-way word)", "{:.3f}"),
    ("trajectory_epe", "trajectory EPE / image diagonal (mean over frames) ↓", "{:.4f}"),
    ("trajectory_epe_final", "trajectory EPE / image diagonal (last frame) ↓", "{:.4f}"),
    ("camera_accuracy", "camera-move accuracy (textured + photo backgrounds) ↑", "{:.3f}"),
    ("camera_accuracy_all", "camera-move accuracy (all backgrounds)", "{:.3f}"),
    ("static_camera_accuracy", "static camera recovered as static", "{:.3f}"),
    ("warping_error_ratio", "warping error / ground truth (≈1 ideal)", "{:.3f}"),
    ("flicker_ratio", "flicker / ground truth (≈1 ideal)", "{:.3f}"),
    ("warping_error", "warping error (MSE, RGB in [0,1])", "{:.6f}"),
    ("flicker", "flicker (mean abs. frame difference, 0..255)", "{:.3f}"),
    ("fd_world", "Fréchet distance, kinema-world-encoder-v1 ↓", "{:.3f}"),
    ("fd_world_inf", "Fréchet distance extrapolated to infinitely many clips (FD_inf; ground truth ≈ 0) ↓", "{:.3f}"),
    ("seconds_per_clip", "generation time per clip (s)", "{:.4f}"),
    ("peak_rss_mib", "peak RSS during generation (MiB)", "{:.0f}"),
    ("peak_gpu_mib", "peak GPU memory (MiB)", "{:.0f}"),
)


def _cell(value, fmt: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return fmt.format(value)


def markdown_table(report: dict) -> str:
    """Rows = metrics, columns = generators (model first, then the baselines)."""
    cols = list(report["generators"])
    lines = ["| metric | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for key, label, fmt in ROWS:
        cells = [_cell(report["generators"][c].get(key), fmt) for c in cols]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    counts, w = report["generators"][cols[0]], report["protocol"]["world"]
    lines.append("")
    lines.append(f"Counts ({cols[0]} column; every column's are in report.json): {counts['n_videos']} videos "
                 f"({w['clips']} clips x {counts['seeds_per_clip']} seed(s)), {counts['n_moving']} with a moving "
                 f"main object, {counts['n_camera']} moving cameras over textured/photo backgrounds "
                 f"({counts['n_camera_all']} over any), {counts['n_static_camera']} static cameras.")
    return "\n".join(lines)


def background_table(report: dict) -> str:
    cols = list(report["generators"])
    lines = ["| camera accuracy by background | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for bg in next(iter(report["generators"].values()))["camera_accuracy_by_background"]:
        cells = []
        for c in cols:
            entry = report["generators"][c]["camera_accuracy_by_background"][bg]
            cells.append(f"{_cell(entry['accuracy'], '{:.3f}')} (n={entry['n']})")
        lines.append(f"| {bg} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def encoder_check_line(check: dict) -> str:
    parts = ", ".join(f"{k} {v:.2f}" for k, v in check.items() if k != "real")
    return (f"World-encoder check (FD to the reference set): real clips {check['real']:.2f}; "
            f"corrupted copies of the same clips: {parts}.")


def render_markdown(report: dict) -> str:
    w = report["protocol"]["world"]
    last = w["first_index"] + w["clips"] - 1
    head = (f"# kinema bench world\n\nkinema world `{w['preset']}` {w['split']} split, "
            f"{w['size'][0]}x{w['size'][1]} px, {w['frames']} frames @ {w['fps']} fps, clip indices "
            f"{w['first_index']}..{last} (base seed {w['base_seed']}); Fréchet-distance reference: "
            f"{report['protocol']['fd']['n_real']} other {w['split']} clips. "
            "Conditions: first frame + caption + motion amount.\n")
    return "\n\n".join([head, markdown_table(report), background_table(report),
                        encoder_check_line(report["encoder_check"]), "![grid](grid.png)\n"])


def grid_image(rows: list[np.ndarray], columns: int = 8, min_tile: int = 64, gap: int = 2) -> np.ndarray:
    """uint8 image of videos (each (T, H, W, 3)), one per row, ``columns`` frames evenly spaced."""
    tiles = []
    for video in rows:
        idx = np.linspace(0, len(video) - 1, min(columns, len(video))).round().astype(int)
        scale = max(1, int(np.ceil(min_tile / video.shape[1])))
        frames = [np.kron(video[i], np.ones((scale, scale, 1), np.uint8)) for i in idx]  # nearest upscale
        tiles.append(frames)
    h = max(f.shape[0] for r in tiles for f in r)
    w = max(f.shape[1] for r in tiles for f in r)
    ncol = max(len(r) for r in tiles)
    canvas = np.full((len(tiles) * (h + gap) - gap, ncol * (w + gap) - gap, 3), 255, np.uint8)
    for i, r in enumerate(tiles):
        for j, f in enumerate(r):
            canvas[i * (h + gap):i * (h + gap) + f.shape[0], j * (w + gap):j * (w + gap) + f.shape[1]] = f
    return canvas


def write_report(report: dict, grid_rows: list[np.ndarray], out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, report.md and grid.png into ``out_dir`` (atomically each)."""
    from PIL import Image

    from kinema.video._atomic import atomic_file, write_text_atomic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "md": out / "report.md", "grid": out / "grid.png"}
    write_text_atomic(paths["json"], json.dumps(json_safe(report), indent=2, allow_nan=False) + "\n")
    write_text_atomic(paths["md"], render_markdown(report))
    with atomic_file(paths["grid"]) as tmp:
        Image.fromarray(grid_image(grid_rows)).save(tmp, format="PNG")
    return paths
