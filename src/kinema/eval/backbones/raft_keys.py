"""State-dict keys for kinema's RAFT: the princeton-vl layout, and a map from torchvision's.

kinema's :class:`~kinema.eval.backbones.raft.RAFT` uses the module names of princeton-vl/RAFT, so
``raft-things.pth`` loads directly. That file was saved from ``nn.DataParallel`` and its keys start
with ``module.``; the prefix is removed here (VBench does the same). torchvision's
``raft_large`` is the same network under other names; :func:`state_dict_from_torchvision` renames
its keys (e.g. ``Raft_Large_Weights.C_T_V1``, torchvision's port of ``raft-things``).
"""

from __future__ import annotations

import re

import torch
from torch import nn

from kinema.errors import InputError

DATAPARALLEL_PREFIX = "module."

# (pattern, replacement) applied in order to each torchvision key.
_TORCHVISION_RENAMES = (
    (r"^feature_encoder\.", "fnet."),
    (r"^context_encoder\.", "cnet."),
    (r"^([fc]net)\.convnormrelu\.0\.", r"\1.conv1."),
    (r"^([fc]net)\.convnormrelu\.1\.", r"\1.norm1."),
    (r"^([fc]net)\.conv\.", r"\1.conv2."),
    (r"\.convnormrelu([12])\.0\.", r".conv\1."),
    (r"\.convnormrelu([12])\.1\.", r".norm\1."),
    (r"^update_block\.motion_encoder\.convcorr([12])\.0\.", r"update_block.encoder.convc\1."),
    (r"^update_block\.motion_encoder\.convflow([12])\.0\.", r"update_block.encoder.convf\1."),
    (r"^update_block\.motion_encoder\.conv\.0\.", "update_block.encoder.conv."),
    (r"^update_block\.recurrent_block\.convgru([12])\.conv([zrq])\.", r"update_block.gru.conv\2\1."),
    (r"^mask_predictor\.convrelu\.0\.", "update_block.mask.0."),
    (r"^mask_predictor\.conv\.", "update_block.mask.2."),
)


def _rename(key: str) -> str:
    for pattern, replacement in _TORCHVISION_RENAMES:
        key = re.sub(pattern, replacement, key)
    return key


def state_dict_from_torchvision(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision ``raft_large`` state dict -> kinema / princeton-vl keys.

    The strided blocks' shortcut norm also appears as ``norm3`` in the princeton-vl layout (the
    same module registered twice), so each ``downsample.1.*`` entry is copied to ``norm3.*``.
    """
    out = {}
    for key, value in sd.items():
        new = _rename(key)
        out[new] = value
        if ".downsample.1." in new:
            out[new.replace(".downsample.1.", ".norm3.")] = value
    return out


def strip_dataparallel(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove the ``module.`` prefix that ``nn.DataParallel`` adds to every key."""
    n = len(DATAPARALLEL_PREFIX)
    return {(k[n:] if k.startswith(DATAPARALLEL_PREFIX) else k): v for k, v in sd.items()}


def load_raft_state_dict(model: nn.Module, sd: dict[str, torch.Tensor], source: str = "state dict") -> None:
    """Load princeton-vl (with or without ``module.``) or torchvision RAFT-large weights into model.

    Only ``num_batches_tracked`` counters may be absent (they are unused at test time); any other
    missing or unexpected key raises InputError naming the keys.
    """
    sd = strip_dataparallel(sd)
    if any(k.startswith("feature_encoder.") for k in sd):
        sd = state_dict_from_torchvision(sd)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise InputError(f"{source} is not a RAFT-large state dict: {len(missing)} missing keys "
                         f"{missing[:5]}, {len(unexpected)} unexpected keys {unexpected[:5]}")
