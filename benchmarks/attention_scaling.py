"""How ST-DiT forward time and peak memory grow with frame count: factorized vs full 3-D attention.

    python benchmarks/attention_scaling.py [--frames 4 8 16 32 64] [--max-forward-s 20]

One ST-DiT (hidden 256, depth 4, 4 heads, patch (1, 2, 2), in = out = 4 channels, no text,
no concat, no scalar controls) is run with ``attention="factorized"`` (spatial attention within
each frame over N = 64 tokens, then temporal attention over T frames at each position, survey
Eq. 16) and ``attention="full"`` (one attention over all T * N tokens), on one latent
``(1, 4, T, 16, 16)`` for each T, float32, ``torch.set_num_threads(--threads)``, under
``torch.no_grad()`` (one denoiser forward = one sampling step without guidance).

Each (attention, T) runs in a fresh subprocess (``--worker``), which builds the model and the
input, records ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` as its baseline, runs one warm-up
forward and the timed forwards (until ``--max-reps`` or ``--budget`` seconds), and reports the
median time and **peak memory = ru_maxrss after the forwards - baseline** (the growth of the
process's peak resident set caused by the forward passes: activations, attention buffers and
allocator caches; weights and input are in the baseline). GFLOP per forward are counted with
``FlopCounterMode`` (CPU attention formula from ``core_speed.py``).

A configuration is skipped when the previous frame count's time, scaled by (T / T_prev)^2
(the quadratic cost of full attention, an upper bound for both), predicts more than
``--max-forward-s`` seconds per forward; a worker that exceeds ``--timeout`` seconds is reported
as timed out. The growth exponent is the least-squares slope of log(time) (or log(memory))
against log(T) over the measured frame counts, plus the local slope between the last two.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from core_speed import count_flops, cpu_model, time_reps  # noqa: E402

from kinema.models import build_backbone, count_parameters  # noqa: E402

MODEL = dict(hidden_size=256, depth=4, num_heads=4, patch_size=[1, 2, 2], in_channels=4, out_channels=4)
LATENT_SIZE = 16  # h = w; with patch 2 -> N = 64 tokens per frame
ATTENTIONS = ("factorized", "full")


# ---- worker: one (attention, T) in its own process ------------------------------------------------

def run_worker(attention: str, frames: int, args) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_backbone("stdit", {**MODEL, "attention": attention}).eval()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, MODEL["in_channels"], frames, LATENT_SIZE, LATENT_SIZE, generator=gen)  # (B, C, T, h, w)
    c_noise = torch.full((1,), 500.0)
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with torch.no_grad():
        times = time_reps(lambda: model(x, c_noise, None), args.max_reps, args.budget)
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        flops = count_flops(lambda: model(x, c_noise, None))
    return {"attention": attention, "frames": frames, "tokens": frames * (LATENT_SIZE // 2) ** 2,
            "params": count_parameters(model), "times_s": times, "time_s": statistics.median(times),
            "min_time_s": min(times),
            "baseline_mib": baseline_kb / 1024, "peak_mib": (peak_kb - baseline_kb) / 1024, "flops": flops}


# ---- driver -----------------------------------------------------------------------------------------

def spawn(attention: str, frames: int, args) -> dict:
    """Run one configuration in a fresh interpreter; its last stdout line is the JSON result."""
    cmd = [sys.executable, __file__, "--worker", attention, str(frames), "--threads", str(args.threads),
           "--budget", str(args.budget), "--max-reps", str(args.max_reps)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"attention": attention, "frames": frames, "skipped": f"timed out after {args.timeout:.0f} s"}
    except subprocess.CalledProcessError as e:
        return {"attention": attention, "frames": frames, "skipped": f"failed: {e.stderr.strip()[-200:]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def sweep(attention: str, args) -> list[dict]:
    rows, prev = [], None
    for frames in args.frames:
        if prev is not None and "time_s" in prev:
            predicted = prev["time_s"] * (frames / prev["frames"]) ** 2
            if predicted > args.max_forward_s:
                rows.append({"attention": attention, "frames": frames,
                             "skipped": f"predicted {predicted:.0f} s/forward > {args.max_forward_s:.0f} s"})
                prev = rows[-1]
                continue
        elif prev is not None:  # the previous one was skipped: so is every larger T
            rows.append({"attention": attention, "frames": frames, "skipped": "larger T than a skipped one"})
            continue
        row = spawn(attention, frames, args)
        rows.append(row)
        prev = row
        _log(f"{attention} T={frames}: " + (row.get("skipped") or
                                             f"{row['time_s']:.3f} s, +{row['peak_mib']:.0f} MiB"))
    return rows


def growth_exponent(rows: list[dict], key: str) -> tuple[float | None, float | None]:
    """(slope of log(key) on log(T) over all measured rows, slope between the last two)."""
    pts = [(r["frames"], r[key]) for r in rows if key in r and r[key] > 0]
    if len(pts) < 2:
        return None, None
    logt, logv = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    fit = float(np.polyfit(logt, logv, 1)[0])
    local = float((logv[-1] - logv[-2]) / (logt[-1] - logt[-2]))
    return fit, local


# ---- report -----------------------------------------------------------------------------------------

def _fmt(row: dict | None, key: str, fmt: str) -> str:
    if row is None or key not in row:
        return "skipped" if row is None or "skipped" in row else "-"
    return format(row[key], fmt)


def _ratio(a: dict, b: dict, key: str) -> str:
    if key not in a or key not in b or b[key] <= 0:
        return "-"
    return f"{a[key] / b[key]:.2f}"


def render_markdown(info: dict, results: dict[str, list[dict]], args) -> str:
    la0, la1 = info["loadavg_start"], info["loadavg_end"]
    params = next((r["params"] for rows in results.values() for r in rows if "params" in r), 0)
    lines = [
        "# ST-DiT attention scaling with frame count (CPU)", "",
        f"{info['date_utc']}, torch {info['torch']}, {info['cpu']}, `torch.set_num_threads({args.threads})`, "
        f"float32, `torch.no_grad()`. Load average (1/5/15 min) {la0[0]:.2f}/{la0[1]:.2f}/{la0[2]:.2f} at start, "
        f"{la1[0]:.2f}/{la1[1]:.2f}/{la1[2]:.2f} at end; whole run {info['wall_s']:.0f} s.", "",
        "**Medians on a shared, noisy 2-core machine** (other jobs ran alongside); *best s* is the fastest "
        "repetition, less sensitive to bursts of contention than the median.", "",
        f"Model: ST-DiT hidden {MODEL['hidden_size']}, depth {MODEL['depth']}, {MODEL['num_heads']} heads, patch "
        f"(1, 2, 2), {params / 1e6:.2f}M parameters, no text / concat / vector. Input latent (1, 4, T, "
        f"{LATENT_SIZE}, {LATENT_SIZE}) -> {(LATENT_SIZE // 2) ** 2} tokens per frame. One forward = one "
        "sampling step (CFG off).", "",
        "Peak memory = `ru_maxrss` of a fresh subprocess after the forwards minus its `ru_maxrss` after "
        "building the model and input (growth of the process's peak resident set due to the forward).", "",
        "| T | tokens | factorized s/fwd | full s/fwd | full/fact. time | fact./full best s | factorized GFLOP "
        "| full GFLOP | factorized peak MiB | full peak MiB | full/fact. memory | reps (fact./full) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    fact = {r["frames"]: r for r in results["factorized"]}
    full = {r["frames"]: r for r in results["full"]}
    for t in args.frames:
        a, b = fact.get(t), full.get(t)
        reps = "/".join(str(len(r["times_s"])) if r and "times_s" in r else "-" for r in (a, b))
        lines.append(
            f"| {t} | {t * (LATENT_SIZE // 2) ** 2} | {_fmt(a, 'time_s', '.3f')} | {_fmt(b, 'time_s', '.3f')} | "
            f"{_ratio(b, a, 'time_s') if a and b else '-'} | "
            f"{_fmt(a, 'min_time_s', '.3f')}/{_fmt(b, 'min_time_s', '.3f')} | "
            f"{_fmt(a, 'flops', '.3e')} | {_fmt(b, 'flops', '.3e')} | "
            f"{_fmt(a, 'peak_mib', '.0f')} | {_fmt(b, 'peak_mib', '.0f')} | "
            f"{_ratio(b, a, 'peak_mib') if a and b else '-'} | {reps} |")
    lines.append("")
    for r in (*results["factorized"], *results["full"]):
        if "skipped" in r:
            lines.append(f"- skipped {r['attention']} T={r['frames']}: {r['skipped']}")
    lines += ["", "Growth exponents k in cost ~ T^k (least-squares over all measured T; local = last two T):", "",
              "| attention | time k (fit) | time k (local) | best-time k (fit) | GFLOP k (fit) | memory k (fit) "
              "| memory k (local) |",
              "|---|---|---|---|---|---|---|"]
    for name, rows in results.items():
        tk, tl = growth_exponent(rows, "time_s")
        bk, _ = growth_exponent(rows, "min_time_s")
        fk, _ = growth_exponent(rows, "flops")
        mk, ml = growth_exponent(rows, "peak_mib")
        lines.append(f"| {name} | {_num(tk)} | {_num(tl)} | {_num(bk)} | {_num(fk)} | {_num(mk)} | {_num(ml)} |")
    lines += ["", "GFLOP are matmul-class FLOPs from `FlopCounterMode` (linear layers and attention). On CPU, "
              "`scaled_dot_product_attention` runs a flash-attention kernel that never stores the (L x L) "
              "score matrix, so full attention's memory need not grow quadratically even though its FLOPs do."]
    return "\n".join(lines) + "\n"


def _num(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.2f}"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budget", type=float, default=6.0, help="seconds of timed forwards per configuration")
    ap.add_argument("--max-reps", type=int, default=5)
    ap.add_argument("--max-forward-s", type=float, default=20.0)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per worker subprocess")
    ap.add_argument("--worker", nargs=2, metavar=("ATTENTION", "T"), help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "attention_scaling.md"))
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.worker[0], int(args.worker[1]), args)))
        return
    t0 = time.perf_counter()
    info = {"date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "torch": torch.__version__,
            "cpu": cpu_model(), "threads": args.threads, "loadavg_start": os.getloadavg()}
    results = {name: sweep(name, args) for name in ATTENTIONS}
    info["loadavg_end"], info["wall_s"] = os.getloadavg(), time.perf_counter() - t0
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(render_markdown(info, results, args))
    _log(f"wrote {args.out}")
    print(json.dumps({"machine": info, "results": results}, indent=1))


if __name__ == "__main__":
    main()
