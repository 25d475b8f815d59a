"""The one attention path of the package, and the global self-attention mixer.

:func:`attend` rotates q and k by their RoPE tables when given (fp32 rotation, see
:mod:`.rope`) and runs ``F.scaled_dot_product_attention``, so flash /
memory-efficient kernels apply wherever PyTorch has them. Every attention of the
package goes through it: the mixers of the transformer block, and the RoPE-free
poolers (no tables). Shapes: q ``(B, heads, Nq, Hc)``, k and v ``(B, heads, Nk, Hc)``.
Self-attention with one fused projection calls :func:`attend_qkv`, which rotates q and
k with their shared tables in one pass.

Token mixers (the ``attn`` of :class:`~.transformer_block.TransformerBlock`) are
registered in :data:`MIXERS` and chosen per block by ``attn_cfg=dict(type=...)``.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.registry import Registry
from torch import Tensor, nn

from ...errors import ModelArgumentError
from .rope import RopeTables, apply_rope

#: Token mixers a block can use (``attn_cfg=dict(type=name, ...)``). A mixer's
#: ``__init__`` takes ``embed_dims`` and ``num_heads`` and any of ``qkv_bias``,
#: ``proj_bias``, ``attn_drop``, ``proj_drop``, ``rope_cfg`` and ``norm_cfg`` it uses;
#: its ``forward(x, hw=None, rope=None, key_rope=None, attn_mask=None)`` gets the block
#: context by keyword (see :class:`~.transformer_block.TransformerBlock`).
MIXERS = Registry('token mixer', scope='visionllama_mm')


def check_heads(embed_dims: int, num_heads: int) -> None:
    """``num_heads`` must be >= 1 and divide ``embed_dims``."""
    if not isinstance(num_heads, int) or isinstance(num_heads, bool) or \
            num_heads < 1 or embed_dims % num_heads:
        raise ModelArgumentError(f'embed_dims ({embed_dims}) must be divisible by '
                                 f'num_heads ({num_heads})')


def attend(q: Tensor,
           k: Tensor,
           v: Tensor,
           rope: Optional[RopeTables] = None,
           key_rope: Optional[RopeTables] = None,
           attn_mask: Optional[Tensor] = None,
           dropout_p: float = 0.) -> Tensor:
    """Rotate q by ``rope`` and k by ``key_rope`` (each when given), run SDPA, merge
    heads: returns ``(B, Nq, C)``."""
    if rope is not None:
        q = apply_rope(q, rope)
    if key_rope is not None:
        k = apply_rope(k, key_rope)
    return _sdpa(q, k, v, attn_mask, dropout_p)


def attend_qkv(qkv: Tensor,
               rope: Optional[RopeTables] = None,
               attn_mask: Optional[Tensor] = None,
               dropout_p: float = 0.) -> Tensor:
    """Self-attention from ``qkv`` ``(3, B, heads, N, Hc)`` (e.g. a permuted view of
    a fused projection): q and k rotated by the same ``rope`` tables in one pass
    over both, then SDPA; returns ``(B, N, C)``. Equal to
    ``attend(*qkv, rope, rope, ...)``."""
    if rope is None:
        q, k = qkv[0], qkv[1]
    else:
        q, k = apply_rope(qkv[:2], rope).unbind(0)
    return _sdpa(q, k, qkv[2], attn_mask, dropout_p)


def _sdpa(q: Tensor, k: Tensor, v: Tensor, attn_mask: Optional[Tensor],
          dropout_p: float) -> Tensor:
    out = F.scaled_dot_product_attention(
        q, k, v, attn_mask=attn_mask, dropout_p=dropout_p)
    batch, heads, length, head_dim = out.shape
    return out.transpose(1, 2).reshape(batch, length, heads * head_dim)


def prefix_causal_mask(prefix_len: Tensor, num_tokens: int) -> Tensor:
    """Boolean prefix-LM mask for SDPA: ``(B, 1, N, N)``, True = may attend.

    Token ``i`` of sample ``b`` sees token ``j`` iff ``j < prefix_len[b]`` (the prefix
    is bidirectional) or ``j <= i`` (the rest is causal). Built in one vectorised step
    for the whole batch; ``prefix_len`` ``0`` gives a plain causal mask and
    ``prefix_len >= N`` full bidirectional attention. Every row keeps its diagonal, so
    no query is left without keys.

    Args:
        prefix_len: integer tensor ``(B,)``.
        num_tokens: sequence length ``N``.
    """
    if prefix_len.dim() != 1 or prefix_len.dtype.is_floating_point or \
            prefix_len.dtype == torch.bool:
        raise ValueError('prefix_len must be an integer tensor of shape (B,), got '
                         f'{prefix_len.dtype} {tuple(prefix_len.shape)}')
    positions = torch.arange(num_tokens, device=prefix_len.device)
    causal = positions[None, :] <= positions[:, None]  # (N, N): j <= i
    prefix = positions[None, None, :] < prefix_len[:, None, None]  # (B, 1, N)
    return (causal[None] | prefix)[:, None]  # (B, 1, N, N)


@MIXERS.register_module()
class RoPEAttention(nn.Module):
    """Global self-attention with one fused ``qkv`` projection and 2D RoPE on q and k.

    Args:
        embed_dims: token width ``C``.
        num_heads: number of heads (``C`` must divide evenly).
        qkv_bias / proj_bias: biases of the ``qkv`` and output projections.
        attn_drop / proj_drop: dropout on attention weights / the output.

    ``forward(x, rope, attn_mask)``: ``x`` ``(B, N, C)``; ``rope`` the ``(cos, sin)``
    tables of the N tokens (or None); ``key_rope`` other tables for the keys (None:
    ``rope``); ``attn_mask`` boolean ``(B, 1, N, N)`` (True: may attend); ``hw`` is
    not used. Returns ``(B, N, C)``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 qkv_bias: bool = True,
                 proj_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.) -> None:
        super().__init__()
        check_heads(embed_dims, num_heads)
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.head_dim = embed_dims // num_heads
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self,
                x: Tensor,
                rope: Optional[RopeTables] = None,
                attn_mask: Optional[Tensor] = None,
                hw: Optional[Tuple[int, int]] = None,
                key_rope: Optional[RopeTables] = None) -> Tensor:
        batch, length, _ = x.shape
        qkv = self.qkv(x).reshape(batch, length, 3, self.num_heads, self.head_dim)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        dropout_p = self.attn_drop if self.training else 0.
        if key_rope is None:
            x = attend_qkv(qkv, rope, attn_mask, dropout_p)
        else:
            x = attend(*qkv.unbind(0), rope, key_rope, attn_mask, dropout_p)
        return self.proj_drop(self.proj(x))
