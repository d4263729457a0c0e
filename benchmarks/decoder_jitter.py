"""Where does a latent model's flicker come from: the denoiser's latents, or the decoder?

    python benchmarks/decoder_jitter.py --model A.safetensors [--decoders B.safetensors ...] [--n 32]

On the first ``n`` clips of the kinema world ``default`` test split (the clips ``kinema bench
world`` scores), conditioned as the bench conditions them (first frame, caption, motion amount,
seed 0), it measures in one run:

* **latent jitter** of model A: the mean squared temporal second difference
  ``(z[t+1] - 2 z[t] + z[t-1])^2`` of the generated latents, next to that of the real clips'
  latents (A's encoder, posterior mean). Smooth motion has a small second difference; frame-to-frame
  noise a large one. ``implied sigma`` is the i.i.d. per-frame noise std that would add the excess
  (a second difference of i.i.d. noise has variance 6 sigma^2).
* for A's decoder and each ``--decoders`` model's decoder (they must share A's encoder, as a
  decoder-only fine-tune does): warping error and flicker, as a ratio to the ground truth's, of
  (a) the *reconstruction* of the real clips (decoder alone) and (b) the decoding of A's generated
  latents (denoiser + decoder), and the first-frame PSNR of (b).

A decoder that adds flicker shows it in (a); a decoder that faithfully renders jittery latents shows
a large (b) with a small (a). Writes ``benchmarks/results/decoder_jitter.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from kinema.bench.generators import first_frame_tensor
from kinema.data.world import clip_seed, generate_clip, world_preset
from kinema.eval.temporal import first_frame_fidelity, temporal_flicker, warping_error
from kinema.sampling.pipeline import load_pipeline


class LatentCapture:
    """Wraps a pipeline's decode step (step 8) to keep the sampled latents it decodes."""

    def __init__(self, pipe):
        self.decode, self.latents = pipe._decode, None
        pipe._decode = self

    def __call__(self, x0: torch.Tensor):
        self.latents = x0.detach().clone()  # (1, C, T, h, w)
        return self.decode(x0)


def second_difference_power(z: torch.Tensor) -> float:
    """Mean of (z[t+1] - 2 z[t] + z[t-1])^2 over a (1, C, T, h, w) latent video."""
    d2 = z[:, :, 2:] - 2 * z[:, :, 1:-1] + z[:, :, :-2]
    return float(d2.pow(2).mean())


def same_encoder(a, b) -> bool:
    sa, sb = a.autoencoder.state_dict(), b.autoencoder.state_dict()
    enc = [k for k in sa if not k.startswith("decoder.")]
    same_weights = all(k in sb and torch.equal(sa[k], sb[k]) for k in enc)
    ca, cb = a.model_config["autoencoder"]["config"], b.model_config["autoencoder"]["config"]
    return same_weights and ca.get("scale") == cb.get("scale") and ca.get("shift") == cb.get("shift")


def clips_and_latents(pipe, n: int):
    """(clips, real latents, generated latents) of the first n test clips."""
    (W, H), T = pipe.model_config["video"]["size"], pipe.model_config["video"]["frames"]
    cfg = world_preset("default", size=(W, H), frames=T, fps=pipe.model_config["video"]["fps"])
    capture = LatentCapture(pipe)
    clips, real, gen = [], [], []
    for i in range(n):
        clip = generate_clip(cfg, clip_seed("test", i, 0), "test")
        video = torch.from_numpy(clip.frames).permute(3, 0, 1, 2)[None].float() / 127.5 - 1  # (1, 3, T, H, W)
        with torch.no_grad():
            real.append(pipe.autoencoder.encode(video))
        pipe(first_frame_tensor(clip), prompt=clip.caption, motion=float(clip.motion_amount), seed=0)
        clips.append(clip)
        gen.append(capture.latents)
    return clips, real, gen


def decoder_row(name, pipe, clips, real, gen, gt_warp, gt_flicker) -> dict:
    with torch.no_grad():
        rec = [pipe._decode(z) for z in real]
        out = [pipe._decode(z) for z in gen]
    warp = lambda videos: float(np.mean([warping_error(v, value_range=(0, 255)) for v in videos]))  # noqa: E731
    flick = lambda videos: float(np.mean([temporal_flicker(v, value_range=(0, 255)) for v in videos]))  # noqa: E731
    psnr = np.mean([first_frame_fidelity(v, c.frames[0], value_range=(0, 255))["psnr"] for v, c in zip(out, clips)])
    return {"decoder": name, "rec_warp": warp(rec) / gt_warp, "rec_flicker": flick(rec) / gt_flicker,
            "gen_warp": warp(out) / gt_warp, "gen_flicker": flick(out) / gt_flicker, "gen_psnr": float(psnr)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the model whose denoiser makes the latents (decoder A)")
    ap.add_argument("--decoders", nargs="*", default=[], help="more models whose decoders render the same latents")
    ap.add_argument("--n", type=int, default=32, help="test clips")
    ap.add_argument("--out", default="benchmarks/results/decoder_jitter.md")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    t0 = time.perf_counter()
    pipe = load_pipeline(args.model, device="cpu")
    clips, real, gen = clips_and_latents(pipe, args.n)
    real_j = np.mean([second_difference_power(z) for z in real])
    gen_j = np.mean([second_difference_power(z) for z in gen])
    latent_std = float(torch.cat([z.flatten() for z in real]).std())
    gt_warp = float(np.mean([warping_error(c.frames, value_range=(0, 255)) for c in clips]))
    gt_flicker = float(np.mean([temporal_flicker(c.frames, value_range=(0, 255)) for c in clips]))
    rows = [decoder_row(args.model, pipe, clips, real, gen, gt_warp, gt_flicker)]
    for path in args.decoders:
        other = load_pipeline(path, device="cpu")
        if not same_encoder(pipe, other):
            raise SystemExit(f"decoder_jitter: {path} does not share {args.model}'s encoder and latent scale")
        rows.append(decoder_row(path, other, clips, real, gen, gt_warp, gt_flicker))
    lines = [
        f"<!-- python benchmarks/decoder_jitter.py --model {args.model} "
        f"{('--decoders ' + ' '.join(args.decoders) + ' ') if args.decoders else ''}--n {args.n}; "
        f"{platform.machine()}, torch {torch.__version__}, {time.perf_counter() - t0:.0f} s, "
        f"{time.strftime('%Y-%m-%d')} -->",
        "# Latent jitter and the decoder",
        "",
        f"kinema world `default` test clips 0..{args.n - 1}, conditioned as `kinema bench world` does (seed 0).",
        "",
        "| latents of | mean (z[t+1] - 2 z[t] + z[t-1])^2 |",
        "|---|---:|",
        f"| real clips (encoder, posterior mean) | {real_j:.4f} |",
        f"| generated by {args.model} | {gen_j:.4f} |",
        "",
        f"Latent std {latent_std:.3f}; the excess equals i.i.d. per-frame noise of std "
        f"{np.sqrt(max(gen_j - real_j, 0.0) / 6):.3f}.",
        "",
        "| decoder | reconstruction warping / gt | reconstruction flicker / gt | generated warping / gt "
        "| generated flicker / gt | generated first-frame PSNR (dB) |",
        "|---|---:|---:|---:|---:|---:|",
        *[f"| {r['decoder']} | {r['rec_warp']:.2f} | {r['rec_flicker']:.2f} | {r['gen_warp']:.2f} | "
          f"{r['gen_flicker']:.2f} | {r['gen_psnr']:.2f} |" for r in rows],
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
