"""Stop a training run at a step boundary on Ctrl-C or ``kill``, so no finished step is lost.

A signal arriving mid-step (inside ``optimizer.step()``, between the update and the step
counter, during an EMA update) must not be saved as if the step were whole. :class:`StopRequest`
therefore only records SIGINT / SIGTERM; the loop checks it between steps, saves the training
state and raises ``KeyboardInterrupt``. A second signal interrupts at once, for the impatient.
"""

from __future__ import annotations

import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Context manager: while active, SIGINT/SIGTERM set ``requested`` instead of interrupting."""

    def __init__(self):
        self.requested = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.requested:  # the second signal: stop now
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():  # handlers live in the main thread only
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}
