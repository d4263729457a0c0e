"""Metrics on pretrained backbones (weights from local files, see :mod:`kinema.eval.weights`)."""

from __future__ import annotations
