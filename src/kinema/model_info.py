"""``kinema info``'s human summary of a model file: what it is, its size, what it was trained on,
the conditions it takes, its benchmark figures and its recipe, in about ten lines.

Everything is read from the file's embedded config and info (a checkpoint carries its own facts); a
field the file lacks (an older or hand-made checkpoint) is left out, never guessed. ``--json`` prints
the whole header instead.
"""

from __future__ import annotations

from typing import Any

TASK_NAMES = {"first": "first frame", "first_last": "first + last frame", "loop": "loop",
              "prefix": "video prefix", "none": "no frame (text-to-video)"}

# info["benchmark"] keys shown, in order, with their label and format (others stay in --json)
BENCH_FIGURES = (
    ("first_frame_psnr", "first-frame PSNR {:.1f} dB"),
    ("direction_accuracy", "direction {:.2f}"),
    ("camera_accuracy", "camera {:.2f}"),
    ("fd_world_inf", "FD_inf {:.2f}"),
    ("warping_error_ratio", "warping {:.2f}x GT"),
    ("flicker_ratio", "flicker {:.2f}x GT (1 ideal)"),
    ("seconds_per_clip", "{:.1f} s/clip"),
)


def model_summary(path, config: dict[str, Any], info: dict[str, Any], parameters: dict[str, int]) -> list[str]:
    """Lines of ``label  text`` describing a model file (``parameters``: counts per top-level module)."""
    rows = [("model", f"{info.get('run_name', 'unnamed')} ({path})"),
            ("what", _what(config)),
            ("size", _size(parameters)),
            ("trained", _trained(config, info)),
            ("conditions", _conditions(config)),
            ("sampling", _sampling(config)),
            ("benchmark", _benchmark(info.get("benchmark") or {})),
            ("recipe", _recipe(info.get("provenance") or {}))]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {text}" for label, text in rows if text]
    return lines + [f"{'':<{width}}  (everything: kinema info --json)"]


def _what(config: dict) -> str:
    backbone, diffusion = config.get("backbone", {}), config.get("diffusion", {})
    ae = config.get("autoencoder", {})
    parts = [f"image-to-video diffusion: {backbone.get('kind', '?')} backbone"]
    if diffusion:
        parts.append(f"{diffusion.get('parameterization', '?')}-prediction, {diffusion.get('schedule', '?')} schedule")
    if ae:
        channels = ae.get("config", {}).get("latent_channels")
        parts.append(f"{ae.get('kind', '?')} autoencoder" + (f" ({channels} latent channels)" if channels else ""))
    return "; ".join(parts)


def _size(parameters: dict[str, int]) -> str:
    total = sum(parameters.values())
    parts = ", ".join(f"{name} {_millions(n)}" for name, n in sorted(parameters.items(), key=lambda kv: -kv[1]))
    return f"{_millions(total)} parameters ({parts})" if parameters else ""


def _millions(n: int) -> str:
    return f"{n / 1e6:.2f} M"


def _trained(config: dict, info: dict) -> str:
    video, data = config.get("video", {}), info.get("data", {})
    if not video:
        return ""
    w, h = video.get("size", ["?", "?"])
    source = data.get("source")
    fps = video.get("fps")
    text = f"{w}x{h}, {video.get('frames', '?')} frames" + (f" at {fps:g} fps" if isinstance(fps, (int, float)) else "")
    text += f" on {'kinema world (procedural clips)' if source == 'world' else source}" if source else ""
    if "steps" in info:
        text += f"; {info['steps']:,} steps"
        if "train_seconds" in info:
            text += f" in {_duration(info['train_seconds'])}"
    total = (info.get("provenance") or {}).get("total_train_seconds")
    if total:
        text += f" ({info['provenance'].get('total_steps', 0):,} steps, {_duration(total)} with its ancestors)"
    return text


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def _conditions(config: dict) -> str:
    cond = config.get("conditioner", {})
    if not cond:
        return ""
    mix = cond.get("task_mix", {})
    parts = [" / ".join(TASK_NAMES.get(k, k) for k, p in mix.items() if p > 0)] if mix else ["known frames"]
    encoder = cond.get("text_encoder", "")
    if encoder and not encoder.startswith("null"):
        parts.append(f"prompt ({encoder})")
    parts.append("motion amount, fps, noise augmentation")
    if cond.get("reference") == "planned":
        parts.append("motion plan from the prompt (--camera, --plan-guidance)")
    if cond.get("object_mask"):
        parts.append("object mask (--mask)")
    return "; ".join(parts)


def _sampling(config: dict) -> str:
    d = config.get("diffusion", {})
    if "sampler" not in d:
        return ""
    text = f"{d['sampler']}, {d.get('sample_steps', '?')} steps"
    for key, label in (("image_guidance", "image guidance"), ("plan_guidance", "plan guidance"),
                       ("strength", "strength"), ("noise_prior", "noise prior")):
        if d.get(key) is not None:
            text += f", {label} {d[key]}"
    return text + " (defaults; every one can be overridden)"


def _benchmark(bench: dict) -> str:
    figures = [fmt.format(bench[key]) + _baselines(bench, key) for key, fmt in BENCH_FIGURES if _number(bench, key)]
    if not figures:
        return ""
    n = bench.get("n_videos")
    return "kinema bench world" + (f" ({n} videos)" if n else "") + ": " + ", ".join(figures)


def _baselines(bench: dict, key: str) -> str:
    """" (static a, GT b)" where the file records the baselines' figure (a distance reads only beside them)."""
    if _number(bench, f"{key}_static") and _number(bench, f"{key}_gt"):
        return f" (static {bench[f'{key}_static']:.2f}, GT {bench[f'{key}_gt']:.2f})"
    return ""


def _number(d: dict, key: str) -> bool:
    return isinstance(d.get(key), (int, float)) and not isinstance(d.get(key), bool)


def _recipe(provenance: dict) -> str:
    if "recipe" not in provenance:
        return ""
    text = provenance["recipe"]
    if provenance.get("train_command"):
        text += f" (`{provenance['train_command']}`)"
    parent = (provenance.get("init_from") or {}).get("recipe")
    return text + (f", continued from {parent}" if parent else "")
