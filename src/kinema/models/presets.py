"""Named backbone sizes, from ``tiny`` (unit tests, CPU) to about 1B parameters (GPUs).

A preset holds only the size keys; the input/condition widths (in/out/concat channels,
vector_dim, text_dim) come from the rest of the run's configuration. Parameter counts below are
for in=out=4, concat=5, vector=3, text_dim=1024 (computed on the meta device, see tests).
"""

from __future__ import annotations

PRESETS: dict[str, dict[str, dict]] = {
    "unet3d": {
        "tiny": dict(base_channels=16, channel_mult=[1, 2], num_res_blocks=1, attention_levels=[1], head_dim=8),
        # ~37M
        "small": dict(base_channels=64, channel_mult=[1, 2, 4], num_res_blocks=2, attention_levels=[1, 2], head_dim=32),
        # ~232M
        "base": dict(base_channels=128, channel_mult=[1, 2, 4, 4], num_res_blocks=2, attention_levels=[1, 2, 3],
                     head_dim=64),
        # ~1.15B: Stable Diffusion 1.x layout (~0.82B spatial) plus temporal conv and attention
        "large": dict(base_channels=320, channel_mult=[1, 2, 4, 4], num_res_blocks=2, attention_levels=[0, 1, 2],
                      head_dim=64),
    },
    "stdit": {
        "tiny": dict(hidden_size=32, depth=2, num_heads=2, patch_size=[1, 2, 2]),
        "small": dict(hidden_size=384, depth=12, num_heads=6, patch_size=[1, 2, 2]),  # ~53M (DiT-S width)
        "base": dict(hidden_size=768, depth=12, num_heads=12, patch_size=[1, 2, 2]),  # ~192M (DiT-B width)
        "xl": dict(hidden_size=1152, depth=28, num_heads=16, patch_size=[1, 2, 2]),  # ~0.97B (DiT-XL + temporal + text)
    },
}
