"""The VisionLLaMA transformer block (arXiv 2403.00522, Fig. 1 / Eq. 3-4).

``x = x + DropPath(gamma1 * Attn(LN(x), RoPE))`` then
``x = x + DropPath(gamma2 * SwiGLU(LN(x)))``. The SwiGLU FFN is mmpretrain's
:class:`~mmpretrain.models.utils.SwiGLUFFN` (fused ``w12`` + ``w3``, SiLU on the first
half), which already carries its own layer scale, drop path and residual; on the CPU in
eager mode :class:`SplitSwiGLUFFN` computes its two halves as two matmuls.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from mmpretrain.models.utils import LayerScale, SwiGLUFFN
from torch import Tensor, nn

from .attention import RoPEAttention


def swiglu_hidden_dims(embed_dims: int, ratio: float = 4., multiple: int = 256) -> int:
    """LLaMA's SwiGLU width: ``round_up(int(2 * ratio * d / 3), multiple)``."""
    hidden = int(2 * ratio * embed_dims / 3)
    return -(-hidden // multiple) * multiple


class SplitSwiGLUFFN(SwiGLUFFN):
    """mmpretrain's :class:`SwiGLUFFN` (same parameters, keys and outputs) that, on
    the CPU in eager mode, computes the SiLU and the value halves of ``w12`` as two
    matmuls: the halves of one chunked output are strided, which about doubles the
    time of SiLU and the product there. Elsewhere (CUDA, ``torch.compile``, which
    fuses them) it is the parent's forward."""

    def forward(self, x: Tensor, identity: Optional[Tensor] = None) -> Tensor:
        if not x.is_cpu or torch.compiler.is_compiling():
            return super().forward(x, identity)
        hidden = self.w12.out_features // 2
        weight, bias = self.w12.weight, self.w12.bias
        gate = F.linear(x, weight[:hidden], None if bias is None else bias[:hidden])
        value = F.linear(x, weight[hidden:], None if bias is None else bias[hidden:])
        out = self.dropout_layer(self.gamma2(self.w3(self.norm(F.silu(gate) * value))))
        if self.out_dims != self.embed_dims or not self.add_identity:
            return out
        return (x if identity is None else identity) + out


class VisionLLaMABlock(nn.Module):
    """Pre-LN block with RoPE attention and a SwiGLU FFN. ``(B, N, C) -> (B, N, C)``.

    Args:
        embed_dims: token width.
        num_heads: attention heads.
        feedforward_channels: SwiGLU hidden width.
        qkv_bias / proj_bias / ffn_bias: linear-layer biases.
        layer_scale_init_value: gamma init; 0 disables layer scale.
        drop_path_rate: stochastic depth of the residual branches.
        ffn_drop_path: ``True`` (default) applies drop path to both branches;
            ``False`` to the attention branch only, as the release's MAE-derived
            blocks (its ``LLaMAMLP`` has no drop path).
        attn_drop_rate / drop_rate: attention-weight and output dropout.
        norm_eps: LayerNorm epsilon.
        attn: the token mixer; defaults to :class:`RoPEAttention` (global attention).
            The pyramid backbone passes its windowed / sub-sampled attentions. It is
            called as ``attn(LN(x), *attn_args)`` with the block's extra arguments.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 qkv_bias: bool = True,
                 proj_bias: bool = True,
                 ffn_bias: bool = False,
                 layer_scale_init_value: float = 0.,
                 drop_path_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_rate: float = 0.,
                 norm_eps: float = 1e-6,
                 attn: Optional[nn.Module] = None,
                 ffn_drop_path: bool = True) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.attn = attn if attn is not None else RoPEAttention(
            embed_dims,
            num_heads,
            qkv_bias=qkv_bias,
            proj_bias=proj_bias,
            attn_drop=attn_drop_rate,
            proj_drop=drop_rate)
        self.gamma1 = (
            LayerScale(embed_dims, layer_scale_init_value)
            if layer_scale_init_value > 0 else nn.Identity())
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        self.ln2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.ffn = SplitSwiGLUFFN(
            embed_dims,
            feedforward_channels,
            bias=ffn_bias,
            layer_scale_init_value=layer_scale_init_value,
            dropout_layer=(dict(type='DropPath', drop_prob=drop_path_rate)
                           if drop_path_rate > 0 and ffn_drop_path else None))

    def forward(self, x: Tensor, *attn_args) -> Tensor:
        """``x`` ``(B, N, C)``; ``attn_args`` go to the attention (for the default
        :class:`RoPEAttention`: ``rope`` tables and an optional ``attn_mask``)."""
        x = x + self.drop_path(self.gamma1(self.attn(self.ln1(x), *attn_args)))
        return self.ffn(self.ln2(x), identity=x)
