"""kinema: image-to-video diffusion — train, sample, evaluate and serve I2V models.

The public API is small: ``kinema.load(path)`` returns a pipeline, and calling the pipeline
with an image (and optional prompt, last frame, motion amount...) returns video frames.
"""

__version__ = "0.1.0"


def load(path=None, **kwargs):
    """Load a pipeline from a kinema safetensors checkpoint; None = the model shipped in the package.

    Keywords: ``device="cpu"`` (default, float32; "cuda" or "auto" for the GPU), ``allow_unsafe``,
    ``text_encoder`` (see :func:`kinema.sampling.pipeline.load_pipeline`). Calling the pipeline takes
    an image as a path, a PIL image or a numpy (H, W, 3) array, uint8 or float in [0, 1].
    """
    from kinema.sampling.pipeline import load_pipeline

    return load_pipeline(path, **kwargs)


__all__ = ["__version__", "load"]
