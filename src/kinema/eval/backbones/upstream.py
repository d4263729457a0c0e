"""Import network code kinema does not ship, from a local checkout the user names (like the weights).

CoTracker (facebookresearch/co-tracker) and AMT (MCG-NKU/AMT) publish their code under CC-BY-NC-4.0,
pyiqa (chaofengc/IQA-PyTorch, MUSIQ) under PolyForm-Noncommercial-1.0.0: an Apache-2.0 package can carry
neither. kinema keeps only the protocol around them (how VBench calls them) and imports the networks
from the directory in an environment variable.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from kinema.errors import ConfigError


def import_upstream(module: str, env: str, repo: str, marker: str, path=None, licence: str = "CC-BY-NC-4.0"):
    """Import ``module`` from the checkout at ``path`` (default ``$env``) holding the file ``marker``."""
    src = str(path or os.environ.get(env, "")).strip()
    if not src or not (Path(src) / marker).is_file():
        where = f"; {src!r} has no {marker}" if src else ""
        raise ConfigError(f"{repo} code is {licence} and not shipped with kinema: set {env} to a local "
                          f"checkout of https://github.com/{repo}{where}")
    root = str(Path(src).resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module(module)
