"""``kinema <verb>``: a thin command line over the public API (no model logic here).

Exit codes: 0 success, 2 bad input or usage (one line on stderr, no traceback), 1 internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from kinema import __version__
from kinema.errors import KinemaError
from kinema.sampling.request import GenerationRequest, add_request_flags, request_options
from kinema.sampling.request import parse_size as _parse_size

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse's own convention too)
        self.exit(EXIT_USAGE, f"kinema: error: {message}\n")


QUIET_HELP = "no progress bars (they go to stderr, and only when it is a terminal; stdout keeps the results)"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kinema", description="Image-to-video diffusion: train, animate, evaluate.")
    p.add_argument("--version", action="version", version=f"kinema {__version__}")
    p.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    sub = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    _add_train(sub)
    _add_animate(sub)
    _add_info(sub)
    _add_data(sub)
    _add_bench(sub)
    from kinema.cli_eval import add_eval, add_weights

    add_eval(sub, _Parser)
    add_weights(sub, _Parser)
    _add_quiet_to_verbs(sub)
    return p


def _add_quiet_to_verbs(sub) -> None:
    """``--quiet`` after any verb too (``kinema animate x.png -o y.mp4 -q``), as after ``kinema``.

    SUPPRESS as the verb's default keeps a global ``kinema -q animate ...`` from being reset to False.
    """
    for verb in sub.choices.values():
        if not any("--quiet" in a.option_strings for a in verb._actions):
            verb.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=QUIET_HELP)
        for action in verb._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_quiet_to_verbs(action)


def _add_train(sub) -> None:
    t = sub.add_parser("train", help="train a model from a config file or preset")
    t.add_argument("config", help="a JSON/YAML config file, or a preset name (e.g. toy)")
    t.add_argument("--out", required=True, help="run directory (checkpoints, logs, model.safetensors)")
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set optim.lr=1e-4 (repeatable)")
    t.add_argument("--max-steps", type=_step_count, default=None,
                   help="stop after this many global steps (resumable)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last.safetensors")
    t.add_argument("--dry-run", action="store_true",
                   help="validate the config, build the model and every stage's data (and load the "
                        "checkpoint with --resume), then stop")
    t.add_argument("--export-to", metavar="MODEL", default=None,
                   help="write a model file from OUT's last checkpoint (EMA weights) and stop, e.g. to "
                        "benchmark a run while it trains")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)


def _step_count(text: str) -> int:
    """argparse type of --max-steps: a whole number >= 0 (argparse reports the error on one line)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of steps") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is outside the accepted range [0, inf)")
    return value


def _add_animate(sub) -> None:
    a = sub.add_parser("animate", help="animate an image into a video")
    a.add_argument("image", nargs="?", default=None, help="input image (omit with --text-only for text-to-video)")
    a.add_argument("-o", "--output", required=True,
                   help="output video; its extension picks the format: .mp4, .webm, .gif, or a folder/ of PNG frames")
    a.add_argument("--model", default=None, help="a kinema model .safetensors (default: the bundled model)")
    a.add_argument("--last-frame", default=None, help="image the video must end on (transition)")
    a.add_argument("--text-only", action="store_true", help="no input image: text-to-video")
    a.add_argument("--mask", "--object-mask", dest="mask", default=None,
                   help="motion brush: an image of the input's size (or aspect ratio: resized), white where the "
                        "object to move is (models with an object segmenter; default: the segmenter finds the "
                        "prompt's object)")
    add_request_flags(a)  # --prompt ... --seed: GenerationRequest's fields
    a.add_argument("--format", choices=["mp4", "webm", "gif", "png"], default=None,
                   help="for an output name without a known extension (png: a folder of frames); "
                        "must agree with the extension")
    a.add_argument("--device", default="cpu",
                   help="cpu (default, float32: the same seed gives the same video) | cuda | auto (cuda when present)")
    a.add_argument("--allow-unsafe-checkpoint", action="store_true",
                   help="allow loading a pickle checkpoint (can execute code: trusted files only)")
    a.set_defaults(func=cmd_animate)


def _add_info(sub) -> None:
    i = sub.add_parser("info", help="summarise a model: what it is, size, training, conditions, benchmark, recipe")
    i.add_argument("checkpoint", nargs="?", default=None, help="default: the bundled model")
    i.add_argument("--json", action="store_true",
                   help="print everything as JSON: the embedded config, info and parameters per module")
    i.set_defaults(func=cmd_info)


