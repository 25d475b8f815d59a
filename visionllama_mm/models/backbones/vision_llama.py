"""Plain VisionLLaMA backbone (arXiv 2403.00522), in mmpretrain's
``VisionTransformer`` style."""
from typing import Dict, Optional, Sequence, Union

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
        img_size: training input size; with ``patch_size`` it fixes the anchor grid of
            AS2DRoPE (``rope_type='as2d'``).
        patch_size: patch size (16).
        out_type: ``'cls_token'`` (default), ``'raw'``, ``'featmap'`` or
            ``'avg_featmap'``.
        with_cls_token: prepend a learnable class token (default True).
        drop_path_mode: ``'linear'`` (mmpretrain, MAE fine-tuning) or ``'uniform'``
            (the supervised DeiT-III-style release).
        ffn_drop_path: ``False`` applies drop path to the attention branch only, as
            the release's MAE-derived blocks (fine-tune, UperNet, ViTDet).
        **kwargs: the other :class:`~.plain_encoder.PlainEncoder` arguments (RoPE:
            ``rope_type``, ``rope_theta``, ``rope_anchor``, ``ntk_alpha``,
            ``cls_token_coord``; ViTDet windows: ``window_size``,
            ``window_block_indexes``, ``window_rope_coords``; ``norm_cfg``,
            ``qkv_bias``, ``layer_scale_init_value``, dropouts, ``frozen_stages``,
            ``with_cp``, ``init_cfg``).

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

    def __init__(self,
                 arch: Union[str, Dict] = 'b',
                 img_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 16,
                 out_type: str = 'cls_token',
                 with_cls_token: bool = True,
                 drop_path_mode: str = 'linear',
                 ffn_drop_path: bool = True,
                 layer_scale_init_value: Optional[float] = None,
                 **kwargs) -> None:
        super().__init__(
            arch,
            img_size=img_size,
            patch_size=patch_size,
            out_type=out_type,
            with_cls_token=with_cls_token,
            pos_embed_type='rope',
            ffn_type='swiglu',
            drop_path_mode=drop_path_mode,
            ffn_drop_path=ffn_drop_path,
            layer_scale_init_value=layer_scale_init_value,
            **kwargs)
