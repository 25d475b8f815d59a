"""Layers written once and shared by every backbone of the package."""
from .attention import RoPEAttention, rope_attention
from .llama_block import VisionLLaMABlock, swiglu_hidden_dims
from .rope import ROPE_TYPES, RotaryEmbedding2D, apply_rope, grid_coords, rotate_pairs
from .window_attention import (GSA_KEY_COORDS, GlobalSubsampledAttention,
                               LocallyGroupedAttention, gsa_key_coords, window_coords)

__all__ = [
    'GSA_KEY_COORDS', 'GlobalSubsampledAttention', 'LocallyGroupedAttention',
    'gsa_key_coords', 'window_coords', 'ROPE_TYPES', 'RotaryEmbedding2D', 'RoPEAttention',
    'VisionLLaMABlock', 'apply_rope', 'grid_coords', 'rope_attention', 'rotate_pairs',
    'swiglu_hidden_dims'
]
from .attention import prefix_causal_mask  # noqa: E402
from .pos_embed import SinCosPosEmbed2D, sincos_pos_embed_2d  # noqa: E402

__all__ += ['SinCosPosEmbed2D', 'prefix_causal_mask', 'sincos_pos_embed_2d']
from .pooling import AttentionPooling, MultiheadAttentionPooling  # noqa: E402
from .vit_block import GELUMLP, ViTBlock  # noqa: E402

__all__ += ['AttentionPooling', 'MultiheadAttentionPooling', 'GELUMLP', 'ViTBlock']
from .table_cache import TableCache  # noqa: E402

__all__ += ['TableCache']
