"""``kinema eval``: folders of videos in, every metric with its protocol out (JSON, Markdown, HTML).

* :mod:`~kinema.eval.run.videos` — a folder under one frame protocol (fps, frame count); skips.
* :mod:`~kinema.eval.run.registry` — the metric names and what each needs.
* :mod:`~kinema.eval.run.features` — per-video features, cached on disk.
* :mod:`~kinema.eval.run.reference_stats` — ``kinema eval stats`` files.
* :mod:`~kinema.eval.run.runner` — :func:`evaluate`, :func:`reference_statistics`.
* :mod:`~kinema.eval.run.report` — JSON, Markdown and HTML with plots.
"""

from kinema.eval.run.registry import METRICS, MetricSpec, all_metrics, get_metric, register
from kinema.eval.run.report import write_reports
from kinema.eval.run.runner import EvalReport, EvalRequest, evaluate, reference_statistics
from kinema.eval.run.videos import FrameProtocol, VideoSet, load_video_set

__all__ = ["EvalReport", "EvalRequest", "FrameProtocol", "METRICS", "MetricSpec", "VideoSet", "all_metrics",
           "evaluate", "get_metric", "load_video_set", "reference_statistics", "register", "write_reports"]
