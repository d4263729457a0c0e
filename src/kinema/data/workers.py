"""Worker processes for data loading start from a fresh interpreter (forkserver), never by a bare fork.

A forked worker inherits the parent's FFmpeg objects (decoder contexts with frame threads, swscale
contexts with slice-thread pools) but none of their threads. If the child frees or reuses one (a
garbage collection, a converter rebuilt for another frame size) it waits forever for threads that
do not exist, or crashes: ``kinema data`` tests saw both (a worker blocked in
``avpriv_slicethread_free``; once, a worker killed by SIGSEGV). ``forkserver`` (Python 3.14's
default on Linux) forks workers from a clean server process that never touched FFmpeg; the cost is
importing torch once per worker, which ``persistent_workers`` pays once per run.
"""

from __future__ import annotations

import multiprocessing


def worker_context(num_workers: int):
    """The multiprocessing context for a DataLoader with ``num_workers`` workers (None: no workers)."""
    if num_workers <= 0:
        return None
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)
