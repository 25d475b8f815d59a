"""ViT-G/14 and ViT-g/14 of "Scaling Vision Transformers" (arXiv 2106.04560)."""
from typing import Dict, Optional, Sequence, Tuple, Union

from torch import Tensor

from ...registry import MODELS
from ..layers import MultiheadAttentionPooling
from ..utils import passed_on
from .plain_encoder import PlainEncoder

_ARCH_KEYS = ('embed_dims', 'num_layers', 'feedforward_channels', 'num_heads')


def _arch(*sizes: int) -> Dict:
    """Settings from ``(embed_dims, num_layers, feedforward_channels, num_heads)``."""
    return dict(zip(_ARCH_KEYS, sizes, strict=True))


@MODELS.register_module()
class ViTG(PlainEncoder):
    """Plain ViT without class token, as trained in "Scaling Vision Transformers".

    `Scaling Vision Transformers <https://arxiv.org/abs/2106.04560>`_ (big_vision
    ``models/vit.py``, ``pool_type='map'``): patch embedding, a learned position
    embedding (no class token) resized on the fly for other grids, pre-LN blocks with
    GELU MLPs and biases, a final LayerNorm, and optionally the MAP head
    (:class:`~visionllama_mm.models.layers.MultiheadAttentionPooling`). Parameter
    layout maps one-to-one onto timm's ``VisionTransformer(class_token=False,
    global_pool='map')`` (``tools/model_converters/timm_vit2mm.py``). The skeleton and
    the arguments not listed here are :class:`~.plain_encoder.PlainEncoder`'s.

    Args:
        arch: ``'G'``/``'gigantic'`` (1664 wide, 48 blocks, MLP 8192, 16 heads, ~1.84B),
            ``'g'``/``'giant'`` (1408 / 40 / 6144 / 16, ~1.01B), ``'tiny'``, ``'small'``,
            ``'base'``, ``'large'``, ``'huge'`` (the ViT family) or a dict with
            ``embed_dims``, ``num_layers``, ``num_heads``, ``feedforward_channels``.
            ``'G'`` and ``'g'`` are case-sensitive; every other name is not.
        map_feedforward_channels: MLP width of the MAP head (None: the trunk's).
        out_type: ``'map'`` ``(B, C)``: the MAP head on the last block (for
            fine-tuning with a ``LinearClsHead``; needs ``out_indices=-1``), or one of
            :class:`~.plain_encoder.PlainEncoder`'s.
        patch_size / pos_embed_type / ffn_type: the release's 14, ``'learned'`` (made
            for the ``img_size`` grid, resized with ``interpolate_mode`` for others,
            nothing stored) and ``'mlp'``.
        **kwargs: :class:`~.plain_encoder.PlainEncoder`'s other arguments (with its
            defaults). ``frozen_stages=num_layers`` freezes the whole backbone, MAP
            head included (a linear probe).
    """
    arch_zoo = {
        **dict.fromkeys(['t', 'tiny'], _arch(192, 12, 768, 3)),
        **dict.fromkeys(['s', 'small'], _arch(384, 12, 1536, 6)),
        **dict.fromkeys(['b', 'base'], _arch(768, 12, 3072, 12)),
        **dict.fromkeys(['l', 'large'], _arch(1024, 24, 4096, 16)),
        **dict.fromkeys(['h', 'huge'], _arch(1280, 32, 5120, 16)),
        'giant':
        _arch(1408, 40, 6144, 16),
        'gigantic':
        _arch(1664, 48, 8192, 16),
    }
    CASE_SENSITIVE_ARCHS = {'g': 'giant', 'G': 'gigantic'}
    ESSENTIAL_KEYS = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')
    OUT_TYPES = ('raw', 'featmap', 'avg_featmap', 'map')

    def __init__(self,
                 arch: Union[str, Dict] = 'G',
                 map_feedforward_channels: Optional[int] = None,
                 out_type: str = 'map',
                 patch_size: int = 14,
                 pos_embed_type: str = 'learned',
                 ffn_type: str = 'mlp',
                 **kwargs) -> None:
        self.map_feedforward_channels = map_feedforward_channels  # build_pooling's
        super().__init__(**passed_on(ViTG, locals()))

    def build_pooling(self) -> None:
        """The MAP head for ``'map'`` (frozen with every block)."""
        super().build_pooling()
        if self.out_type == 'map':
            self.attn_pool = MultiheadAttentionPooling(
                self.embed_dims,
                self.num_heads,
                self.map_feedforward_channels
                or self.arch_settings['feedforward_channels'],
                qkv_bias=self.qkv_bias,
                norm_cfg=self.norm_cfg)

    def check_outputs(self, out_indices: Union[int, Sequence[int]]) -> None:
        if self.out_type == 'map' and self.out_indices != [self.num_layers - 1]:
            raise ValueError("out_type='map' pools the last block only: out_indices "
                             f'must be -1, got {out_indices!r}')

    def format_output(self, x: Tensor, grid_hw: Tuple[int, int],
                      input_hw: Tuple[int, int]) -> Tensor:
        if self.out_type == 'map':
            return self.attn_pool(x)
        return super().format_output(x, grid_hw, input_hw)
