"""``kinema eval`` and ``kinema weights``: thin wrappers over :mod:`kinema.eval.run` and
:mod:`kinema.eval.weights` (no metric logic here)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kinema.errors import InputError

EXIT_OK = 0


def add_eval(sub, parser_class) -> None:
    e = sub.add_parser("eval", help="score generated videos: FVD, FID, LPIPS, CLIPScore, VBench-I2V, ...",
                       description="kinema eval --generated DIR --reference DIR_OR_STATS --metrics LIST --out "
                                   "report.json | kinema eval stats DIR --metrics LIST --out stats.npz | "
                                   "kinema eval list")
    e.add_argument("action", nargs="?", choices=["stats", "list"], help="stats: precompute reference "
                   "statistics of DIR; list: the known metrics")
    e.add_argument("dir", nargs="?", help="(stats) the reference folder of videos")
    e.add_argument("--generated", help="folder (or file) of generated videos")
    e.add_argument("--reference", help="folder of reference videos, or a stats .npz from `kinema eval stats`")
    e.add_argument("--metrics", default="psnr,ssim,flicker", help="comma-separated metric names")
    e.add_argument("--out", help="report.json (Markdown, HTML and plots beside it) or, for stats, stats.npz")
    e.add_argument("--frames", type=int, default=None, help="frames per video (the first N after resampling)")
    e.add_argument("--fps", type=float, default=None, help="resample every video to this frame rate")
    e.add_argument("--cache", default=None, help="feature cache folder (default ~/.cache/kinema/features)")
    e.add_argument("--no-cache", action="store_true", help="do not read or write cached features")
    e.add_argument("--prompts", default=None, help="JSON {video name: prompt} (CLIPScore, camera motion); "
                   "default: the prompt in each kinema video's metadata")
    e.add_argument("--images", default=None, help="folder of input images named like the videos (VBench i2v_*); "
                   "default: frame 0 of the reference video of the same name")
    e.add_argument("--seed", type=int, default=None, help="seed of KID subsets / IS shuffle (default: "
                   "torch-fidelity's 2020)")
    e.add_argument("--kid-subset-size", type=int, default=1000, help="KID subset size (torch-fidelity: 1000)")
    e.add_argument("--is-splits", type=int, default=10, help="Inception Score splits")
    e.add_argument("--force", action="store_true", help="use reference stats made under another protocol")
    # SUPPRESS: an absent flag sets nothing, so a top-level `kinema --quiet` (if any) is not overridden
    e.add_argument("-q", "--quiet", "--no-progress", dest="quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no progress bars (they go to stderr, and only to a terminal; stdout keeps the results)")
    e.set_defaults(func=cmd_eval)


def add_weights(sub, parser_class) -> None:
    w = sub.add_parser("weights", help="the evaluation backbones' weight files: list, verify, where")
    wsub = w.add_subparsers(dest="weights_verb", required=True, parser_class=parser_class)
    wsub.add_parser("list", help="every weight file: size, sha256, licence, where it was found, its source URL")
    v = wsub.add_parser("verify", help="check size and sha256 of the weight files found")
    v.add_argument("ids", nargs="*", help="weight ids (default: all that are found)")
    h = wsub.add_parser("where", help="where a weight file is looked for, in order")
    h.add_argument("id")
    w.set_defaults(func=cmd_weights)


def _progress(args):
    """The runner's progress callback: a bar per step on stderr, or None under ``--quiet``."""
    from kinema.progress import is_quiet, progress

    if getattr(args, "quiet", False) or is_quiet():
        return None
    return lambda items, desc=None: progress(items, desc=desc)


def _protocol(args):
    from kinema.eval.run import FrameProtocol

    if args.frames is not None and args.frames < 1:
        raise InputError(f"--frames {args.frames} must be >= 1")
    if args.fps is not None and not args.fps > 0:
        raise InputError(f"--fps {args.fps} must be > 0")
    return FrameProtocol(frames=args.frames, fps=args.fps)


def _cache_dir(args):
    from kinema.eval.run.features import default_cache_dir

    return None if args.no_cache else Path(args.cache) if args.cache else default_cache_dir()


