"""Core speed on this CPU: training steps/s, sampling latency and achieved GFLOP/s per backbone preset.

    python benchmarks/core_speed.py [--threads 2] [--budget 8] [--max-reps 5] [--out benchmarks/results/core_speed.md]

What is timed (float32, CPU, ``torch.set_num_threads(--threads)``), for each backbone in
(unet3d, stdit) x preset in (tiny, small), built as the trainer builds it (in = out = 4 latent
channels, concat = 5 = known latents + mask, vector_dim = 3, text_dim = 384 = MiniLM):

* **training step**: ``DiffusionLoss`` (v-parameterization, cosine VP schedule, uniform timestep
  density: the TrainConfig defaults) through the ``Denoiser``, backward, grad-norm clip at 1.0,
  ``AdamW`` step. Fixed latent batch ``(B, C, T, h, w) = (2, 4, 16, 16, 16)`` = two 16-frame 64x64
  clips through an f4 autoencoder, with an I2V condition (first-frame latents + mask on channels),
  32 text tokens of width 384 and 3 scalar controls. EMA and data loading are not included.
* **sampling latency**: 25 Euler steps (VP "trailing" sigmas) on one ``(1, 4, 16, 16, 16)`` latent
  video, guidance off; then with text CFG (scale 7.5, which runs the batch-2 [cond, no-text] pair
  in one forward per step). Decoding is not included.
* **FLOPs**: ``torch.utils.flop_counter.FlopCounterMode`` over one forward (and one forward +
  backward of the training loss). It counts matmul-class ops (mm, addmm, bmm, convolution,
  attention); CPU attention runs ``_scaled_dot_product_flash_attention_for_cpu``, which torch does
  not count by itself, so its standard formula is registered here (:data:`CPU_SDPA_FLOPS`).
  Elementwise ops (norms, activations, the optimiser) are not counted.
* **matmul reference**: median GFLOP/s of ``torch.mm`` on square float32 matrices; "% of matmul"
  divides achieved GFLOP/s (counted FLOPs / measured time) by the best of those medians.

Each measurement runs one untimed warm-up call, then timed repetitions until ``--max-reps`` or
until ``--budget`` seconds have passed (at least one); the table reports the median and the
number of repetitions. JSON with every raw time goes to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

from kinema.conditioning.batch import ConditionBatch
from kinema.diffusion import Denoiser, DiffusionLoss, get_density, get_parameterization, get_sigmas
from kinema.models import build_backbone, count_parameters
from kinema.sampling.guidance import GuidanceConfig, guided_denoiser
from kinema.sampling.samplers import SAMPLERS

LATENT = dict(channels=4, frames=16, size=16)  # (C, T, h = w): 16x64x64 video through an f4 autoencoder
TRAIN_BATCH = 2
TEXT = dict(tokens=32, dim=384)  # (L, D_text): MiniLM width
VECTOR_DIM = 3  # fps, motion, noise_aug
SAMPLE_STEPS = 25
CFG_SCALE = 7.5
BACKBONES = ("unet3d", "stdit")
PRESET_NAMES = ("tiny", "small")


def _sdpa_fwd(query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query, key, value)


def _sdpa_bwd(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_backward_flop_count(grad_out, query, key, value)


# FlopCounterMode's formulas for the CPU attention kernels (shapes in, FLOPs out; masks count as full).
CPU_SDPA_FLOPS = {
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_fwd,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: _sdpa_bwd,
}


def count_flops(fn: Callable[[], object]) -> int:
    """Matmul-class FLOPs of one call of ``fn`` (attention on CPU included)."""
    with FlopCounterMode(display=False, custom_mapping=CPU_SDPA_FLOPS) as counter:
        fn()
    return counter.get_total_flops()


def time_reps(fn: Callable[[], object], max_reps: int, budget_s: float, warmup: int = 1) -> list[float]:
    """Seconds per call: ``warmup`` untimed calls, then calls until ``max_reps`` or ``budget_s`` spent."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_reps and (not times or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def matmul_gflops(sizes=(1024, 2048), reps: int = 7) -> dict[str, float]:
    """Median GFLOP/s of ``torch.mm`` on (n, n) float32 matrices, one entry per n (2 n^3 FLOPs each)."""
    gen = torch.Generator().manual_seed(0)
    out = {}
    for n in sizes:
        a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
        times = time_reps(lambda: torch.mm(a, b), max_reps=reps, budget_s=float("inf"), warmup=2)
        out[str(n)] = 2 * n**3 / statistics.median(times) / 1e9
    return out


def backbone_config(kind: str, preset: str) -> dict:
    """The config the trainer resolves for a 4-channel latent model with I2V concat, vector and text."""
    c = LATENT["channels"]
    return {"preset": preset, "in_channels": c, "out_channels": c, "concat_channels": c + 1,
            "vector_dim": VECTOR_DIM, "text_dim": TEXT["dim"]}