def _add_data(sub) -> None:
    d = sub.add_parser("data", help="datasets: kinema world, scanning, latent caching, previews")
    dsub = d.add_subparsers(dest="data_verb", required=True, parser_class=_Parser)
    w = dsub.add_parser("world", help="export kinema world clips to disk")
    w.add_argument("--n", type=int, required=True)
    w.add_argument("--out", required=True)
    w.add_argument("--split", choices=["train", "val", "test"], default="train")
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--size", default=None, help="WxH")
    w.add_argument("--frames", type=int, default=None)
    w.add_argument("--fps", type=float, default=None)
    w.add_argument("--preset", default="default", help="tiny (32x32x8) | default (64x64x16) | large (128x128x16)")
    w.add_argument("--format", "--fmt", choices=["mp4", "webm", "gif", "png"], default="mp4")
    w.set_defaults(func=cmd_data_world)
    s = dsub.add_parser("scan", help="validate and probe videos, compute motion scores, write a manifest")
    s.add_argument("source", help="a folder of videos/images or a CSV/JSONL manifest")
    s.add_argument("--out", required=True, help="manifest.jsonl to write")
    s.add_argument("--no-motion", action="store_true", help="skip motion scores (motion_score stays null)")
    s.add_argument("--min-frames", type=int, default=8,
                   help="skip videos (or manifest windows) with fewer native frames than this (default 8)")
    s.add_argument("--workers", type=int, default=0, help="processes probing files in parallel (default 0: this one)")
    s.add_argument("--skip-vfr", action="store_true",
                   help="skip variable-frame-rate videos (frame intervals vary > 2%%); by default they are kept "
                        "and read resampled by timestamps to their mean rate, like ffmpeg's fps filter")
    s.add_argument("--codecs", default=None, type=lambda t: tuple(c.strip() for c in t.split(",") if c.strip()),
                   help="comma-separated codec names to accept, e.g. h264,vp9 (default: any this FFmpeg decodes)")
    s.set_defaults(func=cmd_data_scan)
    c = dsub.add_parser("cache-latents", help="encode clips once with an autoencoder into safetensors shards")
    c.add_argument("manifest")
    c.add_argument("--vae", required=True, help="autoencoder or model .safetensors")
    c.add_argument("--out", required=True)
    c.add_argument("--size", default="64x64", help="WxH of the clips (the training config's data.size)")
    c.add_argument("--frames", type=int, default=16, help="frames per clip (the training config's data.frames)")
    c.add_argument("--fps", type=float, default=None,
                   help="resample clips to this rate (the training config's data.fps; default: each file's own)")
    c.add_argument("--stride", type=int, default=None, help="take every N-th frame instead of --fps")
    c.add_argument("--shard-size", type=int, default=256, help="clips per safetensors shard")
    c.add_argument("--batch-size", type=int, default=4, help="clips encoded at once")
    c.add_argument("--workers", type=int, default=0, help="DataLoader worker processes that decode the videos")
    c.set_defaults(func=cmd_data_cache)
    v = dsub.add_parser("preview", help="write a contact sheet of sample clips")
    v.add_argument("source")
    v.add_argument("--out", default="preview.png")
    v.add_argument("--n", type=int, default=8)
    v.set_defaults(func=cmd_data_preview)


def _add_bench(sub) -> None:
    b = sub.add_parser("bench", help="benchmarks of a model against baselines")
    bsub = b.add_subparsers(dest="bench_verb", required=True, parser_class=_Parser)
    w = bsub.add_parser("world", help="score a model on the held-out kinema world test split")
    w.add_argument("--model", default=None, help="model .safetensors (omit to score only the baselines)")
    w.add_argument("--baselines", default="static,gt", help="comma-separated: static, gt (or empty)")
    w.add_argument("--n", type=int, default=128, help="test clips")
    w.add_argument("--seeds", type=int, default=2, help="seeds per clip for the model")
    w.add_argument("--reference", type=int, default=2048, help="real clips for the Frechet reference set")
    add_request_flags(w, bench=True)  # --frames ... --noise-prior: GenerationRequest's sampling fields
    w.add_argument("--exact-plan", action="store_true",
                   help="oracle ablation: give a planned model each clip's exact motion plan, not its planner's")
    w.add_argument("--exact-mask", action="store_true",
                   help="oracle ablation: give an object-mask model each clip's exact frame-0 object mask, "
                        "not its segmenter's")
    w.add_argument("--device", default="auto")
    w.add_argument("--out", required=True, help="folder for report.json, report.md and grid.png")
    w.set_defaults(func=cmd_bench_world)


