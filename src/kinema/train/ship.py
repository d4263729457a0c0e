"""Ship a trained model as kinema's default: its weights plus where they came from.

``python -m kinema.train.ship RUN_DIR --recipe CONFIG --bench REPORT_JSON --out PATH`` copies
``RUN_DIR/model.safetensors`` and adds a ``provenance`` entry to its embedded info: the recipe
file and its sha256, the training command, steps, seconds and hardware (from the run), and the
headline figures of ``kinema bench world`` with the command that produced them. ``kinema info``
prints all of it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from kinema.checkpoint import load_checkpoint, save_checkpoint, sha256_file
from kinema.errors import InputError, KinemaError

# bench world figures copied into the model (issue 4's targets are on the first six)
BENCH_KEYS = ("first_frame_psnr", "first_frame_ssim", "direction_accuracy", "n_moving", "camera_accuracy",
              "n_camera", "fd_world", "fd_world_inf", "warping_error_ratio", "flicker_ratio", "seconds_per_clip",
              "peak_rss_mib", "n_videos", "seeds_per_clip")


def bench_summary(report_path: str | Path) -> dict:
    """The headline figures of a ``kinema bench world`` report.json, with the baselines' FD."""
    try:
        report = json.loads(Path(report_path).read_text())
        gens = report["generators"]
        model = gens["model"]
    except (OSError, KeyError, ValueError) as e:
        raise InputError(f"{report_path}: not a kinema bench world report with a model column ({e})") from None
    out = {k: model[k] for k in BENCH_KEYS if k in model}
    out["fd_world_static"] = gens.get("static", {}).get("fd_world")
    out["fd_world_gt"] = gens.get("gt", {}).get("fd_world")
    out["fd_world_inf_static"] = gens.get("static", {}).get("fd_world_inf")
    out["fd_world_inf_gt"] = gens.get("gt", {}).get("fd_world_inf")
    out["bench"] = report.get("bench")
    out["report"] = str(report_path)
    return out


def ship_model(run_dir: str | Path, out: str | Path, *, recipe: str | Path, bench: str | Path | None = None,
               hardware: str | None = None, bench_command: str | None = None) -> Path:
    """Write ``out`` = the run's model.safetensors with a ``provenance`` entry in its info."""
    run_dir = Path(run_dir)
    tensors, config, info = load_checkpoint(run_dir / "model.safetensors")
    recipe = Path(recipe)
    if not recipe.is_file():
        raise InputError(f"recipe {recipe} does not exist")
    info = dict(info)
    info["provenance"] = {
        "recipe": recipe.as_posix(), "recipe_sha256": sha256_file(recipe),
        "train_command": f"kinema train {recipe.as_posix()} --out {run_dir.as_posix()}",
        "steps": info.get("steps"), "train_seconds": info.get("train_seconds"),
        "hardware": hardware or f"{info.get('device', '?')} ({info.get('cpu', '?')})",
        "shipped": time.strftime("%Y-%m-%d"),
    }
    if "init_from" in info:  # a fine-tune: the base model's own provenance, and the compute of the whole chain
        base = _base_provenance(info["init_from"])
        info["provenance"].update(
            init_from=base, total_steps=(info.get("steps") or 0) + (base.get("total_steps") or base.get("steps") or 0),
            total_train_seconds=round((info.get("train_seconds") or 0)
                                      + (base.get("total_train_seconds") or base.get("train_seconds") or 0), 1))
    if bench is not None:
        info["benchmark"] = dict(bench_summary(bench), command=bench_command)
    return save_checkpoint(out, tensors, config, info)


def _base_provenance(init_from: dict) -> dict:
    """Where a fine-tune's starting model came from: its shipped provenance, else its run info."""
    from kinema.checkpoint import read_metadata

    try:
        _, base = read_metadata(init_from["path"])
    except KinemaError:  # the base file is gone: keep what the export recorded of it
        return dict(init_from)
    prov = base.get("provenance")
    return dict(prov) if isinstance(prov, dict) else dict(init_from)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kinema.train.ship", description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir")
    p.add_argument("--recipe", required=True, help="the config file the run was trained from")
    p.add_argument("--bench", default=None, help="report.json of `kinema bench world` on this model")
    p.add_argument("--bench-command", default=None, help="the bench command line, recorded verbatim")
    p.add_argument("--hardware", default=None, help="e.g. '2-core x86_64 CPU, shared'")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    try:
        path = ship_model(args.run_dir, args.out, recipe=args.recipe, bench=args.bench, hardware=args.hardware,
                          bench_command=args.bench_command)
    except KinemaError as e:
        print(f"ship: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