def make_inputs(batch: int, gen: torch.Generator) -> tuple[torch.Tensor, ConditionBatch]:
    """Clean latents (B, C, T, h, w) and an I2V condition: first frame known, 32 tokens, 3 scalars."""
    c, t, s = LATENT["channels"], LATENT["frames"], LATENT["size"]
    x0 = torch.randn(batch, c, t, s, s, generator=gen)
    mask = torch.zeros(batch, 1, t, s, s)
    mask[:, :, 0] = 1.0  # frame 0 is the conditioning image
    concat = torch.cat([x0 * mask, mask], dim=1)  # (B, C + 1, T, h, w)
    tokens = torch.randn(batch, TEXT["tokens"], TEXT["dim"], generator=gen)
    token_mask = torch.ones(batch, TEXT["tokens"], dtype=torch.bool)
    vector = torch.tensor([[8.0, 0.5, 0.02]]).repeat(batch, 1)  # fps, motion, noise_aug
    return x0, ConditionBatch(concat=concat, tokens=tokens, token_mask=token_mask, vector=vector)


def bench_training(denoiser: Denoiser, args) -> dict:
    """Median seconds per optimiser step and FLOPs of one forward and one forward + backward."""
    gen = torch.Generator().manual_seed(1)
    x0, cond = make_inputs(TRAIN_BATCH, gen)
    param = denoiser.param
    loss_fn = DiffusionLoss(param, get_density("uniform", param))
    params = [p for p in denoiser.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-4, betas=(0.9, 0.99))

    def loss_backward():
        loss, _ = loss_fn(denoiser, x0, cond, gen)
        loss.mean().backward()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    times = time_reps(step, args.max_reps, args.budget)
    sigma = torch.full((TRAIN_BATCH,), 1.0)
    with torch.no_grad():
        fwd = count_flops(lambda: denoiser(x0, sigma, cond))
    opt.zero_grad(set_to_none=True)
    fwd_bwd = count_flops(loss_backward)
    return {"batch": TRAIN_BATCH, "times_s": times, "fwd_flops": fwd, "fwd_bwd_flops": fwd_bwd}


def bench_sampling(denoiser: Denoiser, guidance: GuidanceConfig, budget: float, max_reps: int) -> dict:
    """Median seconds of a 25-step Euler sampling of one latent video, and FLOPs per denoiser call."""
    gen = torch.Generator().manual_seed(2)
    _, cond = make_inputs(1, gen)
    sigmas = get_sigmas(denoiser.param, SAMPLE_STEPS)
    c, t, s = LATENT["channels"], LATENT["frames"], LATENT["size"]
    noise = torch.randn(1, c, t, s, s, generator=gen)
    denoise = guided_denoiser(denoiser, guidance)
    x_t = denoiser.param.prior(noise, sigmas[0])

    def sample():
        return SAMPLERS["euler"](denoise, x_t, sigmas, cond=cond, generator=gen)

    def one_call():
        return denoise(x_t, sigmas[:1], cond)

    with torch.no_grad():
        one_call()  # warm-up: one untimed denoiser call at the sampling shape, not a whole run
        times = time_reps(sample, max_reps, budget, warmup=0)
        flops = count_flops(one_call)
    return {"steps": SAMPLE_STEPS, "times_s": times, "flops_per_call": flops}


def bench_backbone(kind: str, preset: str, args) -> dict:
    torch.manual_seed(0)
    backbone = build_backbone(kind, backbone_config(kind, preset))
    denoiser = Denoiser(backbone, get_parameterization("v", schedule="cosine"))
    row = {"backbone": kind, "preset": preset, "params": count_parameters(backbone), "loadavg_1min": os.getloadavg()[0]}
    _log(f"{kind}/{preset}: {row['params'] / 1e6:.2f}M parameters, training ...")
    row["train"] = bench_training(denoiser, args)
    denoiser.eval()
    _log(f"{kind}/{preset}: sampling, CFG off ...")
    row["sample"] = bench_sampling(denoiser, GuidanceConfig(), args.budget, args.max_reps)
    _log(f"{kind}/{preset}: sampling, CFG on ...")
    row["sample_cfg"] = bench_sampling(denoiser, GuidanceConfig(text_scale=CFG_SCALE), args.budget / 2,
                                       args.max_reps)
    return row


