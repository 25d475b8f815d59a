"""The one pre-norm transformer block of the package.

``x = x + DropPath(γ1 · Attn(Norm(x), *attn_args))`` then
``x = x + DropPath(γ2 · FFN(Norm(x)))``: layer scale ``γ`` and drop path are handled
the same way for both branches; the FFN is chosen by ``ffn_type`` (see
:mod:`~visionllama_mm.models.layers.ffn`). Configurations used:

* VisionLLaMA (arXiv 2403.00522): RoPE attention, ``'swiglu'``, layer scale;
* ViT-G (2106.04560) and AIM (2401.08541): ``'mlp'``, no layer scale (AIM: no biases).

Parameter names: ``ln1``, ``attn.qkv``, ``attn.proj``, ``gamma1.weight``, ``ln2``,
``ffn.{fc1,fc2}`` or ``ffn.{w12,w3}``, ``gamma2.weight`` (timm: ``norm1``, ``attn.*``,
``ls1.gamma``, ``norm2``, ``mlp.*``, ``ls2.gamma``).
"""
from typing import Optional

from mmcv.cnn.bricks import DropPath
from mmpretrain.models.utils import LayerScale, build_norm_layer
from torch import Tensor, nn

from .attention import RoPEAttention
from .ffn import build_ffn


def _layer_scale(dims: int, init_value: float) -> nn.Module:
    return LayerScale(dims, init_value) if init_value > 0 else nn.Identity()


class TransformerBlock(nn.Module):
    """Pre-norm block: attention and FFN branches. ``(B, N, C) -> (B, N, C)``.

    Args:
        embed_dims: token width ``C``.
        num_heads: attention heads (must divide ``C``).
        feedforward_channels: FFN hidden width.
        ffn_type: ``'swiglu'`` or ``'mlp'`` (GELU).
        qkv_bias / proj_bias / ffn_bias: biases of the qkv, output and FFN projections.
        layer_scale_init_value: ``γ`` init of both branches; 0 disables layer scale.
        drop_path_rate: stochastic depth of the attention branch, and of the FFN
            branch when ``ffn_drop_path`` (False: the release's MAE-derived
            VisionLLaMA blocks, whose FFN has no drop path).
        attn_drop_rate / drop_rate: attention-weight dropout / output dropout of the
            attention (and of the ``'mlp'`` FFN).
        norm_cfg: config of both norms (``dict(type='LN', eps=1e-6)``).
        attn: the token mixer; defaults to :class:`~.attention.RoPEAttention` (global
            attention, RoPE when given tables). Windowed / sub-sampled attentions are
            passed in. It is called as ``attn(Norm(x), *attn_args)``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 ffn_type: str = 'swiglu',
                 qkv_bias: bool = True,
                 proj_bias: bool = True,
                 ffn_bias: bool = True,
                 layer_scale_init_value: float = 0.,
                 drop_path_rate: float = 0.,
                 ffn_drop_path: bool = True,
                 attn_drop_rate: float = 0.,
                 drop_rate: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 attn: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.ln1 = build_norm_layer(norm_cfg, embed_dims)
        self.attn = attn if attn is not None else RoPEAttention(
            embed_dims,
            num_heads,
            qkv_bias=qkv_bias,
            proj_bias=proj_bias,
            attn_drop=attn_drop_rate,
            proj_drop=drop_rate)
        self.gamma1 = _layer_scale(embed_dims, layer_scale_init_value)
        self.ln2 = build_norm_layer(norm_cfg, embed_dims)
        self.ffn = build_ffn(ffn_type, embed_dims, feedforward_channels, ffn_bias,
                             drop_rate)
        self.gamma2 = _layer_scale(embed_dims, layer_scale_init_value)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        self.ffn_drop_path = self.drop_path if ffn_drop_path else nn.Identity()

    def forward(self, x: Tensor, *attn_args) -> Tensor:
        """``x`` ``(B, N, C)``; ``attn_args`` go to the attention (for the default
        :class:`~.attention.RoPEAttention`: ``rope`` tables or None, and an optional
        boolean ``attn_mask``)."""
        x = x + self.drop_path(self.gamma1(self.attn(self.ln1(x), *attn_args)))
        return x + self.ffn_drop_path(self.gamma2(self.ffn(self.ln2(x))))