def _metric_names(args) -> list[str]:
    names = [m.strip() for m in args.metrics.split(",") if m.strip()]
    if not names:
        raise InputError("--metrics is empty; e.g. --metrics psnr,ssim,fvd-styleganv")
    return names


def cmd_eval(args) -> int:
    if args.action == "list":
        return _eval_list()
    if args.action == "stats":
        return _eval_stats(args)
    from kinema.eval.run import EvalRequest, evaluate, write_reports

    if not args.generated or not args.out:
        raise InputError("kinema eval needs --generated DIR and --out report.json (and --reference for most metrics)")
    req = EvalRequest(Path(args.generated), Path(args.reference) if args.reference else None, _metric_names(args),
                      _protocol(args), _cache_dir(args), seed=args.seed, force=args.force,
                      kid_subset_size=args.kid_subset_size, is_splits=args.is_splits,
                      prompts=Path(args.prompts) if args.prompts else None,
                      images=Path(args.images) if args.images else None)
    report = evaluate(req, _progress(args))
    paths = write_reports(report, args.out)
    for o in report.outputs:
        print(f"{o.result.name:28s} {o.result.value:.6g}")
    n_skipped = sum(len(v) for v in report.skipped.values())
    if n_skipped:
        print(f"skipped {n_skipped} unusable video(s); see {paths['md']}")
    print(f"wrote {paths['json']}, {paths['md'].name}, {paths['html'].name}")
    return EXIT_OK


def _eval_list() -> int:
    from kinema.eval.run import all_metrics

    for name, spec in sorted(all_metrics().items()):
        print(f"{name:28s} {spec.kind:12s} {spec.backbone:28s} {spec.description}")
    return EXIT_OK


def _eval_stats(args) -> int:
    from kinema.eval.run import reference_statistics
    from kinema.eval.run.reference_stats import save_reference

    if not args.dir or not args.out:
        raise InputError("usage: kinema eval stats DIR --metrics LIST --out stats.npz")
    entries = reference_statistics(Path(args.dir), _metric_names(args), _protocol(args), _cache_dir(args),
                                   _progress(args))
    path = save_reference(args.out, entries)
    for name, e in entries.items():
        print(f"{name:28s} n={e.stats.n} dim={e.stats.dim}")
    print(f"wrote {path}")
    return EXIT_OK


def cmd_weights(args) -> int:
    from kinema.eval import weights

    if args.weights_verb == "list":
        _print_weight_table(weights.list_rows(), weights.LIST_COLUMNS)
    elif args.weights_verb == "verify":
        ids = args.ids or [i for i in weights.CATALOG if _found(weights, i)]
        if not ids:
            print("no weight files found (see `kinema weights list` for where to get them)")
        bad = 0
        for i in ids:
            r = weights.verify(i)
            bad += not (r.found and r.size_ok is not False and r.sha256_ok is not False)
            print(f"{i:32s} {r.message}")
        if bad:
            raise InputError(f"{bad} weight file(s) missing or failed verification")
    else:
        for place, path, exists in weights.where(args.id):
            print(f"{'found' if exists else '-':6s} {place:24s} {path}")
    return EXIT_OK


def _print_weight_table(rows: list[dict[str, str]], columns: tuple[str, ...]) -> None:
    """An aligned table, one weight file a line (a header first, a count last)."""
    table = [[c.upper() for c in columns]] + [[row[c] for c in columns] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(columns) - 1)]  # the last column is not padded
    for r in table:
        print("  ".join([cell.ljust(w) for cell, w in zip(r, widths)] + [r[-1]]).rstrip())
    found = sum(row["local"] != "missing" for row in rows)
    print(f"{len(rows)} files, {found} present; put them in {_weights_dir()} (see `kinema weights where ID`)")


def _weights_dir() -> str:
    from kinema.eval.weights import cache_dir

    return str(cache_dir())


def _found(weights, weight_id: str) -> bool:
    return any(exists for _, _, exists in weights.where(weight_id))
