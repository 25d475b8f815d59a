"""AIM encoder (arXiv 2401.08541), mmpretrain ``VisionTransformer`` style."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn.bricks.transformer import PatchEmbed
from mmengine.model import ModuleList
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ...registry import MODELS
from ..layers import SinCosPosEmbed2D, ViTBlock, prefix_causal_mask
from ..utils import (FrozenStagesMixin, init_from_pretrained, normalize_out_indices,
                     parse_arch, plain_frozen_parts, to_2tuple)


@MODELS.register_module()
class AIM(FrozenStagesMixin, BaseBackbone):
    """Autoregressive Image Model trunk: a bias-free pre-LN ViT with sin-cos positions.

    `Scalable Pre-training of Large Autoregressive Image Models
    <https://arxiv.org/abs/2401.08541>`_ (apple/ml-aim). Conv patch embedding (with
    bias) followed by a LayerNorm, a fixed 2D sin-cos position embedding computed for
    the actual grid (any input size, nothing interpolated), no class token, pre-LN
    blocks with GELU MLP x4 and **no bias** in qkv, proj, fc1, fc2, LayerNorm eps 1e-6,
    a final LayerNorm (``ln1``, the release's ``post_trunk_norm``).

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
        img_size: nominal input size (other sizes work at run time).
        patch_size: patch size (14). Inputs that are not a multiple are padded
            bottom/right like mmcv's ``PatchEmbed(padding='corner')``.
        in_channels: input channels.
        out_indices: blocks whose outputs are used (negative counts from the end).
            Blocks after the largest index are not run.
        out_type: ``'raw'`` ``(B, N, C)``, ``'featmap'`` ``(B, C, H, W)``,
            ``'avg_featmap'`` ``(B, C)`` (patch mean then ``ln2``) — one output per
            index — or ``'avg_layers'``: the mean of the outputs of **all** blocks in
            ``out_indices`` as one ``(B, N, C)`` tensor in a 1-tuple (the release's
            ``AverageLayers``: 600M/7B probe blocks 14-19, 1B/3B blocks 12-17).
        avg_layers_norm: apply ``ln1`` to the ``'avg_layers'`` mean. The release does
            **not** (``post_trunk_norm`` only acts on the last block and is discarded by
            ``AverageLayers``; the probe's BatchNorm normalises), hence the default.
        final_norm: ``ln1`` after the last block (outputs of the last block only).
        drop_rate / attn_drop_rate / drop_path_rate: dropouts (drop path linear in
            depth).
        norm_eps: LayerNorm epsilon.
        pos_embed_temperature: sin-cos frequency base.
        frozen_stages: freeze the patch embedding and the first ``frozen_stages``
            blocks (and the final norms when all blocks are frozen).
        with_cp: activation checkpointing per block.
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

    Shapes: input ``(B, C_in, H, W)`` -> tuple of outputs described by ``out_type``.
    Buildable on ``torch.device('meta')`` (no tensor is read in ``__init__``).
    """
    arch_zoo = {
        '600m': dict(embed_dims=1536, num_layers=24, num_heads=12),
        '1b': dict(embed_dims=2048, num_layers=24, num_heads=16),
        '3b': dict(embed_dims=3072, num_layers=24, num_heads=24),
        '7b': dict(embed_dims=4096, num_layers=32, num_heads=32),
    }
    OUT_TYPES = ('raw', 'featmap', 'avg_featmap', 'avg_layers')
    ESSENTIAL_KEYS = ('embed_dims', 'num_layers', 'num_heads')

    def __init__(self,
                 arch: Union[str, Dict] = '600m',
                 img_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 14,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = -1,
                 out_type: str = 'raw',
                 avg_layers_norm: bool = False,
                 final_norm: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_eps: float = 1e-6,
                 pos_embed_temperature: float = 10000.,
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[Dict, Sequence[Dict]]] = None) -> None:
        super().__init__(init_cfg)
        self.arch_settings = parse_arch(arch, self.arch_zoo, self.ESSENTIAL_KEYS)
        self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']
        self.num_heads = self.arch_settings['num_heads']
        hidden = self.arch_settings.get('feedforward_channels', 4 * self.embed_dims)
        if self.embed_dims % self.num_heads:
            raise ValueError(f'embed_dims ({self.embed_dims}) must be divisible by '
                             f'num_heads ({self.num_heads})')
        if out_type not in self.OUT_TYPES:
            raise ValueError(f'out_type must be one of {self.OUT_TYPES}, '
                             f'got {out_type!r}')
        if not isinstance(patch_size, int) or patch_size < 1:
            raise ValueError(f'patch_size must be a positive int, got {patch_size!r}')
        if avg_layers_norm and not final_norm:
            raise ValueError('avg_layers_norm=True applies ln1, which needs '
                             'final_norm=True')
        self.out_indices = normalize_out_indices(out_indices, self.num_layers)
        self.img_size = to_2tuple(img_size, 'img_size')
        self.patch_size = patch_size
        self.out_type = out_type
        self.avg_layers_norm = avg_layers_norm
        self.final_norm = final_norm
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp

        self.patch_embed = PatchEmbed(
            in_channels=in_channels,
            embed_dims=self.embed_dims,
            conv_type='Conv2d',
            kernel_size=patch_size,
            stride=patch_size,
            padding='corner',
            norm_cfg=dict(type='LN', eps=norm_eps),
            input_size=self.img_size)
        self.patch_resolution = self.patch_embed.init_out_size
        self.pos_embed = SinCosPosEmbed2D(self.embed_dims, pos_embed_temperature)
        self.drop_after_pos = nn.Dropout(drop_rate)

        last = max(self.num_layers - 1, 1)  # python floats: meta-device safe
        self.layers = ModuleList([
            ViTBlock(
                self.embed_dims,
                self.num_heads,
                hidden,
                qkv_bias=False,
                bias=False,
                norm_eps=norm_eps,
                drop_rate=drop_rate,
                attn_drop_rate=attn_drop_rate,
                drop_path_rate=drop_path_rate * i / last) for i in range(self.num_layers)
        ])
        if final_norm:
            self.ln1 = nn.LayerNorm(self.embed_dims, eps=norm_eps)
        if out_type == 'avg_featmap':
            self.ln2 = nn.LayerNorm(self.embed_dims, eps=norm_eps)
        self._freeze_stages()

    # ------------------------------------------------------------------ init / freeze
    def init_weights(self) -> None:
        """Pretrained via ``init_cfg``, else the release's init: xavier-uniform linears
        and patch projection (viewed as a linear, as MAE), zero biases, unit LNs."""
        if init_from_pretrained(self):
            return
        super().init_weights()
        weight = self.patch_embed.projection.weight
        nn.init.xavier_uniform_(weight.data.view(weight.shape[0], -1))
        for module in self.layers.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def frozen_parts(self) -> Tuple[List[nn.Module], List[nn.Parameter]]:
        """Patch embedding, the first ``frozen_stages`` blocks (and the final norms
        when all are frozen)."""
        return plain_frozen_parts(self), []

    # ----------------------------------------------------------------------- forward
    def embed(self, x: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        """Patchify (padding non-multiples), LayerNorm, add the grid's sin-cos table."""
        if x.shape[-2] < self.patch_size or x.shape[-1] < self.patch_size:
            raise ValueError(f'input {tuple(x.shape[-2:])} is smaller than one patch '
                             f'(patch_size={self.patch_size})')
        x, grid_hw = self.patch_embed(x)
        x = x + self.pos_embed(grid_hw, x.device, x.dtype)
        return self.drop_after_pos(x), grid_hw

    def forward(self,
                x: Tensor,
                prefix_len: Optional[Tensor] = None) -> Tuple[Tensor, ...]:
        """``x`` ``(B, C, H, W)``; ``prefix_len`` ``(B,)`` integers for prefix-causal
        attention (None: bidirectional)."""
        x, grid_hw = self.embed(x)
        mask = None if prefix_len is None else prefix_causal_mask(prefix_len, x.shape[1])
        outs: List[Tensor] = []
        for i, layer in enumerate(self.layers[:max(self.out_indices) + 1]):
            if self.with_cp and self.training and x.requires_grad:
                x = checkpoint(layer, x, mask, use_reentrant=False)
            else:
                x = layer(x, mask)
            if i not in self.out_indices:
                continue
            if self.out_type == 'avg_layers':
                outs.append(x)
                continue
            out = self.ln1(x) if self.final_norm and i == self.num_layers - 1 else x
            outs.append(self._format_output(out, grid_hw))
        if self.out_type == 'avg_layers':
            mean = torch.stack(outs, dim=0).mean(dim=0)
            return (self.ln1(mean) if self.avg_layers_norm else mean, )
        return tuple(outs)

    def _format_output(self, x: Tensor, grid_hw: Tuple[int, int]) -> Tensor:
        if self.out_type == 'raw':
            return x
        if self.out_type == 'featmap':
            return x.reshape(x.shape[0], *grid_hw, -1).permute(0, 3, 1, 2).contiguous()
        return self.ln2(x.mean(dim=1))

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer id for layer-wise LR decay: ``(depth, num_depths)``; the patch
        embedding is 0, block ``i`` is ``i + 1``, everything else the last depth."""
        num_depths = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_depths - 1, num_depths
        name = param_name[len(prefix):]
        if name.startswith('patch_embed'):
            return 0, num_depths
        if name.startswith('layers.'):
            return int(name.split('.')[1]) + 1, num_depths
        return num_depths - 1, num_depths
