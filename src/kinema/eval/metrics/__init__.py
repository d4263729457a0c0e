"""Metrics built on learned feature backbones (FID, KID, IS, ...); each returns a
:class:`~kinema.eval.protocol.MetricResult` carrying its protocol."""