# ---- verbs ------------------------------------------------------------------------------------

def cmd_train(args) -> int:
    from kinema.train import Trainer, load_config

    config = load_config(args.config, args.overrides)
    if args.export_to:
        out = Trainer(config, args.out, resume=True, progress=False, log=lambda *_: None).export_snapshot(args.export_to)
        print(f"wrote {out} from {args.out}/checkpoints/last.safetensors")
        return EXIT_OK
    trainer = Trainer(config, args.out, resume=args.resume, max_steps=args.max_steps, progress=not args.no_progress)
    if args.dry_run:
        from kinema.train.components import count_params

        trainer.validate()
        print(json.dumps(trainer.c.model_config, indent=2))
        print(f"dry run: {count_params(trainer.c.backbone):,} backbone parameters, {config.total_steps} steps")
        return EXIT_OK
    state = trainer.run()
    trainer.print(f"done: step {state.step}, {state.seconds:.1f}s; outputs in {args.out}")
    return EXIT_OK


def cmd_animate(args) -> int:
    import kinema

    _check_animate_inputs(args)  # every input file and the output name, before the model loads
    pipe = kinema.load(args.model, device=args.device, allow_unsafe=args.allow_unsafe_checkpoint)
    started = time.perf_counter()
    image, options = animate_call(args)
    result = pipe(image, **options)
    out = result.save(args.output, fmt=args.format)
    if not getattr(args, "quiet", False):
        for note in result.notes:  # defaults that gave way to the options given, resized inputs
            print(f"kinema: note: {note}", file=sys.stderr)
    print(_video_summary(out, len(result.frames), result.fps, time.perf_counter() - started))
    return EXIT_OK


def animate_call(args) -> tuple[str | None, dict]:
    """The pipeline call ``kinema animate`` makes: (image, keyword arguments)."""
    return None if args.text_only else args.image, dict(
        last_frame=args.last_frame, object_mask=args.mask, **request_options(args))


def _check_animate_inputs(args) -> None:
    """Refuse what would fail after the model load: a missing or undecodable image, last frame or mask,
    a mask of another aspect ratio than the image, an output name that does not say its format.

    Torch-free (kinema.video.inputs and .formats), so a typo costs a fraction of a second.
    """
    from kinema.video.inputs import DEFAULT_MAX_PIXELS, check_image_file, mask_fit

    if args.image is None and not args.text_only:
        raise KinemaError("give an IMAGE to animate, or --text-only for text-to-video")
    if args.image is not None and args.text_only:
        raise KinemaError(f"--text-only makes a video from the prompt alone but an IMAGE ({args.image}) was "
                          "given: drop one of them")
    _check_output(args.output, args.format, args.frames)
    image = None if args.text_only else check_image_file(args.image, DEFAULT_MAX_PIXELS)
    if args.last_frame is not None:
        check_image_file(args.last_frame, DEFAULT_MAX_PIXELS)
    if args.mask is not None:
        mask = check_image_file(args.mask, DEFAULT_MAX_PIXELS)
        if image is not None:
            mask_fit(mask, image)  # another aspect ratio: one line now; the same: resized, noted later


def _check_output(output: str, fmt: str | None, frames: int | None) -> None:
    """The extension decides the format (as in ffmpeg): a contradicting --format, a name with no
    extension (unless --format png or a trailing / asks for a folder of PNG frames) and a single
    .png for several frames are refused."""
    from kinema.video.formats import detect_format

    path = Path(output)
    folder = output.endswith(("/", os.sep)) or path.is_dir()
    if not path.suffix and fmt is None and not folder:
        raise KinemaError(f"-o {output!r} has no extension: name a video ({output}.mp4, .webm, .gif) or, for a "
                          f"folder of PNG frames, add --format png or end it with /")
    if folder and fmt not in (None, "png"):
        raise KinemaError(f"-o {output!r} is a folder (PNG frames) but --format {fmt} names a single file")
    detect_format(path, "png" if folder else fmt)  # a contradicting --format -> one line naming both
    if path.suffix.lower() == ".png" and frames != 1:
        raise KinemaError(f"-o {output!r} names a single PNG image but a video has several frames: "
                          f"use a folder ({path.with_suffix('')}/) or --frames 1")


def _video_summary(path, frames: int, fps: float, seconds: float) -> str:
    """The line animate ends with: the video's length and the generation time, never confusable."""
    return f"wrote {path}: {frames} frames at {fps:g} fps ({frames / fps:.1f} s of video), generated in {seconds:.1f} s"