def summarize(row: dict, peak_gflops: float) -> dict:
    """Derived figures: medians, steps/s, achieved GFLOP/s and its fraction of the matmul peak."""
    tr, sa, cf = row["train"], row["sample"], row["sample_cfg"]
    t_step, t_sample, t_cfg = (statistics.median(d["times_s"]) for d in (tr, sa, cf))
    train_gflops = tr["fwd_bwd_flops"] / t_step / 1e9
    sample_gflops = sa["flops_per_call"] * SAMPLE_STEPS / t_sample / 1e9
    cfg_gflops = cf["flops_per_call"] * SAMPLE_STEPS / t_cfg / 1e9
    return {
        "step_s": t_step, "steps_per_s": 1.0 / t_step, "train_gflops": train_gflops,
        "train_frac": train_gflops / peak_gflops, "sample_s": t_sample, "sample_gflops": sample_gflops,
        "sample_frac": sample_gflops / peak_gflops, "cfg_s": t_cfg, "cfg_gflops": cfg_gflops,
        "cfg_frac": cfg_gflops / peak_gflops,
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(threads: int) -> dict:
    return {"date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "torch": torch.__version__,
            "cpu": cpu_model(), "logical_cpus": os.cpu_count(), "threads": threads,
            "loadavg_start": os.getloadavg()}


def render_markdown(info: dict, matmul: dict, rows: list[dict]) -> str:
    peak = max(matmul.values())
    la0, la1 = info["loadavg_start"], info["loadavg_end"]
    lines = [
        "# kinema core speed (CPU)", "",
        f"{info['date_utc']}, torch {info['torch']}, {info['cpu']} ({info['logical_cpus']} logical CPUs), "
        f"`torch.set_num_threads({info['threads']})`, float32. Load average (1/5/15 min) "
        f"{la0[0]:.2f}/{la0[1]:.2f}/{la0[2]:.2f} at start, {la1[0]:.2f}/{la1[1]:.2f}/{la1[2]:.2f} at end; "
        f"whole run {info['wall_s']:.0f} s.", "",
        "**Numbers are medians on a shared, noisy 2-core machine** (other jobs ran alongside); repeat "
        "counts are small for the slow configurations, so read them as order-of-magnitude figures.", "",
        "Float32 `torch.mm` reference: " + ", ".join(f"{n}x{n}: {g:.1f} GFLOP/s" for n, g in matmul.items())
        + f" (median of 7); peak used below = {peak:.1f} GFLOP/s.", "",
        f"## Training step (latents {TRAIN_BATCH}x{LATENT['channels']}x{LATENT['frames']}x{LATENT['size']}x"
        f"{LATENT['size']}, text {TEXT['tokens']}x{TEXT['dim']}, vector {VECTOR_DIM})", "",
        "| backbone | preset | params | load | reps | s/step | steps/s | fwd GFLOP | fwd+bwd GFLOP | GFLOP/s "
        "| % of matmul |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        s, tr = row["summary"], row["train"]
        lines.append(f"| {row['backbone']} | {row['preset']} | {row['params'] / 1e6:.2f}M | "
                     f"{row['loadavg_1min']:.1f} | {len(tr['times_s'])} | "
                     f"{s['step_s']:.3f} | {s['steps_per_s']:.2f} | {tr['fwd_flops'] / 1e9:.2f} | "
                     f"{tr['fwd_bwd_flops'] / 1e9:.2f} | {s['train_gflops']:.1f} | {100 * s['train_frac']:.1f}% |")
    lines += [
        "", f"## Sampling latency ({SAMPLE_STEPS} Euler steps, one 1x{LATENT['channels']}x{LATENT['frames']}x"
        f"{LATENT['size']}x{LATENT['size']} latent video, no decode)", "",
        "| backbone | preset | reps | CFG off: s | s/step | GFLOP/call | GFLOP/s | % of matmul "
        f"| CFG {CFG_SCALE} (batch 2): reps | s | GFLOP/s | % of matmul |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        s, sa, cf = row["summary"], row["sample"], row["sample_cfg"]
        lines.append(f"| {row['backbone']} | {row['preset']} | {len(sa['times_s'])} | {s['sample_s']:.2f} | "
                     f"{s['sample_s'] / SAMPLE_STEPS:.3f} | {sa['flops_per_call'] / 1e9:.2f} | "
                     f"{s['sample_gflops']:.1f} | {100 * s['sample_frac']:.1f}% | {len(cf['times_s'])} | "
                     f"{s['cfg_s']:.2f} | {s['cfg_gflops']:.1f} | {100 * s['cfg_frac']:.1f}% |")
    lines += [
        "", "Columns: *load* = 1-min load average when that backbone's measurements started; "
        "*reps* = timed repetitions after one warm-up; *s/step* = median seconds per optimiser "
        "step (forward, v-loss, backward, clip, AdamW); *fwd GFLOP* / *fwd+bwd GFLOP* = matmul-class FLOPs "
        "counted by `FlopCounterMode` (mm, conv, attention; elementwise ops and the optimiser not counted); "
        "*GFLOP/s* = counted FLOPs / median time; *% of matmul* = that over the `torch.mm` peak above. "
        "Sampling GFLOP/s = 25 x GFLOP/call / latency. The tiny presets are dominated by per-op overhead, "
        "so their fraction of peak is low by construction.",
    ]
    return "\n".join(lines) + "\n"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budget", type=float, default=8.0, help="seconds of timed reps per measurement")
    ap.add_argument("--max-reps", type=int, default=5)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "core_speed.md"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    info = machine_info(args.threads)
    _log("matmul reference ...")
    matmul = matmul_gflops()
    peak = max(matmul.values())
    rows = []
    for kind in BACKBONES:
        for preset in PRESET_NAMES:
            row = bench_backbone(kind, preset, args)
            row["summary"] = summarize(row, peak)
            rows.append(row)
    info["loadavg_end"], info["wall_s"] = os.getloadavg(), time.perf_counter() - t0
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(render_markdown(info, matmul, rows))
    _log(f"wrote {args.out}")
    print(json.dumps({"machine": info, "matmul_gflops": matmul, "results": rows}, indent=1))


if __name__ == "__main__":
    main()
