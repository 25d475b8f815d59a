"""Plain VisionLLaMA backbone (arXiv 2403.00522), in mmpretrain's
``VisionTransformer`` style."""
from typing import Dict, List, Sequence, Union

from ...errors import ModelArgumentError
from ...registry import MODELS
from ..layers import WINDOW_ROPE_COORDS, swiglu_hidden_dims
from ..utils import check_choice, normalize_out_indices, passed_on
from .plain_encoder import PlainEncoder, per_block


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
        out_type / with_cls_token: as :class:`~.plain_encoder.PlainEncoder`, with
            the defaults of the classification release (class token out).
        window_size / window_block_indexes / window_rope_coords: ViTDet: the blocks
            ``window_block_indexes`` (negative counts from the end) attend inside
            ``window_size`` windows (padded keys masked), with RoPE coordinates
            ``'local'`` to each window (the release) or ``'global'`` on the whole grid
            (:class:`~..layers.LocallyGroupedAttention` as the blocks' ``attn_cfg``).
            Needs ``with_cls_token=False``.
        **kwargs: :class:`~.plain_encoder.PlainEncoder`'s other arguments (with its
            defaults). Those the configs use: ``img_size`` (with ``patch_size`` 16 it
            fixes the AS2DRoPE anchor grid), ``rope_type``, ``drop_path_mode``
            (``'uniform'``: the supervised DeiT-III-style release),
            ``ffn_drop_path=False`` (the release's MAE-derived blocks: fine-tune,
            UperNet, ViTDet), ``layer_cfgs`` (merged with the window blocks).

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

    def __init__(self,
                 arch: Union[str, Dict] = 'b',
                 out_type: str = 'cls_token',
                 with_cls_token: bool = True,
                 window_size: int = 0,
                 window_block_indexes: Sequence[int] = (),
                 window_rope_coords: str = 'local',
                 layer_cfgs: Union[Dict, Sequence[Dict]] = dict(),
                 **kwargs) -> None:
        check_choice('window_rope_coords', window_rope_coords, WINDOW_ROPE_COORDS)
        if window_block_indexes:
            num_layers = self.parse_arch(arch)['num_layers']
            layer_cfgs = window_layer_cfgs(layer_cfgs, num_layers, window_size,
                                           window_block_indexes, window_rope_coords)
        super().__init__(**passed_on(VisionLLaMA, locals()))


def window_layer_cfgs(layer_cfgs: Union[Dict, Sequence[Dict]], num_layers: int,
                      window_size: int, window_block_indexes: Sequence[int],
                      rope_coords: str) -> List[Dict]:
    """``layer_cfgs`` with ViTDet's windowed blocks: ``attn_cfg`` of each block of
    ``window_block_indexes`` is a ``window_size`` :class:`LocallyGroupedAttention`.

    Raises:
        ModelArgumentError: for an index outside the arch's blocks, ``window_size <
            1``, or a block whose ``layer_cfgs`` entry already names a mixer.
    """
    indexes = normalize_out_indices(
        list(window_block_indexes), num_layers, name='window_block_indexes')
    if not isinstance(window_size, int) or window_size < 1:
        raise ModelArgumentError('window_block_indexes needs window_size >= 1 (14 in '
                                 f'ViTDet), got {window_size!r}')
    cfgs = per_block(layer_cfgs, num_layers)
    for index in indexes:
        if 'attn_cfg' in cfgs[index]:
            raise ModelArgumentError(
                f'block {index} is in window_block_indexes and its layer_cfgs entry '
                f'names attn_cfg={cfgs[index]["attn_cfg"]!r}: choose one')
        cfgs[index]['attn_cfg'] = dict(
            type='LocallyGroupedAttention',
            window_size=window_size,
            rope_coords=rope_coords)
    return cfgs
