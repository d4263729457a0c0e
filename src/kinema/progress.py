"""One progress bar for every long command: on stderr, off with ``--quiet``, off when stderr is not a TTY.

stdout carries results (a path, a report) so ``kinema ... | jq`` and scripts stay clean; the bar goes to
stderr and, as in pip and huggingface_hub, only when a person is watching it (tqdm's ``disable=None``
turns it off when stderr is redirected, so logs and CI output get no carriage-return noise).

Usage, from any module (tqdm is imported only when a bar is made, keeping ``kinema --help`` fast)::

    from kinema.progress import progress
    for clip in progress(clips, desc="scan"):
        ...
    with progress(total=steps, desc="denoise", unit="step") as bar:
        bar.update()

``set_quiet(True)`` (the CLI's ``--quiet``) turns every bar off for the process; ``quiet=`` on a
single call overrides it.
"""

from __future__ import annotations

from collections.abc import Iterable

_QUIET = False


def set_quiet(quiet: bool) -> None:
    """Set the process-wide default (the CLI calls this once from ``--quiet``)."""
    global _QUIET
    _QUIET = bool(quiet)


def is_quiet() -> bool:
    """Whether bars and informational messages are off for this process."""
    return _QUIET


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str | None = None,
             unit: str = "it", initial: int = 0, quiet: bool | None = None, leave: bool = False):
    """A tqdm bar on stderr over ``iterable`` (or a manual one of ``total`` steps: call ``.update()``).

    initial: steps already done (a resumed run).
    quiet: True hides the bar; None uses the process default (:func:`set_quiet`). A bar that is not
    hidden still disappears when stderr is not a TTY. leave: keep the finished bar on screen (default no:
    the command's one-line summary replaces it).
    """
    from tqdm import tqdm

    hidden = _QUIET if quiet is None else quiet
    return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, leave=leave,
                disable=True if hidden else None, dynamic_ncols=True)
