"""FVD features of the StyleGAN-V protocol (Skorokhodov et al. 2022): the TF-hub Kinetics-400 I3D of
the original FVD (Unterthiner et al. 2018; Wang et al. 2026, I2V survey Eq. 6) exported to TorchScript as
``i3d_torchscript.pt``.

The file carries its own preprocessing, switched by keyword flags of its ``forward``:
``detector(x, rescale=..., resize=..., return_features=...)``. StyleGAN-V
(``src/metrics/frechet_video_distance.py`` and ``metric_utils.py``) calls it on uint8 clips laid out
(N, 3, T, H, W) with ``rescale=True, resize=True, return_features=True``: the detector itself maps
0..255 to [-1, 1], resizes to 224x224 and returns the 400-d pre-softmax features. kinema does the
same, so the file alone decides the numbers. Clips are the first ``frames`` (16, "FVD-16") frames of
each video; StyleGAN-V loads ``num_frames`` consecutive frames and discards shorter videos — kinema
refuses them with an error instead of dropping them silently.

This is a different network and preprocessing from :mod:`kinema.eval.backbones.i3d` (the TATS /
cd-fvd PyTorch port): its FVDs are reported as ``fvd-styleganv`` and never compared with ``fvd-tats``.
"""

from __future__ import annotations

import torch

from kinema.errors import InputError
from kinema.eval.backbones.i3d import uint8_videos

WEIGHT_ID = "i3d-stylegan-v"  # i3d_torchscript.pt (StyleGAN-V; www.dropbox.com/s/ge9e5ujwgetktms)
FRAMES = 16  # FVD-16; StyleGAN-V also reports FVD-128 (frames=128)
DETECTOR_KWARGS = {"rescale": True, "resize": True, "return_features": True}  # StyleGAN-V compute_fvd


class StyleGANVI3DFeatures:
    """uint8 (N, T, H, W, 3) -> float64 (N, dim) features of a TorchScript I3D detector."""

    def __init__(self, detector: torch.nn.Module, frames: int = FRAMES, dim: int = 400,
                 device: str | torch.device = "cpu", backbone_id: str = WEIGHT_ID):
        self.detector = detector.eval().to(device)
        self.device, self.frames, self.dim, self.backbone_id = torch.device(device), frames, dim, backbone_id
        self.resolution = (224, 224)  # inside the detector (resize=True)
        self.preprocessing = (f"first {frames} frames; uint8 clips (N, 3, T, H, W) handed unchanged to the "
                              "TorchScript detector with rescale=True, resize=True, return_features=True "
                              "(it maps 0..255 to [-1, 1] and resizes to 224x224 itself; StyleGAN-V protocol)")

    @torch.no_grad()
    def __call__(self, videos) -> torch.Tensor:
        x = uint8_videos(videos, self.frames, "fvd-styleganv (I3D TorchScript)")
        x = x.permute(0, 4, 1, 2, 3).contiguous().to(self.device)  # (N, T, H, W, 3) -> (N, 3, T, H, W)
        features = self.detector(x, **DETECTOR_KWARGS)
        if features.ndim != 2 or features.shape != (x.shape[0], self.dim):
            raise InputError(f"the I3D TorchScript detector returned shape {tuple(features.shape)}, expected "
                             f"({x.shape[0]}, {self.dim}); is the file StyleGAN-V's i3d_torchscript.pt?")
        return features.double().cpu()


def load_i3d_torchscript(path=None, device: str | torch.device = "cpu", frames: int = FRAMES) -> StyleGANVI3DFeatures:
    """The StyleGAN-V FVD detector from a local ``i3d_torchscript.pt``."""
    from kinema.eval.weights import load_torchscript, resolve_weights

    return StyleGANVI3DFeatures(load_torchscript(resolve_weights(WEIGHT_ID, path=path)), frames=frames,
                                device=device)
