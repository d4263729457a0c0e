"""Reports of ``kinema eval``: JSON (every number with its protocol), Markdown and HTML with plots.

Plots: bars of each metric's per-video values (one panel per metric, so scales never mix),
per-frame curves where a metric has them, and a grid of sample frames, generated above reference.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from kinema.errors import KinemaError
from kinema.video._atomic import atomic_file

NON_FINITE_NOTE = ('non-finite values are written as the strings "inf", "-inf" and "nan" (strict JSON has no '
                   'infinity); PSNR is "inf" for identical frames')
GRID_VIDEOS, GRID_FRAMES, GRID_SIZE = 4, 6, 96  # sample grid: videos, frames per video, tile px


def write_reports(report, out_json: str | Path) -> dict[str, Path]:
    """Write ``out_json`` and, beside it, ``.md`` and ``.html`` (and ``.png`` plots); return the paths.

    Every file is written atomically (a temporary name in the same folder, then a rename), and
    report.json comes last: a failure at any point (a full disk) leaves no truncated file, and a
    report.json on disk means the whole report was written.
    """
    out_json = Path(out_json)
    data = report.to_dict()
    if _has_non_finite(data):
        data["notes"] = [NON_FINITE_NOTE]
    text = json.dumps(strict_json(data), indent=2, allow_nan=False) + "\n"  # fails here, before any write
    stem = out_json.with_suffix("")
    figures = {"dimensions": _dimension_bars(data), "bars": _bars(data), "curves": _curves(data),
               "grid": _grid(report)}
    paths: dict[str, Path] = {}
    for name, png in figures.items():
        if png is not None:
            paths[name] = _write(stem.parent / f"{stem.name}_{name}.png", png)
    paths["md"] = _write(stem.with_suffix(".md"), markdown(data, {k: v.name for k, v in paths.items()}))
    paths["html"] = _write(stem.with_suffix(".html"), html_page(data, figures))
    paths["json"] = _write(out_json, text)
    return paths


def strict_json(value):
    """``value`` with every non-finite float as the string ``"inf"``, ``"-inf"`` or ``"nan"``.

    Strict JSON (RFC 8259) has no infinity, and ``json.dumps`` would write a bare ``Infinity`` that
    most parsers reject. PSNR of identical frames is +inf by definition (scikit-image and
    torchmetrics return inf too), so it is kept as a value rather than dropped to ``null``, which
    would read as "missing"; ``float("inf")`` and pandas' ``to_numeric`` read the strings back; ``kinema bench`` reports
    use this function too.
    """
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [strict_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _has_non_finite(value) -> bool:
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_non_finite(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f" and not bool(np.isfinite(value).all())
    return isinstance(value, (float, np.floating)) and not math.isfinite(value)


def _write(path: Path, content: str | bytes) -> Path:
    """Write ``content`` to ``path`` atomically; an OS failure is one line naming the file."""
    try:
        with atomic_file(path) as tmp:
            if isinstance(content, bytes):
                tmp.write_bytes(content)
            else:
                tmp.write_text(content, encoding="utf-8")
    except OSError as e:
        raise KinemaError(f"cannot write {path}: {e.strerror or e}; no partial file was left") from e
    return path


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
    if data.get("notes"):
        lines += [""] + [f"Note: {n}" for n in data["notes"]]
    skipped = [f"- {k}: `{f}`: {r}" for k, items in data["skipped"].items() for f, r in items]
    if skipped:
        lines += ["", "## Skipped videos", ""] + skipped
    lines += [""] + [f"![{k}]({v})" for k, v in images.items()]
    return "\n".join(lines) + "\n"


def html_page(data: dict, figures: dict[str, bytes | None]) -> str:
    rows = "".join(f"<tr><td>{html.escape(m['name'])}</td><td>{_fmt(m['value'])}</td>"
                   f"<td><code>{html.escape(json.dumps(strict_json(m['protocol'])))}</code></td></tr>"
                   for m in data["metrics"])
    imgs = "".join(f"<h2>{k}</h2><img src='data:image/png;base64,{base64.b64encode(v).decode()}'>"
                   for k, v in figures.items() if v is not None)
    notes = "".join(f"<p>Note: {html.escape(n)}</p>" for n in data.get("notes", []))
    skipped = "".join(f"<li>{html.escape(f)}: {html.escape(r)}</li>" for items in data["skipped"].values()
                      for f, r in items)
    return (f"<!doctype html><meta charset='utf-8'><title>kinema eval</title><h1>kinema eval</h1>"
            f"<p>generated: {html.escape(data['request']['generated'])}<br>reference: "
            f"{html.escape(str(data['request']['reference']))}</p><table border=1><tr><th>metric</th><th>value</th>"
            f"<th>protocol</th></tr>{rows}</table>{notes}<ul>{skipped}</ul>{imgs}\n")


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
        _bar_panel(ax, list(items.values()))
        ax.set_title(f"{m['name']} (mean {_fmt(m['value'])})", fontsize=9)
        ax.set_xticks(range(len(items)), [k[-12:] for k in items], fontsize=6, rotation=45)
    fig.tight_layout()
    return _figure_png(fig)


def _bar_panel(ax, values: list[float]) -> None:
    """Bars of ``values``; a non-finite one (PSNR of identical frames is inf) is a hatched bar as
    tall as the tallest finite one, labelled ``inf`` / ``nan``, so a perfect score never looks like 0."""
    finite = [v for v in values if math.isfinite(v)]
    top = max(finite, default=1.0)
    heights = [v if math.isfinite(v) else top for v in values]
    bars = ax.bar(range(len(values)), heights, color="#4477aa")
    for bar, v in zip(bars, values):
        if not math.isfinite(v):
            bar.set(hatch="//", facecolor="white", edgecolor="#4477aa")
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), _fmt(v), ha="center", va="bottom",
                    fontsize=7)


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
