"""The plain pre-LN ViT block with a GELU MLP (ViT, arXiv 2010.11929; ViT-G, 2106.04560;
AIM, 2401.08541 with ``bias=False``).

``x = x + DropPath(Attn(LN(x)))`` then ``x = x + DropPath(MLP(LN(x)))``; biases on
every linear layer as in timm's ``Block`` (ViT-G), or on none (AIM). The attention is
the package's one SDPA path
(:class:`~.attention.RoPEAttention` called without rotary tables), so there is no
second attention implementation. Parameter names (``ln1``, ``attn.qkv``, ``attn.proj``,
``ln2``, ``ffn.fc1``, ``ffn.fc2``) map one-to-one onto timm's ``norm1``, ``attn.qkv``,
``attn.proj``, ``norm2``, ``mlp.fc1``, ``mlp.fc2``.
"""
from typing import Optional

from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn

from .attention import RoPEAttention


class GELUMLP(nn.Module):
    """``fc2(drop(GELU(fc1(x))))`` then dropout: timm's ``Mlp`` layout.

    Args:
        in_features: input / output width ``C``.
        hidden_features: hidden width.
        bias: biases of both linear layers.
        drop: dropout after the activation and after ``fc2``.

    Shapes: ``(..., C) -> (..., C)``.
    """

    def __init__(self,
                 in_features: int,
                 hidden_features: int,
                 bias: bool = True,
                 drop: float = 0.) -> None:
        super().__init__()
        if hidden_features < 1:
            raise ValueError(f'hidden_features must be >= 1, got {hidden_features}')
        self.fc1 = nn.Linear(in_features, hidden_features, bias=bias)
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_features, in_features, bias=bias)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))


class ViTBlock(nn.Module):
    """Pre-LN transformer block with global attention and a GELU MLP.

    Args:
        embed_dims: token width ``C``.
        num_heads: attention heads (must divide ``C``).
        feedforward_channels: MLP hidden width.
        qkv_bias: bias of the fused qkv projection.
        bias: biases of the proj, fc1 and fc2 projections (ViT-G: True; AIM passes
            ``qkv_bias=bias=False``).
        drop_rate / attn_drop_rate / drop_path_rate: output dropout, attention
            dropout, stochastic depth.
        norm_eps: LayerNorm epsilon (1e-6 as timm / big_vision).

    ``forward(x, attn_mask=None)``: ``(B, N, C) -> (B, N, C)``; a boolean
    ``attn_mask`` (True = attend, e.g. :func:`~.attention.prefix_causal_mask`) goes
    straight to ``F.scaled_dot_product_attention``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 qkv_bias: bool = True,
                 bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_eps: float = 1e-6) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.attn = RoPEAttention(
            embed_dims,
            num_heads,
            qkv_bias=qkv_bias,
            proj_bias=bias,
            attn_drop=attn_drop_rate,
            proj_drop=drop_rate)
        self.ln2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.ffn = GELUMLP(embed_dims, feedforward_channels, bias=bias, drop=drop_rate)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: Tensor, attn_mask: Optional[Tensor] = None) -> Tensor:
        x = x + self.drop_path(self.attn(self.ln1(x), None, attn_mask))
        return x + self.drop_path(self.ffn(self.ln2(x)))