def cmd_info(args) -> int:
    from kinema.checkpoint import load_checkpoint, read_metadata
    from kinema.sampling.pipeline import default_model_path

    path = Path(args.checkpoint) if args.checkpoint else default_model_path()
    config, info = read_metadata(path)
    tensors, _, _ = load_checkpoint(path)
    groups: dict[str, int] = {}
    for k, v in tensors.items():
        groups[k.split(".")[0]] = groups.get(k.split(".")[0], 0) + v.numel()
    if args.json:
        print(json.dumps({"path": str(path), "parameters": groups, "info": info, "config": config}, indent=2))
    else:
        from kinema.model_info import model_summary

        print("\n".join(model_summary(path, config, info, groups)))
    return EXIT_OK


def cmd_data_world(args) -> int:
    from dataclasses import replace

    from kinema.data.world import export_world, world_preset

    cfg = world_preset(args.preset)
    if args.size:
        cfg = replace(cfg, size=_parse_size(args.size))
    if args.frames:
        cfg = replace(cfg, frames=args.frames)
    if args.fps:
        cfg = replace(cfg, fps=args.fps)
    manifest = export_world(cfg, args.n, args.out, split=args.split, seed=args.seed, fmt=args.format)
    print(f"wrote {args.n} clips; manifest {manifest}")
    return EXIT_OK


def cmd_data_scan(args) -> int:
    from kinema.data.real import scan

    summary = scan(args.source, args.out, min_frames=args.min_frames, compute_motion=not args.no_motion,
                   workers=args.workers, allow_vfr=not args.skip_vfr, codecs=args.codecs)
    print(summary.report() if hasattr(summary, "report") else summary)
    return EXIT_OK


def cmd_data_cache(args) -> int:
    from kinema.data.real import cache_latents_cli

    cache_latents_cli(args.manifest, args.vae, args.out, size=_parse_size(args.size), frames=args.frames,
                      fps=args.fps, stride=args.stride, shard_size=args.shard_size, batch_size=args.batch_size,
                      num_workers=args.workers)
    return EXIT_OK


def cmd_data_preview(args) -> int:
    from kinema.data.real import contact_sheet

    out = contact_sheet(args.source, args.out, n=args.n)
    print(f"wrote {out}")
    return EXIT_OK


def cmd_bench_world(args) -> int:
    from kinema.bench import bench_world

    baselines = tuple(b for b in args.baselines.split(",") if b)
    bench_world(args.model, GenerationRequest(**request_options(args, bench=True)), baselines=baselines,
                n_clips=args.n, seeds_per_clip=args.seeds, n_reference=args.reference, exact_plan=args.exact_plan,
                exact_mask=args.exact_mask, device=args.device, out_dir=args.out)
    print(f"wrote {args.out}/report.json, report.md, grid.png")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    _thread_policy()
    args = build_parser().parse_args(argv)
    from kinema.progress import set_quiet

    set_quiet(args.quiet)
    try:
        return args.func(args)
    except KinemaError as e:
        print(f"kinema: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `kinema info | head`
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("kinema: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the last resort: one line, exit 1, traceback on request
        if os.environ.get("KINEMA_DEBUG"):
            raise
        print(f"kinema: internal error: {type(e).__name__}: {e} (set KINEMA_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return EXIT_INTERNAL


def _thread_policy() -> None:
    """OpenMP threads that sleep when idle (``OMP_WAIT_POLICY=PASSIVE``) unless the user chose a policy.

    libgomp's default spin-wait keeps idle worker threads busy between parallel regions; on a CPU
    shared with another job they steal each other's cores and a sampler step ran 2-73x slower, against
    ~1.5x faster on an idle CPU (benchmarks/results/startup_and_threads.md). Read by libgomp when torch
    loads, so it must be set before the first ``import torch``; a no-op after.
    """
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def entry() -> int:
    """The ``kinema`` executable and ``python -m kinema``: :func:`main`, then a quick interpreter exit.

    Interpreter shutdown garbage-collects every object torch created at import (0.4-1.7 s on a 2-core
    CPU, benchmarks/startup_and_threads.py); ``gc.freeze()`` moves them out of the collector's reach
    first, so exit costs 0.1-0.2 s. Finalizers and atexit handlers still run.
    """
    code = main()
    if "torch" in sys.modules:
        import gc

        gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(entry())
