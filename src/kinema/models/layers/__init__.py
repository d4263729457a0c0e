"""Building blocks shared by kinema's backbones (and importable by the autoencoders)."""

from kinema.models.layers.attention import Attention, Mlp, block_causal_mask
from kinema.models.layers.embeddings import PooledTextEmbedder, TimestepEmbedder, VectorEmbedder, sinusoidal_embedding
from kinema.models.layers.modulate import AdaLNModulation, modulate
from kinema.models.layers.patch import PatchEmbed3D, unpatchify
from kinema.models.layers.resnet import Downsample, ResBlock, Upsample, group_norm
from kinema.models.layers.rope import apply_rope, grid_positions, rope_angles, rope_axes_dims
from kinema.models.layers.spatial import SpatialTransformer
from kinema.models.layers.temporal import TemporalAttention, TemporalConv

__all__ = [
    "AdaLNModulation", "Attention", "Downsample", "Mlp", "PatchEmbed3D", "PooledTextEmbedder", "ResBlock", "SpatialTransformer", "TemporalAttention",
    "TemporalConv", "TimestepEmbedder", "Upsample", "VectorEmbedder", "apply_rope", "block_causal_mask",
    "grid_positions", "group_norm", "modulate", "rope_angles", "rope_axes_dims", "sinusoidal_embedding",
    "unpatchify",
]
