"""How good is a model's one-step clean-clip estimate at each noise level the sampler visits?

    python benchmarks/denoise_by_sigma.py --model A.safetensors [--model B.safetensors ...] [--n 32]

For the first ``n`` clips of the kinema world ``default`` test split, each clip is encoded, noised to
every sigma of the model's default sampling schedule and denoised once with its real conditions
(first frame, caption, motion amount). Reported per sigma: the latent MSE of ``x0_hat`` to the clip,
next to the *copy baseline*, the first frame's latent repeated over time, which needs no model. A
model whose ``x0_hat`` at the first (largest) sigma is worse than the copy baseline decides the
video's layout from a bad guess: samplers take their biggest step there. Same noise per clip for
every model. Writes ``benchmarks/results/denoise_by_sigma.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from kinema.conditioning.spec import Conditions, KnownFrame
from kinema.data.world import clip_seed, generate_clip, world_preset
from kinema.diffusion import get_sigmas
from kinema.sampling.pipeline import load_pipeline


def clip_errors(pipe, clip, sigmas: torch.Tensor, seed: int) -> tuple[np.ndarray, float]:
    """(x0_hat MSE per sigma, copy-baseline MSE) in latent space for one clip."""
    video = torch.from_numpy(clip.frames).permute(3, 0, 1, 2).float()[None] / 127.5 - 1  # (1, 3, T, H, W)
    x0 = pipe.autoencoder.encode(video)  # (1, C, T, h, w)
    C, T, h, w = x0.shape[1:]
    first = x0[0, :, 0]
    conds = Conditions(frames=[KnownFrame(0, video[0, :, 0])], prompt=clip.caption, fps=float(clip.fps),
                       motion=float(clip.motion_amount))
    cond = pipe.conditioner.sampling_batch(conds, T, [first], (C, h, w))
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    errs = []
    for s in sigmas:
        sigma = s.view(1)
        x0_hat = pipe.denoiser(pipe.param.add_noise(x0, eps, sigma), sigma, cond)
        errs.append(float(((x0_hat - x0) ** 2).mean()))
    return np.array(errs), float(((first[None, :, None] - x0) ** 2).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, help="a model file (repeatable)")
    ap.add_argument("--n", type=int, default=32, help="test clips")
    ap.add_argument("--out", default="benchmarks/results/denoise_by_sigma.md")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    t0 = time.perf_counter()
    table, copy, sigmas = {}, None, None
    for path in args.model:
        pipe = load_pipeline(path, device="cpu")
        (W, H), T = pipe.model_config["video"]["size"], pipe.model_config["video"]["frames"]
        cfg = world_preset("default", size=(W, H), frames=T, fps=pipe.model_config["video"]["fps"])
        steps = int(pipe.model_config["diffusion"].get("sample_steps", 25))
        sigmas = get_sigmas(pipe.param, steps).float()[:-1]  # the last sigma (0) is never denoised
        rows = [clip_errors(pipe, generate_clip(cfg, clip_seed("test", i, 0), "test"), sigmas, i)
                for i in range(args.n)]
        table[path] = np.mean([r[0] for r in rows], axis=0)
        copy = float(np.mean([r[1] for r in rows]))
    lines = [
        f"<!-- python benchmarks/denoise_by_sigma.py {' '.join('--model ' + m for m in args.model)} --n {args.n}; "
        f"{time.perf_counter() - t0:.0f} s, {time.strftime('%Y-%m-%d')} -->",
        "# One-step x0 estimate by noise level",
        "",
        f"Latent MSE of `x0_hat` to the clip, mean over kinema world `default` test clips 0..{args.n - 1}, at the "
        f"sigmas of the default {len(sigmas)}-step schedule (first frame + caption + motion amount given). "
        f"Copy baseline (the first frame's latent repeated, no model): **{copy:.4f}** at every sigma.",
        "",
        "| sigma | " + " | ".join(Path(m).name if len(args.model) == 1 else m for m in args.model) + " |",
        "|---:|" + "---:|" * len(args.model),
    ]
    for k, s in enumerate(sigmas):
        lines.append(f"| {float(s):.3g} | " + " | ".join(f"{table[m][k]:.4f}" for m in args.model) + " |")
    lines.append("")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
