"""Generation options, declared once: :class:`GenerationRequest` (what one generation depends on),
:class:`SamplingDefaults` (what a model fills in for the options left unset) and the command-line
flags of ``kinema animate`` and ``kinema bench world``, built from the request fields' metadata.

Torch-free, so the CLI builds its parsers (and ``--help``) without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable

from kinema.errors import KinemaError
from kinema.sampling.samplers import sampler_help


def parse_size(text: str | None) -> tuple[int, int] | None:
    """``"WxH"`` -> (W, H); None stays None."""
    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise KinemaError(f"size {text!r} must look like WIDTHxHEIGHT, e.g. 64x64") from None
    if w <= 0 or h <= 0:
        raise KinemaError(f"size {text!r} must be positive")
    return (w, h)


def parse_pair(text: str | None) -> tuple[float, float] | None:
    """``"MIN,MAX"`` of ``--guidance-ramp`` -> (MIN, MAX); None stays None."""
    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise KinemaError(f"--guidance-ramp {text!r} must look like MIN,MAX") from None
    return (lo, hi)


_NO_FLAG = object()


def option(default: Any, help: str | None = None, *, type: Callable | None = None, parse: Callable | None = None,
           action: str | None = None, flag: str | None = None, bench: Any = _NO_FLAG):
    """A request field with its command-line flag (``--name-with-dashes`` unless ``flag``): its ``help``,
    argparse ``type`` or ``action``, a ``parse`` applied after argparse (errors as one KinemaError line),
    and ``bench``: the flag's help in ``kinema bench world`` (None: no help; left out: no bench flag)."""
    cli = dict(help=help, type=type, parse=parse, action=action, flag=flag, bench=bench)
    return field(default=default, metadata={"cli": cli})


_MODELS = "default: the model's"


@dataclass
class GenerationRequest:
    """Everything one generation depends on; recorded in the output's provenance."""

    prompt: str = option("", "text describing the motion")
    frames: int | None = option(None, type=int, bench=None)  # None = the model's trained frame count
    fps: float | None = option(None, type=float, bench=None)
    size: tuple[int, int] | None = option(  # (W, H); None = the model's trained size
        None, "WxH, e.g. 64x64 (default: the model's trained size)", parse=parse_size,
        bench="WxH (default: the model's trained size)")
    steps: int | None = option(None, type=int, bench=None)
    sampler: str | None = option(None, sampler_help(), bench=None)  # the samplers' registry
    guidance: float = option(1.0, "text guidance scale (1 = off)", type=float, bench=None)  # 1 = off
    image_guidance: float | None = option(  # 1 = off; None = the model's default
        None, "image guidance scale (1 = off; default: the model's)", type=float, bench=_MODELS)
    plan_guidance: float | None = option(  # planned models; None = the model's default
        None, "motion-plan guidance scale (models with a motion planner; 1 = off; default: the model's)",
        type=float, bench=_MODELS)
    guidance_ramp: tuple[float, float] | None = option(  # per-frame (min, max) as in SVD
        None, "MIN,MAX per-frame image guidance ramp (SVD style); sets the image guidance, so not with --image-guidance", parse=parse_pair)
    guidance_rescale: float = 0.0
    noise_prior: str | None = option(  # a name in NOISE_PRIORS (None = the model's default; "iid" for text-to-video)
        None, "iid | mixed | lowfreq | image_noise (default: the model's; iid for --text-only); lowfreq and "
        "image_noise build on the input image and start from pure noise (strength 1)", bench=_MODELS)
    strength: float | None = option(  # SDEdit start from the reference video; 1 = pure noise (None = the model's)
        None, "SDEdit start: < 1 starts from the model's reference video noised part-way (1 = pure noise; default: "
        "the model's, 1 with --noise-prior lowfreq|image_noise or --text-only; more steps when it would run none)",
        type=float, bench="SDEdit start strength (default: the model's)")
    noise_aug: float = option(0.0, "noise level added to the input frames", type=float)
    replace_known: bool = option(  # impose the known frames' latents on x0 at every step
        True, "condition on the known frames by concatenation only (no latent replacement)", action="store_false",
        flag="--no-replace-known")
    motion: float | None = option(None, "motion amount (as in the training data)", type=float)
    camera: str | None = option(  # a camera move over the planned one ("pan_left", "zoom_in:0.02")
        None, "camera move over the planned one: static, pan_left, pan_right, tilt_up, tilt_down, zoom_in, zoom_out, "
        "roll_cw, roll_ccw; combine with +, speed after a colon (zoom_in+pan_left:0.02); models with a motion "
        "planner only")
    plan: tuple[float, ...] | None = None  # an explicit motion plan (kinema.conditioning.plan); None = planned
    loop: bool = option(False, "end on the input image (seamless loop)", action="store_true")
    seed: int = option(0, type=int)

    @classmethod
    def from_defaults(cls, defaults: SamplingDefaults, **options) -> GenerationRequest:
        """``options`` over the model's defaults of the options that depend on nothing else (frames, fps,
        size, sampler, plan_guidance). steps, image_guidance, noise_prior and strength depend on each other
        and on the inputs: the pipeline's ``_resolve`` settles them."""
        req = cls(**options)
        for name in ("frames", "fps", "size", "sampler", "plan_guidance"):
            if getattr(req, name) in (None, ""):
                setattr(req, name, getattr(defaults, name))
        req.fps, req.size, req.plan_guidance = float(req.fps), tuple(req.size), float(req.plan_guidance)
        return req


