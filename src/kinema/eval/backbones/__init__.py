"""Pretrained networks that the reference metrics run, reimplemented as plain torch modules.

Each backbone's state-dict keys match its reference weight file, so the published file loads as it
is (weights come from local files through :mod:`kinema.eval.weights`; nothing is downloaded). Import
the submodule you need, e.g. ``from kinema.eval.backbones.raft import load_raft, raft_flow``.
"""
