"""Errors that mean "the user gave bad input": the CLI prints them on one line and exits 2."""


class KinemaError(Exception):
    """Base class for every error caused by the user's input or configuration."""


class ConfigError(KinemaError, ValueError):
    """A configuration value is missing, of the wrong type, or outside its accepted range.

    The message names the key, the value and what would be accepted.
    """


class InputError(KinemaError, ValueError):
    """An input file (image, video, checkpoint, manifest) is unreadable or unsupported."""


class DeviceError(KinemaError, RuntimeError):
    """A device was requested that this machine does not have (e.g. CUDA without a GPU)."""
