"""Layers written once and shared by every backbone of the package."""
from . import norm  # noqa: F401  (registers RMSNorm)
from .attention import (MIXERS, RoPEAttention, attend, attend_qkv, check_heads,
                        prefix_causal_mask)
from .coords import GSA_KEY_COORDS, grid_coords, gsa_key_coords, window_coords
from .ffn import FFN_TYPES, GELUMLP, SplitSwiGLUFFN, build_ffn, swiglu_hidden_dims
from .patch_embed import build_patch_embed
from .pooling import AttentionPooling, MultiheadAttentionPooling
from .pos_embed import SinCosPosEmbed2D, sincos_pos_embed_2d
from .rope import ROPE_TYPES, RotaryEmbedding2D, apply_rope, rotate_pairs
from .table_cache import TableCache
from .transformer_block import TransformerBlock, build_mixer
from .window_attention import (WINDOW_ROPE_COORDS, GlobalSubsampledAttention,
                               LocallyGroupedAttention)

__all__ = [
    'AttentionPooling', 'FFN_TYPES', 'GELUMLP', 'GSA_KEY_COORDS',
    'GlobalSubsampledAttention', 'LocallyGroupedAttention', 'MIXERS',
    'MultiheadAttentionPooling', 'ROPE_TYPES', 'RoPEAttention', 'RotaryEmbedding2D',
    'SinCosPosEmbed2D', 'SplitSwiGLUFFN', 'TableCache', 'TransformerBlock',
    'WINDOW_ROPE_COORDS', 'apply_rope', 'attend', 'attend_qkv', 'build_ffn',
    'build_mixer', 'build_patch_embed', 'check_heads', 'grid_coords', 'gsa_key_coords',
    'prefix_causal_mask', 'rotate_pairs', 'sincos_pos_embed_2d', 'swiglu_hidden_dims',
    'window_coords'
]
