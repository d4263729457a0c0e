"""Reports of ``kinema eval``: JSON (every number with its protocol), Markdown and HTML with plots.

Plots: bars of each metric's per-video values (one panel per metric, so scales never mix),
per-frame curves where a metric has them, and a grid of sample frames, generated above reference.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from kinema.video._atomic import write_text_atomic

GRID_VIDEOS, GRID_FRAMES, GRID_SIZE = 4, 6, 96  # sample grid: videos, frames per video, tile px


def write_reports(report, out_json: str | Path) -> dict[str, Path]:
    """Write ``out_json`` and, beside it, ``.md`` and ``.html`` (and ``.png`` plots); return the paths."""
    out_json = Path(out_json)
    data = report.to_dict()
    paths = {"json": write_text_atomic(out_json, json.dumps(data, indent=2, default=float) + "\n")}
    stem = out_json.with_suffix("")
    figures = {"dimensions": _dimension_bars(data), "bars": _bars(data), "curves": _curves(data),
               "grid": _grid(report)}
    for name, png in figures.items():
        if png is not None:
            path = stem.parent / f"{stem.name}_{name}.png"
            path.write_bytes(png)
            paths[name] = path
    paths["md"] = write_text_atomic(stem.with_suffix(".md"), markdown(data, {k: v.name for k, v in paths.items()
                                                                             if k in figures}))
    paths["html"] = write_text_atomic(stem.with_suffix(".html"), html_page(data, figures))
    return paths


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def markdown(data: dict, images: dict[str, str]) -> str:
    lines = ["# kinema eval", "", f"generated: `{data['request']['generated']}`  ",
             f"reference: `{data['request']['reference']}`  ",
             f"frame protocol: {data['request']['protocol']}", "",
             "| metric | value | backbone | n gen | n ref | frames | resolution | preprocessing |",
             "|---|---|---|---|---|---|---|---|"]
    for m in data["metrics"]:
        p = m["protocol"]
        lines.append(f"| {m['name']} | {_fmt(m['value'])} | {p['backbone']} | {p['n_generated']} | {p['n_real']} "
                     f"| {p['frames']} | {p['resolution']} | {p['preprocessing']} |")
    skipped = [f"- {k}: `{f}`: {r}" for k, items in data["skipped"].items() for f, r in items]
    if skipped:
        lines += ["", "## Skipped videos", ""] + skipped
    lines += [""] + [f"![{k}]({v})" for k, v in images.items()]
    return "\n".join(lines) + "\n"


def html_page(data: dict, figures: dict[str, bytes | None]) -> str:
    rows = "".join(f"<tr><td>{html.escape(m['name'])}</td><td>{_fmt(m['value'])}</td>"
                   f"<td><code>{html.escape(json.dumps(m['protocol']))}</code></td></tr>" for m in data["metrics"])
    imgs = "".join(f"<h2>{k}</h2><img src='data:image/png;base64,{base64.b64encode(v).decode()}'>"
                   for k, v in figures.items() if v is not None)
    skipped = "".join(f"<li>{html.escape(f)}: {html.escape(r)}</li>" for items in data["skipped"].values()
                      for f, r in items)
    return (f"<!doctype html><meta charset='utf-8'><title>kinema eval</title><h1>kinema eval</h1>"
            f"<p>generated: {html.escape(data['request']['generated'])}<br>reference: "
            f"{html.escape(str(data['request']['reference']))}</p><table border=1><tr><th>metric</th><th>value</th>"
            f"<th>protocol</th></tr>{rows}</table><ul>{skipped}</ul>{imgs}\n")


def _figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _bars(data: dict) -> bytes | None:
    metrics = [m for m in data["metrics"] if m["per_video"]] or data["metrics"]
    if not metrics:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(len(metrics), 1, figsize=(7, 1.6 * len(metrics) + 0.4), squeeze=False)
    for ax, m in zip(axes[:, 0], metrics):
        items = m["per_video"] or {"all": m["value"]}
        heights = [v if np.isfinite(v) else 0.0 for v in items.values()]  # PSNR of identical frames is inf
        ax.bar(range(len(items)), heights, color="#4477aa")
        ax.set_title(f"{m['name']} (mean {_fmt(m['value'])})", fontsize=9)
        ax.set_xticks(range(len(items)), [k[-12:] for k in items], fontsize=6, rotation=45)
    fig.tight_layout()
    return _figure_png(fig)


def _dimension_bars(data: dict) -> bytes | None:
    """VBench-I2V dimensions side by side (all on VBench's 0..1 scale)."""
    dims = [m for m in data["metrics"] if m["name"].startswith("vbench-i2v/")]
    if not dims:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(dims) + 0.8))
    names = [m["name"].split("/", 1)[1] for m in dims]
    ax.barh(range(len(dims)), [m["value"] for m in dims], color="#228833")
    ax.set_yticks(range(len(dims)), names, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_title("VBench-I2V dimensions", fontsize=9)
    for i, m in enumerate(dims):
        ax.text(min(m["value"], 0.98), i, f" {m['value']:.3f}", va="center", fontsize=7)
    fig.tight_layout()
    return _figure_png(fig)


def _curves(data: dict) -> bytes | None:
    metrics = [m for m in data["metrics"] if m.get("curve")]
    if not metrics:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(len(metrics), 1, figsize=(7, 1.8 * len(metrics) + 0.4), squeeze=False)
    for ax, m in zip(axes[:, 0], metrics):
        ax.plot(m["curve"], marker=".", color="#aa3377")
        ax.set_title(f"{m['name']} per frame (mean over videos)", fontsize=9)
        ax.set_xlabel("frame", fontsize=8)
    fig.tight_layout()
    return _figure_png(fig)


def _tile(frame: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(frame).resize((GRID_SIZE, GRID_SIZE), Image.BILINEAR))


def _row(frames: np.ndarray) -> np.ndarray:
    idx = np.linspace(0, len(frames) - 1, min(GRID_FRAMES, len(frames))).round().astype(int)
    return np.concatenate([_tile(frames[i]) for i in idx], axis=1)


def _grid(report) -> bytes | None:
    ref = {v.name: v for v in report.reference.videos} if report.reference else {}
    rows = []
    for v in report.generated.videos[:GRID_VIDEOS]:
        rows.append(_row(v.frames))
        if v.name in ref:
            rows.append(_row(ref[v.name].frames))
    if not rows:
        return None
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0))) for r in rows]
    buf = io.BytesIO()
    Image.fromarray(np.concatenate(rows)).save(buf, format="PNG")
    return buf.getvalue()
