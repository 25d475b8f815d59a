"""The one pre-norm transformer block of the package.

``x = x + DropPath(γ1 · Attn(Norm(x), **context))`` then
``x = x + DropPath(γ2 · FFN(Norm(x)))``: layer scale ``γ`` and drop path are handled
the same way for both branches; the FFN is chosen by ``ffn_type`` (see
:mod:`~visionllama_mm.models.layers.ffn`), the token mixer ``Attn`` by ``attn_cfg``
(:data:`~.attention.MIXERS`). Configurations used:

* VisionLLaMA (arXiv 2403.00522): RoPE attention, ``'swiglu'``, layer scale; windowed
  blocks (ViTDet) and the pyramid's LSA / GSA are other mixers of the same block;
* ViT-G (2106.04560) and AIM (2401.08541): ``'mlp'``, no layer scale (AIM: no biases).

Parameter names: ``ln1``, ``attn.qkv``, ``attn.proj``, ``gamma1.weight``, ``ln2``,
``ffn.{fc1,fc2}`` or ``ffn.{w12,w3}``, ``gamma2.weight`` (timm: ``norm1``, ``attn.*``,
``ls1.gamma``, ``norm2``, ``mlp.*``, ``ls2.gamma``).
"""
import inspect
from typing import Optional

from mmcv.cnn.bricks import DropPath
from mmpretrain.models.utils import LayerScale, build_norm_layer
from torch import Tensor, nn

from ...errors import ModelArgumentError
from .attention import MIXERS
from .ffn import build_ffn


def _layer_scale(dims: int, init_value: float) -> nn.Module:
    return LayerScale(dims, init_value) if init_value > 0 else nn.Identity()


def build_mixer(attn_cfg: Optional[dict],
                embed_dims: int,
                num_heads: int,
                qkv_bias: bool = True,
                proj_bias: bool = True,
                attn_drop: float = 0.,
                proj_drop: float = 0.,
                norm_cfg: Optional[dict] = None,
                rope_cfg: Optional[dict] = None) -> nn.Module:
    """Build the token mixer ``attn_cfg`` names (``type``, default
    ``'RoPEAttention'``, plus its own arguments) from :data:`~.attention.MIXERS`.

    The other arguments are the block's settings, offered to the mixer: it gets those
    its ``__init__`` names; ``attn_cfg`` entries override them.
    """
    offered = {k: v for k, v in locals().items() if k != 'attn_cfg'}
    cfg = dict(attn_cfg or {})
    name = cfg.pop('type', 'RoPEAttention')
    mixer = MIXERS.get(name)
    if mixer is None:
        raise ModelArgumentError(f'attn_cfg type {name!r} is not a token mixer: choose '
                                 f'one of {sorted(MIXERS.module_dict)} (or register '
                                 'yours with @MIXERS.register_module())')
    accepted = inspect.signature(mixer).parameters
    return mixer(**{k: v for k, v in offered.items() if k in accepted}, **cfg)


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
        norm_cfg: config of both norms (``dict(type='LN', eps=1e-6)``), also offered to
            the mixer (GSA's reduction norm).
        attn_cfg: the token mixer, ``dict(type=name, **its arguments)`` of
            :data:`~.attention.MIXERS`: ``'RoPEAttention'`` (default: global attention),
            ``'LocallyGroupedAttention'`` (windows), ``'GlobalSubsampledAttention'``.
        rope_cfg: the encoder's RoPE settings (``RotaryEmbedding2D`` arguments but
            ``head_dim``), offered to mixers that build tables of their own
            coordinates (window-local, sub-sampled keys). None: no RoPE.

    ``forward(x, **context)``: the context goes to the mixer by keyword, the same for
    every block of a backbone; a mixer uses what it needs: ``hw`` (the token grid
    ``(H, W)``), ``rope`` (RoPE tables of the tokens), ``key_rope`` (tables of keys
    that are not the tokens), ``attn_mask`` (boolean ``(B, 1, N, N)``).
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
                 attn_cfg: Optional[dict] = None,
                 rope_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.ln1 = build_norm_layer(norm_cfg, embed_dims)
        self.attn = build_mixer(attn_cfg, embed_dims, num_heads, qkv_bias, proj_bias,
                                attn_drop_rate, drop_rate, norm_cfg, rope_cfg)
        self.gamma1 = _layer_scale(embed_dims, layer_scale_init_value)
        self.ln2 = build_norm_layer(norm_cfg, embed_dims)
        self.ffn = build_ffn(ffn_type, embed_dims, feedforward_channels, ffn_bias,
                             drop_rate)
        self.gamma2 = _layer_scale(embed_dims, layer_scale_init_value)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        self.ffn_drop_path = self.drop_path if ffn_drop_path else nn.Identity()

    def forward(self, x: Tensor, **context) -> Tensor:
        """``x`` ``(B, N, C)``; ``context`` (``hw``, ``rope``, ``key_rope``,
        ``attn_mask``) goes to the mixer by keyword."""
        x = x + self.drop_path(self.gamma1(self.attn(self.ln1(x), **context)))
        return x + self.ffn_drop_path(self.gamma2(self.ffn(self.ln2(x))))
