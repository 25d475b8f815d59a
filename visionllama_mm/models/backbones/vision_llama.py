"""Plain VisionLLaMA backbone (arXiv 2403.00522), in mmpretrain's
``VisionTransformer`` style."""
from typing import Dict, Union

from ...registry import MODELS
from ..layers import swiglu_hidden_dims
from .plain_encoder import PlainEncoder


def _arch(embed_dims: int, num_layers: int, num_heads: int, mae: bool) -> Dict:
    if mae:  # mmpretrain-fork MAE release: ffc = 4d, hidden round_up(ffc*8/3), biases
        hidden, ffn_bias, layer_scale = swiglu_hidden_dims(4 * embed_dims), True, 0.
    else:  # supervised DeiT-III-style release: hidden round_up(8d/3), gamma 1e-4
        hidden, ffn_bias, layer_scale = swiglu_hidden_dims(embed_dims), False, 1e-4
    return dict(
        embed_dims=embed_dims,
        num_layers=num_layers,
        num_heads=num_heads,
        feedforward_channels=hidden,
        ffn_bias=ffn_bias,
        layer_scale_init_value=layer_scale)


@MODELS.register_module()
class VisionLLaMA(PlainEncoder):
    """Plain VisionLLaMA: a ViT whose blocks are LLaMA blocks with 2D RoPE.

    `VisionLLaMA: A Unified LLaMA Backbone for Vision Tasks
    <https://arxiv.org/abs/2403.00522>`_. Each block is
    ``x + DropPath(γ·Attn(LN(x)))``, ``x + DropPath(γ·SwiGLU(LN(x)))`` with RoPE on q
    and k in every layer and no absolute position embedding, so the model runs at any
    input size without touching a weight. The skeleton and the arguments not listed
    here are :class:`~.plain_encoder.PlainEncoder`'s.

    Args:
        arch: ``'s'``/``'b'``/``'l'`` (the supervised release: SwiGLU hidden
            ``round_up(int(8d/3), 256)``, no FFN bias, layer scale 1e-4),
            ``'b-mae'``/``'l-mae'`` (the MAE release: hidden 8192 / 11008, FFN bias, no
            layer scale) or a dict with ``embed_dims``, ``num_layers``, ``num_heads``,
            ``feedforward_channels`` and optionally ``ffn_bias``,
            ``layer_scale_init_value``.
        **kwargs: :class:`~.plain_encoder.PlainEncoder`'s arguments; the defaults
            that differ (``DEFAULTS``): ``out_type='cls_token'``,
            ``with_cls_token=True``. Others used by the configs: ``img_size`` (with
            ``patch_size`` 16 it fixes the AS2DRoPE anchor grid), ``rope_type``,
            ``drop_path_mode`` (``'uniform'``: the supervised DeiT-III-style release),
            ``ffn_drop_path=False`` (the release's MAE-derived blocks: fine-tune,
            UperNet, ViTDet), ``window_size`` / ``window_block_indexes`` (ViTDet).

    Shapes: input ``(B, 3, H, W)`` -> tuple of ``len(out_indices)`` outputs.
    """
    arch_zoo = {
        **dict.fromkeys(['s', 'small'], _arch(384, 12, 6, mae=False)),
        **dict.fromkeys(['b', 'base'], _arch(768, 12, 12, mae=False)),
        **dict.fromkeys(['l', 'large'], _arch(1024, 24, 16, mae=False)),
        'b-mae':
        _arch(768, 12, 12, mae=True),
        'l-mae':
        _arch(1024, 24, 16, mae=True),
    }
    ESSENTIAL_KEYS = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')
    ARCH_DEFAULTS = dict(ffn_bias=False, layer_scale_init_value=0.)

    DEFAULTS = dict(out_type='cls_token', with_cls_token=True)

    def __init__(self, arch: Union[str, Dict] = 'b', **kwargs) -> None:
        super().__init__(arch, **{**self.DEFAULTS, **kwargs})
