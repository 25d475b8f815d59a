"""The two feed-forward networks of the package's transformer block.

* ``'mlp'``: :class:`GELUMLP`, ``fc2(drop(GELU(fc1(x))))`` then dropout (ViT,
  arXiv 2010.11929; ViT-G, 2106.04560; AIM, 2401.08541 without biases), timm's ``Mlp``
  layout (``fc1``, ``fc2``).
* ``'swiglu'``: mmpretrain's :class:`~mmpretrain.models.utils.SwiGLUFFN`
  (``w3(SiLU(x W1) * x W2)`` with ``W1``/``W2`` fused in ``w12``; LLaMA, VisionLLaMA
  arXiv 2403.00522) used without its internal residual and layer scale (the block owns
  those); :class:`SplitSwiGLUFFN` only changes how it runs on the CPU.

Shapes: ``(..., C) -> (..., C)``.
"""
import torch
import torch.nn.functional as F
from mmpretrain.models.utils import SwiGLUFFN
from torch import Tensor, nn

FFN_TYPES = ('mlp', 'swiglu')


def swiglu_hidden_dims(embed_dims: int, ratio: float = 4., multiple: int = 256) -> int:
    """LLaMA's SwiGLU width: ``round_up(int(2 * ratio * d / 3), multiple)``."""
    hidden = int(2 * ratio * embed_dims / 3)
    return -(-hidden // multiple) * multiple


class GELUMLP(nn.Module):
    """``fc2(drop(GELU(fc1(x))))`` then dropout: timm's ``Mlp`` layout.

    Args:
        in_features: input / output width ``C``.
        hidden_features: hidden width.
        bias: biases of both linear layers.
        drop: dropout after the activation and after ``fc2``.
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


class SplitSwiGLUFFN(SwiGLUFFN):
    """mmpretrain's :class:`SwiGLUFFN` (same parameters, keys and outputs) that, on
    the CPU in eager mode, computes the SiLU and the value halves of ``w12`` as two
    matmuls: the halves of one chunked output are strided, which about doubles the
    time of SiLU and the product there. Elsewhere (CUDA, ``torch.compile``, which
    fuses them) it is the parent's forward."""

    def forward(self, x: Tensor, identity: Tensor = None) -> Tensor:
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


def build_ffn(ffn_type: str,
              embed_dims: int,
              feedforward_channels: int,
              bias: bool = True,
              drop_rate: float = 0.) -> nn.Module:
    """``'mlp'`` -> :class:`GELUMLP` (dropout ``drop_rate``), ``'swiglu'`` ->
    :class:`SplitSwiGLUFFN` (no dropout, as the release) without residual."""
    if ffn_type == 'mlp':
        return GELUMLP(embed_dims, feedforward_channels, bias=bias, drop=drop_rate)
    if ffn_type == 'swiglu':
        return SplitSwiGLUFFN(
            embed_dims, feedforward_channels, bias=bias, add_identity=False)
    raise ValueError(f'ffn_type must be one of {FFN_TYPES}, got {ffn_type!r}')
