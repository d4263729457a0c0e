"""The image-to-video pipeline: conditions in, frames out (Wang et al. 2026, I2V survey Eq. 1-2 at inference).

``pipeline(image, prompt=...)`` runs numbered steps, each a helper:

1. resolve the request against the model's trained defaults (size, frames, fps, sampler);
2. load and fit the input images (first frame, last frame, keyframes);
3. encode the known frames to latents;
4. build the ConditionBatch (known latents + mask, text tokens, scalar controls);
5. draw the initial noise from the chosen noise prior and scale it to sigma_max (or, with
   ``strength`` < 1, noise the model's reference video to a lower sigma and run only the
   remaining steps: SDEdit, Meng et al. 2022);
6. wrap the denoiser with classifier-free guidance;
7. integrate with the chosen sampler;
8. decode the latents and convert to uint8 frames.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from kinema import __version__
from kinema.conditioning.conditioner import Conditioner
from kinema.conditioning.spec import Conditions, KnownFrame
from kinema.config import check_range
from kinema.errors import ConfigError
from kinema.sampling.request import GenerationRequest, SamplingDefaults


@dataclass
class VideoResult:
    frames: np.ndarray  # (T, H, W, 3) uint8
    fps: float
    params: dict[str, Any] = field(default_factory=dict)  # provenance: model, seed, conditions, sampler
    notes: list[str] = field(default_factory=list)  # defaults that gave way, inputs that were resized
    seconds: float | None = None  # generation time: kept out of params so one seed gives one file

    def save(self, path, fmt: str | None = None) -> Path:
        """Write the video with its provenance; the generation time goes to the sidecar JSON only."""
        from kinema.video import write_video

        timing = None if self.seconds is None else {"timing": {"seconds": round(self.seconds, 3)}}
        return write_video(path, self.frames, self.fps, fmt=fmt, metadata=self.params, sidecar_extra=timing)


class I2VPipeline:
    """Backbone + parameterization + autoencoder + conditioner, sampled with kinema's samplers.

    Each call shows a denoising bar on stderr when stderr is a terminal (as diffusers' pipelines do);
    ``pipe.progress_bar = False`` hides it for this pipeline, ``kinema.progress.set_quiet(True)`` for all.
    """

    progress_bar: bool = True

    def __init__(self, backbone: nn.Module, param, autoencoder: nn.Module, conditioner: Conditioner,
                 model_config: dict[str, Any], info: dict[str, Any] | None = None,
                 device: torch.device | str = "cpu", model_id: str = "unknown"):
        from kinema.diffusion import Denoiser

        self.device = torch.device(device)
        self.backbone = backbone.to(self.device).eval()
        self.autoencoder = autoencoder.to(self.device).eval()
        self.param, self.conditioner = param, conditioner
        self.denoiser = Denoiser(self.backbone, param)
        self.model_config, self.info, self.model_id = model_config, info or {}, model_id

    @torch.no_grad()
    def __call__(self, image=None, prompt: str = "", *, last_frame=None, keyframes: dict[int, Any] | None = None,
                 object_mask=None, callback: Callable | None = None, **options) -> VideoResult:
        """Animate ``image``: a path, a PIL image, a numpy (H, W, 3) array (uint8, or float in [0, 1], as
        diffusers takes them) or a (3, H, W) tensor in [-1, 1]; None for text-to-video. ``last_frame`` and
        ``keyframes`` values take the same forms.

        ``object_mask``: the object to move in ``image`` (a motion brush: white on black, a path, PIL
        image, or (H, W) array/tensor, cropped and resized like the image; another size of the same aspect
        ratio is resized); default: the model's segmenter. Options are :class:`GenerationRequest`'s fields;
        a model default that conflicts with one given gives way, listed in ``result.notes``."""
        t0 = time.perf_counter()
        inputs = _Inputs(image, last_frame, keyframes or {}, object_mask)
        req, notes = self._resolve(dict(prompt=prompt, **options), inputs)  # 1
        frames = self._known_frames(req, image, last_frame, keyframes)  # 2
        latents = [self._encode_frame(f.image) for f in frames]  # 3
        mask = self._object_mask(object_mask, image, req, notes)
        conds = Conditions(frames=frames, prompt=req.prompt, fps=req.fps, motion=req.motion, noise_aug=req.noise_aug,
                           camera=req.camera, plan=req.plan, object_mask=mask)
        gen = torch.Generator().manual_seed(req.seed)
        C, h, w = self._latent_shape(req)
        cond = self.conditioner.sampling_batch(conds, req.frames, latents, (C, h, w), gen,
                                               encode=self._encode_video).to(self.device)  # 4
        sigmas = self._run_sigmas(req, self._sigmas(req))  # every step, or SDEdit's tail
        x = self._initial_state(req, (1, C, req.frames, h, w), latents, frames, sigmas, gen, cond)  # 5
        denoise = self._guided(req, sigmas, frames, latents, (C, h, w))  # 6
        x0 = self._sample(req, denoise, x, sigmas, cond, gen, callback)  # 7
        video = self._decode(x0)  # 8
        params = self._provenance(req, frames, conds, inputs, notes)
        return VideoResult(frames=video, fps=req.fps, params=params, notes=notes, seconds=time.perf_counter() - t0)

    def resolved(self, image: Any = True, *, last_frame=None, keyframes: dict[int, Any] | None = None,
                 **options) -> GenerationRequest:
        """The request ``options`` make once this model's defaults are filled in, for a call with these
        inputs: by default an input image; ``image=None`` (and no other frame) for text-to-video."""
        return self._resolve(options, _Inputs(image, last_frame, keyframes or {}, None))[0]

    # ---- 1. request ----------------------------------------------------------------------------
    @property
    def defaults(self) -> SamplingDefaults:
        """The model's sampling defaults, read from its config (each call: an edited config applies)."""
        return SamplingDefaults.from_config(self.model_config)

    def _resolve(self, options: dict[str, Any], inputs: _Inputs) -> tuple[GenerationRequest, list[str]]:
        """The request ``options`` make with the model's defaults filled in, and a note for each default
        that gave way.

        What the caller set explicitly always wins: a model default that conflicts with it yields
        (``noise_prior="lowfreq"`` alone -> strength 1), and two explicit options that conflict raise
        one ConfigError naming both. ``inputs`` say whether an image lands on frame 0 and whether any
        frame is known (none: text-to-video).
        """
        d = self.defaults
        req = GenerationRequest.from_defaults(d, **options)
        notes = self._settle_ramp(req, d)
        notes += self._settle_start(req, d, inputs.has_first, inputs.has_known)
        check_range("fps", req.fps, 1.0, 120.0)
        check_range("frames", req.frames, 1, 512)
        check_range("steps", req.steps, 1, 1000)
        check_range("guidance", req.guidance, 0.0, 50.0)
        check_range("image_guidance", req.image_guidance, 0.0, 50.0)
        check_range("plan_guidance", req.plan_guidance, 0.0, 50.0)
        self._check_strength(req)
        ds = self.autoencoder.downsample * self.backbone.size_multiple
        W, H = req.size
        if W % ds or H % ds or W < ds or H < ds:
            raise ConfigError(f"size {W}x{H} must be a positive multiple of {ds} for this model")
        check_range("width*height", W * H, 1, 4096 * 4096)
        self._check_trained_range(req, d.frames, d.size)
        return req, notes

    @staticmethod
    def _settle_ramp(req: GenerationRequest, d: SamplingDefaults) -> list[str]:
        """A per-frame guidance ramp sets the image scale itself: the model's default scale gives way to 1."""
        default = d.image_guidance
        if req.guidance_ramp is None or req.image_guidance is not None:
            if req.guidance_ramp is not None and req.image_guidance != 1.0:
                raise ConfigError(f"image_guidance={req.image_guidance} and guidance_ramp={tuple(req.guidance_ramp)} "
                                  "both set the image guidance scale: give one (the ramp sets it per frame)")
            req.image_guidance = float(default if req.image_guidance is None else req.image_guidance)
            return []
        req.image_guidance = 1.0
        return [] if default == 1.0 else [f"image_guidance 1 (not the model's {default:g}): the guidance ramp "
                                          "sets the image scale per frame"]

    def _settle_start(self, req: GenerationRequest, d: SamplingDefaults, has_first: bool, has_known: bool) -> list[str]:
        """steps, noise_prior and strength (the SDEdit start): explicit choices first, then the model's
        defaults where they fit them (see :meth:`_resolve`)."""
        from kinema.sampling.noise_priors import STRUCTURE_PRIORS

        notes = []
        explicit_steps = req.steps is not None
        req.steps = d.steps if req.steps is None else req.steps
        if req.strength is not None:
            notes += self._check_explicit_strength(req, explicit_steps, has_known)
        prior_given = req.noise_prior is not None
        if prior_given and req.noise_prior not in STRUCTURE_PRIORS:  # an image prior: needs frame 0 and noise
            if not has_first:
                raise ConfigError(f"noise_prior={req.noise_prior!r} builds the start from the input image, and "
                                  f"there is none: give an image or use one of {list(STRUCTURE_PRIORS)}")
            if req.strength is not None and req.strength < 1.0:
                raise ConfigError(f"noise_prior={req.noise_prior!r} and strength={req.strength} conflict: the prior "
                                  "starts from pure noise with the image in it, strength < 1 from a noised "
                                  f"reference video; use strength 1 or a noise prior in {list(STRUCTURE_PRIORS)}")
        if not prior_given:
            notes += self._default_prior(req, d.noise_prior, has_first, has_known)
        if req.strength is None:
            notes += self._default_strength(req, d.strength, has_known)
        return notes

    def _check_explicit_strength(self, req: GenerationRequest, explicit_steps: bool, has_known: bool) -> list[str]:
        """An explicit strength < 1 needs a reference video (an input image, a model that makes one) and at
        least one step; the model's default step count is raised until one runs."""
        if req.strength < 1.0 and not has_known:
            raise ConfigError(f"strength={req.strength} starts from a reference video made from the input image, "
                              "and text-to-video has none: use strength 1 or give an image")
        if explicit_steps or not 0.0 < req.strength < 1.0 or int(req.steps * req.strength + 1e-9) >= 1:
            return []  # strength_sigmas names a bad value, or steps and strength together, in _check_strength
        steps = math.ceil(1.0 / req.strength - 1e-9)
        note = f"steps {steps} (not the model's {req.steps}): strength={req.strength} runs no step at {req.steps}"
        req.steps = steps
        return [note]

    @staticmethod
    def _default_prior(req: GenerationRequest, default: str, has_first: bool, has_known: bool) -> list[str]:
        """The model's noise prior unless it cannot apply: i.i.d. for text-to-video (train_noise "mixed"
        trains text-only clips on i.i.d. noise) or with no first frame, mixed under an explicit strength < 1."""
        from kinema.sampling.noise_priors import STRUCTURE_PRIORS

        req.noise_prior, why = default, None
        if not has_known:
            req.noise_prior, why = "iid", "text-to-video"
        elif default not in STRUCTURE_PRIORS and not has_first:
            req.noise_prior, why = "iid", "there is no image at frame 0 to build it from"
        elif default not in STRUCTURE_PRIORS and req.strength is not None and req.strength < 1.0:
            req.noise_prior, why = "mixed", f"strength={req.strength} starts from a noised reference video"
        if why is None or req.noise_prior == default:
            return []
        return [f"noise_prior {req.noise_prior!r} (not the model's {default!r}): {why}"]

    def _default_strength(self, req: GenerationRequest, default: float, has_known: bool) -> list[str]:
        """The model's strength unless the start cannot be SDEdit's (text-to-video, an image noise prior, no
        reference video), raised to one step where it would run none at these steps."""
        from kinema.sampling.noise_priors import STRUCTURE_PRIORS

        why = None
        if default < 1.0 and not has_known:
            why = "text-to-video has no reference video to start from"
        elif default < 1.0 and req.noise_prior not in STRUCTURE_PRIORS:
            why = f"noise_prior={req.noise_prior!r} starts from pure noise with the image in it"
        elif default < 1.0 and not self.conditioner.makes_reference:
            why = "this model makes no reference video to start from"
        if why is not None:
            req.strength = 1.0
            return [f"strength 1 (not the model's {default:g}): {why}"]
        req.strength = max(default, 1.0 / req.steps)
        if req.strength > default:
            return [f"strength {req.strength:g} (not the model's {default:g}): {default:g} of {req.steps} steps "
                    "runs none"]
        return []

    @staticmethod
    def _check_trained_range(req: GenerationRequest, frames: int, size: tuple[int, int]) -> None:
        """Refuse requests far outside what the model was trained on (memory blows up, output is noise)."""
        if req.frames > MAX_FRAMES_FACTOR * frames:
            raise ConfigError(f"frames={req.frames} is more than {MAX_FRAMES_FACTOR}x the {frames} frames this model "
                              f"was trained on (at most {MAX_FRAMES_FACTOR * frames})")
        W, H = req.size
        if W * H > MAX_AREA_FACTOR * size[0] * size[1]:
            side = int(MAX_AREA_FACTOR ** 0.5)
            raise ConfigError(f"size {W}x{H} is more than {MAX_AREA_FACTOR}x the area of the {size[0]}x{size[1]} "
                              f"this model was trained at (at most {side * size[0]}x{side * size[1]})")

    # ---- 2-3. known frames ---------------------------------------------------------------------
    def _known_frames(self, req, image, last_frame, keyframes) -> list[KnownFrame]:
        from kinema.video import load_image

        size = tuple(req.size)
        frames = []
        if image is not None:
            frames.append(KnownFrame(0, _as_image(image, size, load_image)))
        if req.loop:
            if image is None:
                raise ConfigError("loop=True needs an input image (the loop starts and ends on it)")
            if last_frame is not None:
                raise ConfigError("loop=True ends the video on the input image and last_frame names another "
                                  "end: give one of them")
            frames.append(KnownFrame(-1, frames[0].image))
        elif last_frame is not None:
            frames.append(KnownFrame(-1, _as_image(last_frame, size, load_image)))
        for idx, img in (keyframes or {}).items():
            frames.append(KnownFrame(int(idx), _as_image(img, size, load_image)))
        return frames

    @staticmethod
    def _object_mask(value, image, req, notes: list[str]) -> Tensor | None:
        """The motion-brush mask at the request's size; one of another size than the image is resized
        when its aspect ratio matches (with a note in ``notes``) and refused otherwise."""
        from kinema.video import load_image
        from kinema.video.inputs import image_size, mask_fit

        if value is None:
            return None
        if image is None:
            raise ConfigError("object_mask marks the object to move in the input image: give an image")
        note = mask_fit(image_size(value), image_size(image))
        notes += [note] if note else []
        return _as_mask(value, tuple(req.size), load_image)

    def _encode_video(self, video: Tensor) -> Tensor:
        """(B, 3, T, H, W) pixels -> (B, C, T, h, w) latents on the CPU (the conditioner's side)."""
        return self.autoencoder.encode(video.to(self.device)).cpu()

    def _encode_frame(self, image: Tensor) -> Tensor:
        x = image.to(self.device)[None, :, None]  # (3, H, W) -> (1, 3, 1, H, W)
        return self.autoencoder.encode(x)[0, :, 0].cpu()  # (C, h, w)

    def _latent_shape(self, req) -> tuple[int, int, int]:
        ds = self.autoencoder.downsample
        W, H = req.size
        return int(self.autoencoder.latent_channels), H // ds, W // ds

    # ---- 5. noise --------------------------------------------------------------------------------
    def _sigmas(self, req) -> Tensor:
        from kinema.diffusion import get_sigmas

        C, h, w = self._latent_shape(req)  # the token count sets a flow schedule's resolution shift
        return get_sigmas(self.param, req.steps, num_tokens=h * w * req.frames).float()

    def _initial_state(self, req, shape, latents, frames, sigmas, gen, cond) -> Tensor:
        from kinema.sampling.noise_priors import make_initial_noise

        if req.strength < 1.0:  # SDEdit: the reference video noised to the first sigma that runs
            eps = make_initial_noise(req.noise_prior, shape, generator=gen).to(self.device)
            start = sigmas[:1].to(self.device)
            return self.param.add_noise(self.conditioner.reference_latents(cond.concat, shape[1]), eps, start)
        first = None
        if frames and frames[0].index == 0:
            first = latents[0][None]  # (1, C, h, w)
        noise = make_initial_noise(req.noise_prior, shape, generator=gen, first_latent=first,
                                   sigma_max=float(sigmas[0]), process=self.param.process)
        return self.param.prior(noise, sigmas[0]).to(self.device)

    @staticmethod
    def _run_sigmas(req, sigmas: Tensor) -> Tensor:
        from kinema.diffusion import strength_sigmas

        return sigmas if req.strength >= 1.0 else strength_sigmas(sigmas, req.strength)

    def _check_strength(self, req) -> None:
        """strength < 1 needs a reference video and a noise prior without an image term; one step must run."""
        from kinema.diffusion import strength_sigmas
        from kinema.sampling.noise_priors import STRUCTURE_PRIORS

        strength_sigmas(torch.zeros(req.steps + 1), req.strength)  # (0, 1], and at least one step runs
        if req.strength < 1.0 and not self.conditioner.makes_reference:
            raise ConfigError(f"strength={req.strength}: this model has no reference video to start from "
                              f"(conditioner.reference='none'); use strength 1")
        if req.strength < 1.0 and req.noise_prior not in STRUCTURE_PRIORS:
            raise ConfigError(f"strength={req.strength} starts from the reference video: noise_prior "
                              f"{req.noise_prior!r} adds an image of its own; use one of {list(STRUCTURE_PRIORS)}")

    # ---- 6-7. guidance and sampler -------------------------------------------------------------
    def _guided(self, req, sigmas, frames, latents, latent_shape):
        from kinema.sampling.guidance import GuidanceConfig, guided_denoiser
        from kinema.sampling.known_frames import KnownFrameReplacement

        cfg = GuidanceConfig(text_scale=req.guidance, image_scale=req.image_guidance, plan_scale=req.plan_guidance,
                             frame_ramp=req.guidance_ramp, rescale=req.guidance_rescale)
        denoise = guided_denoiser(self.denoiser, cfg, sigmas=sigmas)
        if not (req.replace_known and frames):
            return denoise
        known = torch.zeros(1, *latent_shape[:1], req.frames, *latent_shape[1:])  # (1, C, T, h, w)
        mask = torch.zeros(1, req.frames)
        for frame, i, z in zip(frames, Conditions(frames=frames).resolved_indices(req.frames), latents):
            known[0, :, i], mask[0, i] = z, frame.strength
        return KnownFrameReplacement(denoise, known.to(self.device), mask.to(self.device))

    def _sample(self, req, denoise, x, sigmas, cond, gen, callback) -> Tensor:
        from kinema.progress import progress
        from kinema.sampling.samplers import get_sampler

        sample = get_sampler(req.sampler, self.param.process)
        quiet = None if self.progress_bar else True  # None: the process default (the CLI's --quiet)
        with progress(total=len(sigmas) - 1, desc="denoise", unit="step", quiet=quiet) as bar:
            def step(info: dict) -> None:  # one tick per sampler step, then the caller's callback
                bar.update()
                if callback is not None:
                    callback(info)

            return sample(denoise, x, sigmas.to(self.device), cond=cond, generator=gen, callback=step,
                          process=self.param.process)

    # ---- 8. decode -------------------------------------------------------------------------------
    def _decode(self, latents: Tensor) -> np.ndarray:
        video = self.autoencoder.decode(latents, tiled=None)  # tiled above the autoencoder's own size
        video = video[0].clamp(-1, 1).permute(1, 2, 3, 0)  # (3, T, H, W) -> (T, H, W, 3)
        return ((video + 1) * 127.5).round().to(torch.uint8).cpu().numpy()

    def _provenance(self, req, frames, conds, inputs: _Inputs, notes: list[str]) -> dict[str, Any]:
        """What the video depends on (no timings: the same call must give the same bytes): the model, the
        resolved request, each input image's sha256, the defaults that gave way, the device and threads."""
        r = asdict(req)
        r["size"] = list(req.size)
        prints = inputs.known_fingerprints(req.loop)
        mask = conds.object_mask
        return {"kinema_version": __version__, "model": self.model_id, "request": r,
                "known_frames": [{"index": f.index, "strength": f.strength, **p} for f, p in zip(frames, prints)],
                "object_mask": None if mask is None else round(float(mask.float().mean()), 4),
                "object_mask_sha256": inputs.mask_fingerprint(),
                "resolved": list(notes),
                "parameterization": self.model_config["diffusion"]["parameterization"],
                "device": str(self.device), "dtype": "float32",
                "cpu_threads": torch.get_num_threads() if self.device.type == "cpu" else None}


@dataclass
class _Inputs:
    """The images of one call, for the resolution of options and the provenance's fingerprints."""

    image: Any
    last_frame: Any
    keyframes: dict[int, Any]
    object_mask: Any

    @property
    def has_known(self) -> bool:
        return self.image is not None or self.last_frame is not None or bool(self.keyframes)

    @property
    def has_first(self) -> bool:
        """An image lands on frame 0 (the one image noise priors build on), as in :meth:`_known_frames`."""
        return self.image is not None or (self.last_frame is None and next(iter(self.keyframes), None) == 0)

    def known_fingerprints(self, loop: bool) -> list[dict[str, str]]:
        """sha256 of each known frame's source, in :meth:`I2VPipeline._known_frames`' order."""
        from kinema.video.inputs import sha256_of

        sources = [self.image] if self.image is not None else []
        sources += [self.image] if loop else ([self.last_frame] if self.last_frame is not None else [])
        return [sha256_of(v) for v in sources + list(self.keyframes.values())]

    def mask_fingerprint(self) -> dict[str, str] | None:
        from kinema.video.inputs import sha256_of

        return None if self.object_mask is None else sha256_of(self.object_mask)


MAX_FRAMES_FACTOR = 8  # longest request: 8x the trained frame count
MAX_AREA_FACTOR = 64  # largest request: 8x the trained width and height


def _as_image(value, size, load_image) -> Tensor:
    if isinstance(value, Tensor):
        if value.dim() != 3 or value.shape[0] != 3:
            raise ConfigError(f"image tensor must be (3, H, W) in [-1, 1], got {tuple(value.shape)}")
        return torch.nn.functional.interpolate(value[None].float(), size=(size[1], size[0]), mode="bilinear",
                                               align_corners=False, antialias=True)[0]
    return load_image(value, size=size)


def _as_mask(value, size, load_image) -> Tensor:
    """A motion-brush mask as (H, W) bool at ``size`` (W, H): white (> mid-grey) marks the object.

    Resized as an image of the same kind is (:func:`_as_image`): a tensor is stretched, a file,
    PIL image or numpy array is centre-cropped to the aspect and resized, like a photo.
    """
    if isinstance(value, np.ndarray):
        from PIL import Image

        if value.ndim != 2:
            raise ConfigError(f"object_mask array must be (H, W), got {value.shape}")
        value = Image.fromarray(np.where(value > 0.5 * max(float(value.max()), 1e-6), 255, 0).astype(np.uint8))
    if isinstance(value, Tensor):
        if value.dim() != 2:
            raise ConfigError(f"object_mask tensor must be (H, W), got {tuple(value.shape)}")
        m = value.float() / max(float(value.max()), 1e-6)  # bool, 0..1 or 0..255 alike
        m = torch.nn.functional.interpolate(m[None, None], size=(size[1], size[0]), mode="bilinear",
                                            align_corners=False, antialias=True)[0, 0]
        return m >= 0.5
    return load_image(value, size=size).mean(dim=0) > 0.0  # [-1, 1] grey > 0 = brighter than mid-grey


def load_pipeline(path=None, device: str = "cpu", allow_unsafe: bool = False, text_encoder=None) -> I2VPipeline:
    """Build a pipeline from a kinema checkpoint (``model.safetensors``); None = the shipped default.

    ``device``: "cpu" (the default, float32, as diffusers: one seed gives one video on any machine with
    the same thread count), "cuda", "cuda:N", or "auto" (CUDA when present). See :mod:`kinema.device`.
    """
    from kinema.build import load_components
    from kinema.checkpoint import sha256_file
    from kinema.device import resolve_device

    path = Path(path) if path is not None else default_model_path()
    m = load_components(path, text_encoder, allow_unsafe)
    model_id = f"{path.name}@sha256:{sha256_file(path)[:16]}"
    return I2VPipeline(m.backbone, m.param, m.autoencoder, m.conditioner, m.config, m.info, resolve_device(device),
                       model_id)


def default_model_path() -> Path:
    """The model shipped inside the package (kinema/assets/default_model.safetensors)."""
    from kinema.errors import InputError

    p = Path(__file__).resolve().parent.parent / "assets" / "default_model.safetensors"
    if not p.exists():
        raise InputError("no default model is bundled with this kinema build; pass --model CKPT "
                         "(train one with `kinema train toy --out runs/toy`)")
    return p
