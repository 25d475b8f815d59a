"""Layers written once and shared by every backbone of the package."""
from . import norm  # noqa: F401  (registers RMSNorm)
from .attention import RoPEAttention, check_heads, prefix_causal_mask, rope_attention
from .ffn import FFN_TYPES, GELUMLP, SplitSwiGLUFFN, build_ffn, swiglu_hidden_dims
from .pooling import AttentionPooling, MultiheadAttentionPooling
from .pos_embed import SinCosPosEmbed2D, sincos_pos_embed_2d
from .rope import ROPE_TYPES, RotaryEmbedding2D, apply_rope, grid_coords, rotate_pairs
from .table_cache import TableCache
from .transformer_block import TransformerBlock
from .window_attention import (GSA_KEY_COORDS, GlobalSubsampledAttention,
                               LocallyGroupedAttention, gsa_key_coords, window_coords)

__all__ = [
    'AttentionPooling', 'FFN_TYPES', 'GELUMLP', 'GSA_KEY_COORDS',
    'GlobalSubsampledAttention', 'LocallyGroupedAttention', 'MultiheadAttentionPooling',
    'ROPE_TYPES', 'RoPEAttention', 'RotaryEmbedding2D', 'SinCosPosEmbed2D',
    'SplitSwiGLUFFN', 'TableCache', 'TransformerBlock', 'apply_rope', 'build_ffn',
    'check_heads', 'grid_coords', 'gsa_key_coords', 'prefix_causal_mask',
    'rope_attention', 'rotate_pairs', 'sincos_pos_embed_2d', 'swiglu_hidden_dims',
    'window_coords'
]