@dataclass(frozen=True)
class SamplingDefaults:
    """A model's sampling defaults. A checkpoint keeps them where training wrote them: the trained video
    grid under ``video`` and the rest under ``diffusion`` (``sample_steps`` is ``steps``)."""

    frames: int = 16
    fps: float = 8.0
    size: tuple[int, int] = (64, 64)  # (W, H)
    sampler: str = "euler"
    steps: int = 25
    image_guidance: float = 1.0
    plan_guidance: float = 1.0
    strength: float = 1.0
    noise_prior: str = "iid"

    @classmethod
    def from_config(cls, model_config: dict[str, Any]) -> SamplingDefaults:
        """From a checkpoint's embedded model config (keys absent from older files keep the defaults)."""
        v, d = model_config["video"], model_config["diffusion"]
        return cls(frames=int(v["frames"]), fps=float(v["fps"]), size=tuple(v["size"]),
                   sampler=d.get("sampler", cls.sampler), steps=int(d.get("sample_steps", cls.steps)),
                   image_guidance=float(d.get("image_guidance", cls.image_guidance)),
                   plan_guidance=float(d.get("plan_guidance", cls.plan_guidance)),
                   strength=float(d.get("strength", cls.strength)), noise_prior=str(d.get("noise_prior", cls.noise_prior)))


def _flags(bench: bool):
    """(field, its cli metadata, flag) of each request option with a flag in animate (or bench world)."""
    for f in fields(GenerationRequest):
        cli = f.metadata.get("cli")
        if cli is not None and not (bench and cli["bench"] is _NO_FLAG):
            yield f, cli, cli["flag"] or "--" + f.name.replace("_", "-")


def add_request_flags(parser, bench: bool = False) -> None:
    """Add the request options' flags to an argparse parser: ``kinema animate``'s, or ``bench world``'s."""
    for f, cli, flag in _flags(bench):
        kwargs = dict(help=cli["bench"] if bench else cli["help"])
        if cli["action"]:
            kwargs.update(action=cli["action"], dest=f.name)
        else:
            kwargs.update(type=cli["type"], default=f.default)
        parser.add_argument(flag, **kwargs)


def request_options(args, bench: bool = False) -> dict[str, Any]:
    """The request keywords parsed flags give (``size`` and ``guidance_ramp`` parsed from their text)."""
    return {f.name: (cli["parse"] or (lambda v: v))(getattr(args, f.name)) for f, cli, _ in _flags(bench)}
