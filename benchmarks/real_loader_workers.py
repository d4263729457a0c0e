"""The real-video loader with DataLoader workers: clips/s for 0 vs 2 workers (fork and forkserver), and that it ends.

    .venv/bin/python benchmarks/real_loader_workers.py [--clips 300] [--repeats 3]

Writes ``--clips`` small synthetic clips to a temporary folder (64x48, 24 frames, a textured pan):
most are H.264 MP4 (``kinema.video.write_video``); every 10th is an MPEG-4 AVI with B-frames whose
first frame shows at pts 1 (Xvid style) and every 10th + 5 a variable-frame-rate MKV (intervals
alternating 60 / 20 ms), the two kinds of real file issue 25 found decoding wrong; 2 garbage files
stand in for files that break after the scan. ``kinema.data.scan`` writes the manifest (all
clips must be kept), then ``VideoClipDataset`` (8 frames at 12 fps, random crop to 32x32) runs
through a ``DataLoader`` (batch 4) with 0 workers, 2 workers started by a bare fork (what a
DataLoader of one's own gets on Linux) and 2 started by forkserver (what kinema's own loaders use,
``kinema.data.workers``), ``--repeats`` passes each, a fresh loader per pass so worker
start-up is counted. Before the loaders start, the parent converts a frame through PyAV's shared
(multi-threaded) swscale context, the state that used to deadlock forked workers
(``avpriv_slicethread_free``); every loader has ``timeout=--timeout`` so a hang is reported as
a failure instead of stalling. The table reports median clips/s, items, fallbacks for the bad
files, and whether every pass completed.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

from kinema.data.real import VideoClipDataset
from kinema.data.scan import scan
from kinema.video import write_video

SIZE, FRAMES, FPS = (64, 48), 24, 24


def _pan(seed: int) -> np.ndarray:
    """uint8 (FRAMES, H, W, 3): a random texture panning 2 pixels per frame."""
    w, h = SIZE
    small = np.random.default_rng(seed).integers(0, 255, (h // 4, (w + 2 * FRAMES) // 4, 3)).astype(np.uint8)
    tex = np.asarray(Image.fromarray(small).resize((w + 2 * FRAMES, h), Image.BILINEAR))
    return np.stack([tex[:, 2 * t:2 * t + w] for t in range(FRAMES)])


def _encode(path: Path, frames: np.ndarray, pts: list[int], time_base: Fraction, b_frames: int) -> None:
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=FPS)
        s.width, s.height, s.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        s.codec_context.time_base = time_base
        s.codec_context.max_b_frames = b_frames
        for rgb, t in zip(frames, pts):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            f.pts, f.time_base = t, time_base
            c.mux(s.encode(f))
        c.mux(s.encode())


def make_clips(folder: Path, n: int) -> dict[str, int]:
    kinds = {"mp4": 0, "avi (B-frames, first pts 1)": 0, "mkv (variable frame rate)": 0}
    for i in range(n):
        frames = _pan(i)
        if i % 10 == 0:
            _encode(folder / f"clip_{i:03d}.avi", frames, list(range(1, FRAMES + 1)), Fraction(1, FPS), 2)
            kinds["avi (B-frames, first pts 1)"] += 1
        elif i % 10 == 5:
            _encode(folder / f"clip_{i:03d}.mkv", frames, [80 * (k // 2) + 60 * (k % 2) for k in range(FRAMES)],
                    Fraction(1, 1000), 0)
            kinds["mkv (variable frame rate)"] += 1
        else:
            write_video(folder / f"clip_{i:03d}.mp4", frames, float(FPS))
            kinds["mp4"] += 1
    return kinds


def one_pass(dataset: VideoClipDataset, workers: int, start: str | None,
             timeout: float) -> tuple[float, int, int, str]:
    """(clips/s, items, fallbacks, error or "") for one fresh loader, start-up included."""
    context = multiprocessing.get_context(start) if workers else None
    loader = DataLoader(dataset, batch_size=4, num_workers=workers, timeout=timeout if workers else 0,
                        multiprocessing_context=context)
    start, items, retries = time.perf_counter(), 0, 0
    try:
        for batch in loader:
            items += batch["video"].shape[0]
            retries += int(batch["retries"].sum())
    except RuntimeError as e:  # DataLoader timeout: a worker hung
        return 0.0, items, retries, " ".join(str(e).split())
    return items / (time.perf_counter() - start), items, retries, ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds a batch may take before a pass fails")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "real_loader_workers.md"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    logging.getLogger("kinema.data").setLevel(logging.ERROR)  # the bad files' fallbacks are counted below
    rows, failed = [], False
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        kinds = make_clips(folder, args.clips)
        (folder / "bad_0.mp4").write_bytes(b"\x00" * 4000)
        make_s = time.perf_counter() - t
        t = time.perf_counter()
        summary = scan(folder, folder / "manifest.jsonl", min_frames=8, compute_motion=False)
        scan_s = time.perf_counter() - t
        print(f"wrote {args.clips} clips in {make_s:.1f} s; scan {scan_s:.1f} s: {summary.report().splitlines()[0]}")
        if len(summary.kept) != args.clips:
            print(summary.report())
            return 1
        # files that break after the scan: the loader must fall back, not stop
        bad = [r.replace(path=folder / "bad_0.mp4") for r in summary.kept[:2]]
        dataset = VideoClipDataset(summary.kept + bad, frames=8, size=(32, 32), fps=12.0, crop="random", seed=0)
        frame = av.VideoFrame.from_ndarray(np.zeros((40, 56, 3), np.uint8), format="rgb24").reformat(format="yuv420p")
        frame.to_ndarray(format="rgb24")  # PyAV's shared, threaded swscale context now exists in the parent
        for workers, start in ((0, None), (2, "fork"), (2, "forkserver")):
            passes = [one_pass(dataset, workers, start, args.timeout) for _ in range(args.repeats)]
            errors = [p[3] for p in passes if p[3]]
            done = not errors and all(p[1] == len(dataset) for p in passes)
            failed |= not done
            rate = statistics.median(p[0] for p in passes)
            rows.append((workers, start or "-", rate, min(p[0] for p in passes), max(p[0] for p in passes), passes[0][1],
                         passes[0][2], "yes" if done else f"NO: {errors[0] if errors else 'items missing'}"))
            print(f"workers={workers} ({start}): median {rate:.1f} clips/s, {passes[0][1]} items, "
                  f"{passes[0][2]} fallbacks, completed: {rows[-1][-1]}")
    lines = [
        "# Real-video loader with DataLoader workers",
        "",
        f"`.venv/bin/python benchmarks/real_loader_workers.py --clips {args.clips} --repeats {args.repeats}` "
        f"({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC).",
        "",
        f"{args.clips} synthetic clips, 64x48, 24 frames: " + ", ".join(f"{v} {k}" for k, v in kinds.items())
        + f"; written in {make_s:.1f} s, scanned in {scan_s:.1f} s (all kept). Dataset: the {args.clips} records "
        "+ 2 records pointing at a garbage file; 8 frames at 12 fps, random crop 32x32; batch 4; "
        "a fresh loader per pass (worker start-up counted); "
        f"median of {args.repeats} passes; the parent used PyAV's threaded swscale context before the loaders.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs "
        f"(shared with other jobs; 1-min load average {os.getloadavg()[0]:.2f} at the end of the run), "
        f"Python {platform.python_version()}, torch {torch.__version__}, PyAV {av.__version__} "
        f"(FFmpeg {av.ffmpeg_version_info}).",
        "",
        "| DataLoader workers | start method | clips/s (median) | min | max | items per pass | fallbacks (bad files) "
        "| completed |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    lines += [f"| {w} | {m} | {med:.1f} | {lo:.1f} | {hi:.1f} | {n} | {r} | {ok} |"
              for w, m, med, lo, hi, n, r, ok in rows]
    lines += ["", "forkserver starts each worker from a fresh interpreter (torch and kinema imported again, a few "
              "seconds per pass here); the trainer's loader keeps its workers (`persistent_workers`), so a run pays "
              "that once. A bare fork is faster to start but inherits the parent's FFmpeg state, which once crashed "
              "a worker in the test suite (SIGSEGV); kinema's own loaders use forkserver (`kinema.data.workers`)."]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
