"""AIM encoder (arXiv 2401.08541), mmpretrain ``VisionTransformer`` style."""
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from ...errors import ModelArgumentError
from ...registry import MODELS
from ..layers import prefix_causal_mask
from ..utils import passed_on
from .plain_encoder import PlainEncoder


@MODELS.register_module()
class AIM(PlainEncoder):
    """Autoregressive Image Model trunk: a bias-free pre-LN ViT with sin-cos positions.

    `Scalable Pre-training of Large Autoregressive Image Models
    <https://arxiv.org/abs/2401.08541>`_ (apple/ml-aim). Conv patch embedding (with
    bias) followed by a LayerNorm, a fixed 2D sin-cos position embedding computed for
    the actual grid (any input size, nothing interpolated), no class token, pre-LN
    blocks with GELU MLP x4 and **no bias** in qkv, proj, fc1, fc2, LayerNorm eps 1e-6,
    a final LayerNorm (``ln1``, the release's ``post_trunk_norm``). The skeleton and
    the arguments not listed here are :class:`~.plain_encoder.PlainEncoder`'s.

    Attention is bidirectional, or prefix-causal when ``forward(x, prefix_len)`` gets a
    ``(B,)`` integer tensor: the first ``P`` patches of sample ``b`` attend to each
    other bidirectionally, the rest causally (token ``i`` sees ``j`` iff ``j < P`` or
    ``j <= i``); one boolean ``(B, 1, N, N)`` mask per forward, given to
    ``F.scaled_dot_product_attention``.

    Args:
        arch: ``'600m'`` (1536 wide / 24 blocks / 12 heads), ``'1b'`` (2048/24/16),
            ``'3b'`` (3072/24/24), ``'7b'`` (4096/32/32) or a dict with ``embed_dims``,
            ``num_layers``, ``num_heads`` and optionally ``feedforward_channels``
            (default ``4 * embed_dims``).
        out_type: ``'raw'`` ``(B, N, C)`` (default), ``'featmap'``, ``'avg_featmap'``
            — one output per index — or ``'avg_layers'``: the mean of the outputs of
            **all** blocks in ``out_indices`` as one ``(B, N, C)`` tensor in a 1-tuple
            (the release's ``AverageLayers``: 600M/7B probe blocks 14-19, 1B/3B blocks
            12-17).
        avg_layers_norm: apply ``ln1`` to the ``'avg_layers'`` mean. The release does
            **not** (``post_trunk_norm`` only acts on the last block and is discarded by
            ``AverageLayers``; the probe's BatchNorm normalises), hence the default.
        patch_size / pos_embed_type / ffn_type / qkv_bias / proj_bias / ffn_bias /
            patch_norm: the release's 14, ``'sincos'``, ``'mlp'``, no biases and a
            norm after the patch projection (``ffn_bias=None`` reads an arch dict's
            ``ffn_bias``).
        **kwargs: :class:`~.plain_encoder.PlainEncoder`'s other arguments (with its
            defaults).
    """
    arch_zoo = {
        '600m': dict(embed_dims=1536, num_layers=24, num_heads=12),
        '1b': dict(embed_dims=2048, num_layers=24, num_heads=16),
        '3b': dict(embed_dims=3072, num_layers=24, num_heads=24),
        '7b': dict(embed_dims=4096, num_layers=32, num_heads=32),
    }
    OUT_TYPES = ('raw', 'featmap', 'avg_featmap', 'avg_layers')

    def __init__(self,
                 arch: Union[str, Dict] = '600m',
                 avg_layers_norm: bool = False,
                 patch_size: int = 14,
                 pos_embed_type: str = 'sincos',
                 ffn_type: str = 'mlp',
                 qkv_bias: bool = False,
                 proj_bias: bool = False,
                 ffn_bias: Optional[bool] = False,
                 patch_norm: bool = True,
                 **kwargs) -> None:
        if avg_layers_norm and not kwargs.get('final_norm', True):
            raise ModelArgumentError('avg_layers_norm=True applies ln1, which needs '
                                     'final_norm=True')
        super().__init__(**passed_on(AIM, locals()))
        self.avg_layers_norm = avg_layers_norm

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each output (``'avg_layers'``: one)."""
        if self.out_type == 'avg_layers':
            return (self.embed_dims, )
        return super().out_channels

    def init_block_weights(self) -> None:
        """The release's init: xavier-uniform linears and patch projection (viewed as
        a linear, as MAE), zero biases."""
        weight = self.patch_embed.projection.weight
        nn.init.xavier_uniform_(weight.data.view(weight.shape[0], -1))
        for module in self.layers.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self,
                x: Tensor,
                prefix_len: Optional[Tensor] = None) -> Tuple[Tensor, ...]:
        """``x`` ``(B, C, H, W)``; ``prefix_len`` ``(B,)`` integers for prefix-causal
        attention (None: bidirectional)."""
        mask = None
        if prefix_len is not None:
            grid = [-(-s // self.patch_size) for s in x.shape[-2:]]
            mask = prefix_causal_mask(prefix_len, grid[0] * grid[1])
        return self.encode(x, mask)

    def format_outputs(self, outs: List[Tensor], grid_hw: Tuple[int, int],
                       input_hw: Tuple[int, int]) -> Tuple[Tensor, ...]:
        if self.out_type != 'avg_layers':
            return super().format_outputs(outs, grid_hw, input_hw)
        mean = torch.stack(outs, dim=0).mean(dim=0)
        return (self.ln1(mean) if self.avg_layers_norm else mean, )
