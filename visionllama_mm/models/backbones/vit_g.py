"""ViT-G/14 and ViT-g/14 of "Scaling Vision Transformers" (arXiv 2106.04560)."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks.transformer import PatchEmbed
from mmengine.model import ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.utils import resize_pos_embed
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ...registry import MODELS
from ..layers import MultiheadAttentionPooling, ViTBlock
from ..utils import (FrozenStagesMixin, init_from_pretrained, normalize_out_indices,
                     parse_arch, plain_frozen_parts, to_2tuple)


def _arch(embed_dims: int, num_layers: int, feedforward_channels: int,
          num_heads: int) -> Dict:
    return dict(
        embed_dims=embed_dims,
        num_layers=num_layers,
        num_heads=num_heads,
        feedforward_channels=feedforward_channels)


@MODELS.register_module()
class ViTG(FrozenStagesMixin, BaseBackbone):
    """Plain ViT without class token, as trained in "Scaling Vision Transformers".

    `Scaling Vision Transformers <https://arxiv.org/abs/2106.04560>`_ (big_vision
    ``models/vit.py``, ``pool_type='map'``): patch embedding, a learned position
    embedding (no class token), pre-LN blocks with GELU MLPs and biases
    (:class:`~visionllama_mm.models.layers.ViTBlock`), a final LayerNorm, and optionally
    the MAP head (:class:`~visionllama_mm.models.layers.MultiheadAttentionPooling`).
    Parameter layout maps one-to-one onto timm's ``VisionTransformer(class_token=False,
    global_pool='map')`` (``tools/model_converters/timm_vit2mm.py``).

    Args:
        arch: ``'G'``/``'gigantic'`` (1664 wide, 48 blocks, MLP 8192, 16 heads, ~1.84B),
            ``'g'``/``'giant'`` (1408 / 40 / 6144 / 16, ~1.01B), ``'tiny'``, ``'small'``,
            ``'base'``, ``'large'``, ``'huge'`` (the ViT family) or a dict with
            ``embed_dims``, ``num_layers``, ``num_heads``, ``feedforward_channels``.
            ``'G'`` and ``'g'`` are case-sensitive; every other name is not.
        img_size: the size the position embedding is made for (the grid
            ``img_size // patch_size``). Other input sizes work: the embedding is
            resized on the fly (``interpolate_mode``, as mmpretrain's
            ``resize_pos_embed``), nothing is stored.
        patch_size: patch size (14). Inputs that are not a multiple are zero-padded
            bottom / right (mmcv ``PatchEmbed(padding='corner')``).
        in_channels: input channels.
        out_indices: blocks whose outputs are returned (negative counts from the end).
        out_type: ``'raw'`` tokens ``(B, N, C)``; ``'featmap'`` ``(B, C, h, w)``;
            ``'avg_featmap'`` ``(B, C)``: mean of the tokens then ``ln2``; ``'map'``
            ``(B, C)``: the MAP head on the last block (for fine-tuning with a
            ``LinearClsHead``; needs ``out_indices=-1``).
        final_norm: LayerNorm ``ln1`` after the last block (before pooling).
        featmap_stride: with ``out_type='featmap'``, resize (bilinear) every map to
            ``ceil(H / featmap_stride) x ceil(W / featmap_stride)``, e.g. 16 so that
            mmdet's stride-4..32 pyramids line up; ``None`` keeps the stride-14 grid.
        interpolate_mode: mode of the position-embedding resize (``'bicubic'``).
        qkv_bias: bias of the qkv projections.
        drop_rate / attn_drop_rate / drop_path_rate: dropouts; drop path ramps
            linearly from 0 to ``drop_path_rate`` over depth.
        norm_eps: LayerNorm epsilon (1e-6).
        map_feedforward_channels: MLP width of the MAP head (defaults to the trunk's).
        frozen_stages: freeze patch / position embedding and the first
            ``frozen_stages`` blocks; ``num_layers`` freezes the whole backbone,
            including the final norms and the MAP head (a linear probe).
        with_cp: activation checkpointing per block while training.
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

    Shapes: ``(B, 3, H, W)`` -> tuple of ``len(out_indices)`` outputs, token grid
    ``ceil(H / patch_size) x ceil(W / patch_size)``.
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
    OUT_TYPES = ('raw', 'featmap', 'avg_featmap', 'map')
    ESSENTIAL_KEYS = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')

    def __init__(self,
                 arch: Union[str, Dict] = 'G',
                 img_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 14,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = -1,
                 out_type: str = 'map',
                 final_norm: bool = True,
                 featmap_stride: Optional[int] = None,
                 interpolate_mode: str = 'bicubic',
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_eps: float = 1e-6,
                 map_feedforward_channels: Optional[int] = None,
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[Dict, Sequence[Dict]]] = None) -> None:
        super().__init__(init_cfg)
        if isinstance(arch, str):
            arch = self.CASE_SENSITIVE_ARCHS.get(arch, arch)
        self.arch_settings = parse_arch(arch, self.arch_zoo, self.ESSENTIAL_KEYS)
        self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']
        self.num_heads = self.arch_settings['num_heads']
        self._check_args(out_type, patch_size, featmap_stride, interpolate_mode)
        self.img_size = to_2tuple(img_size, 'img_size')
        self.patch_size = patch_size
        self.out_type = out_type
        self.out_indices = normalize_out_indices(out_indices, self.num_layers)
        if out_type == 'map' and self.out_indices != [self.num_layers - 1]:
            raise ValueError("out_type='map' pools the last block only: out_indices "
                             f'must be -1, got {out_indices!r}')
        self.final_norm = final_norm
        self.featmap_stride = featmap_stride
        self.interpolate_mode = interpolate_mode
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp

        self.patch_embed = PatchEmbed(
            in_channels=in_channels,
            embed_dims=self.embed_dims,
            conv_type='Conv2d',
            kernel_size=patch_size,
            stride=patch_size,
            padding='corner',
            input_size=self.img_size)
        self.patch_resolution = tuple(self.patch_embed.init_out_size)
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, self.embed_dims))
        self.drop_after_pos = nn.Dropout(drop_rate)

        # python floats (no tensor ops): the model must build on torch.device('meta')
        depth = self.num_layers
        rates = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]
        self.layers = ModuleList([
            ViTBlock(
                self.embed_dims,
                self.num_heads,
                self.arch_settings['feedforward_channels'],
                qkv_bias=qkv_bias,
                drop_rate=drop_rate,
                attn_drop_rate=attn_drop_rate,
                drop_path_rate=rates[i],
                norm_eps=norm_eps) for i in range(depth)
        ])
        if final_norm:
            self.ln1 = nn.LayerNorm(self.embed_dims, eps=norm_eps)
        if out_type == 'avg_featmap':
            self.ln2 = nn.LayerNorm(self.embed_dims, eps=norm_eps)
        if out_type == 'map':
            self.attn_pool = MultiheadAttentionPooling(
                self.embed_dims,
                self.num_heads,
                map_feedforward_channels or self.arch_settings['feedforward_channels'],
                qkv_bias=qkv_bias,
                norm_eps=norm_eps)
        self._freeze_stages()

    def _check_args(self, out_type: str, patch_size: int, featmap_stride: Optional[int],
                    interpolate_mode: str) -> None:
        if self.embed_dims % self.num_heads:
            raise ValueError(f'embed_dims ({self.embed_dims}) must be divisible by '
                             f'num_heads ({self.num_heads})')
        if out_type not in self.OUT_TYPES:
            raise ValueError(f'out_type must be one of {self.OUT_TYPES}, got '
                             f'{out_type!r}')
        if not isinstance(patch_size, int) or patch_size < 1:
            raise ValueError(f'patch_size must be a positive int, got {patch_size!r}')
        if featmap_stride is not None and (out_type != 'featmap'
                                           or not isinstance(featmap_stride, int)
                                           or featmap_stride < 1):
            raise ValueError('featmap_stride must be None or a positive int, and only '
                             "with out_type='featmap'; got "
                             f'{featmap_stride!r} with out_type={out_type!r}')
        modes = ('bicubic', 'bilinear', 'nearest')
        if interpolate_mode not in modes:
            raise ValueError(f'interpolate_mode must be one of {modes}, got '
                             f'{interpolate_mode!r}')

    def init_weights(self) -> None:
        if init_from_pretrained(self):
            return
        super().init_weights()
        trunc_normal_(self.pos_embed, std=.02)
        for module in self.layers.modules():
            if isinstance(module, nn.Linear):
                trunc_normal_(module.weight, std=.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def frozen_parts(self) -> Tuple[List[nn.Module], List[nn.Parameter]]:
        """Patch and position embeddings, the first ``frozen_stages`` blocks (and the
        final norms and MAP head when all are frozen)."""
        return plain_frozen_parts(self, ('attn_pool', )), [self.pos_embed]

    # ----------------------------------------------------------------------- forward
    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        input_hw = x.shape[-2:]
        if input_hw[0] < self.patch_size or input_hw[1] < self.patch_size:
            raise ValueError(f'input {tuple(input_hw)} is smaller than one patch '
                             f'(patch_size={self.patch_size})')
        x, grid_hw = self.patch_embed(x)
        x = x + self.resized_pos_embed(grid_hw)
        x = self.drop_after_pos(x)
        outs: List[Tensor] = []
        for i, layer in enumerate(self.layers):
            if self.with_cp and self.training and x.requires_grad:
                x = checkpoint(layer, x, use_reentrant=False)
            else:
                x = layer(x)
            if i == self.num_layers - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, grid_hw, input_hw))
        return tuple(outs)

    def resized_pos_embed(self, grid_hw: Tuple[int, int]) -> Tensor:
        """The position embedding resized to ``grid_hw`` (mmpretrain's
        ``resize_pos_embed``). Under ``torch.export`` it always interpolates: mmpretrain
        returns the table as is on the training grid, a branch an export would freeze
        into the graph; resizing to the same size is exact (integer sample positions)."""
        if not torch.compiler.is_exporting():
            return resize_pos_embed(
                self.pos_embed,
                self.patch_resolution,
                grid_hw,
                mode=self.interpolate_mode,
                num_extra_tokens=0)
        table = self.pos_embed.reshape(1, *self.patch_resolution, -1).permute(0, 3, 1, 2)
        table = F.interpolate(
            table.float(),
            size=tuple(grid_hw),
            mode=self.interpolate_mode,
            align_corners=False)
        return table.flatten(2).transpose(1, 2)

    def _format_output(self, x: Tensor, grid_hw: Tuple[int, int],
                       input_hw: Sequence[int]) -> Tensor:
        if self.out_type == 'raw':
            return x
        if self.out_type == 'avg_featmap':
            return self.ln2(x.mean(dim=1))
        if self.out_type == 'map':
            return self.attn_pool(x)
        fmap = x.reshape(x.shape[0], *grid_hw, -1).permute(0, 3, 1, 2).contiguous()
        if self.featmap_stride is not None:
            size = tuple(-(-s // self.featmap_stride) for s in input_hw)
            if size != tuple(grid_hw):
                fmap = F.interpolate(
                    fmap, size=size, mode='bilinear', align_corners=False)
        return fmap

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer id of a parameter for layer-wise LR decay: ``(depth, num_depths)``.

        Patch and position embeddings are depth 0, block ``i`` is ``i + 1``, everything
        else (final norms, MAP head, heads) the last depth.
        """
        num_depths = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_depths - 1, num_depths
        name = param_name[len(prefix):]
        if name == 'pos_embed' or name.startswith('patch_embed'):
            return 0, num_depths
        if name.startswith('layers.'):
            return int(name.split('.')[1]) + 1, num_depths
        return num_depths - 1, num_depths
