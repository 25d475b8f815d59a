"""Plain VisionLLaMA backbone (arXiv 2403.00522), in mmpretrain's
``VisionTransformer`` style."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn.bricks.transformer import PatchEmbed
from mmengine.model import ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ...registry import MODELS
from ..layers import (ROPE_TYPES, LocallyGroupedAttention, RotaryEmbedding2D,
                      VisionLLaMABlock, swiglu_hidden_dims, window_coords)
from ..utils import (FrozenStagesMixin, init_from_pretrained, linear_rates,
                     normalize_out_indices, parse_arch, plain_frozen_parts, to_2tuple)


def _arch(embed_dims: int, num_layers: int, num_heads: int, mae: bool) -> Dict:
    if mae:  # mmpretrain-fork MAE release: ffc = 4d, hidden round_up(ffc*8/3), biases
        hidden = swiglu_hidden_dims(4 * embed_dims)
        return dict(
            embed_dims=embed_dims,
            num_layers=num_layers,
            num_heads=num_heads,
            feedforward_channels=hidden,
            ffn_bias=True,
            layer_scale_init_value=0.)
    # supervised DeiT-III-style release: hidden round_up(8d/3), no FFN bias, gamma 1e-4
    return dict(
        embed_dims=embed_dims,
        num_layers=num_layers,
        num_heads=num_heads,
        feedforward_channels=swiglu_hidden_dims(embed_dims),
        ffn_bias=False,
        layer_scale_init_value=1e-4)


@MODELS.register_module()
class VisionLLaMA(FrozenStagesMixin, BaseBackbone):
    """Plain VisionLLaMA: a ViT whose blocks are LLaMA blocks with 2D RoPE.

    `VisionLLaMA: A Unified LLaMA Backbone for Vision Tasks
    <https://arxiv.org/abs/2403.00522>`_. Each block is
    ``x + DropPath(γ·Attn(LN(x)))``, ``x + DropPath(γ·SwiGLU(LN(x)))`` with RoPE on q
    and k in every layer and no absolute position embedding, so the model runs at any
    input size without touching a weight.

    Args:
        arch: ``'s'``/``'b'``/``'l'`` (the supervised release: SwiGLU hidden
            ``round_up(int(8d/3), 256)``, no FFN bias, layer scale 1e-4),
            ``'b-mae'``/``'l-mae'`` (the MAE release: hidden 8192 / 11008, FFN bias, no
            layer scale) or a dict with ``embed_dims``, ``num_layers``, ``num_heads``,
            ``feedforward_channels`` and optionally ``ffn_bias``,
            ``layer_scale_init_value``.
        img_size: training input size; with ``patch_size`` it fixes the anchor grid of
            AS2DRoPE. Other sizes work at run time.
        patch_size: patch size. Inputs that are not a multiple are padded
            (bottom/right), as mmpretrain's ``PatchEmbed`` does.
        in_channels: input channels.
        out_indices: blocks whose outputs are returned (negative counts from the end).
        out_type: ``'raw'`` (B, N(+1), C), ``'cls_token'`` (B, C), ``'featmap'``
            (B, C, H, W) or ``'avg_featmap'`` (B, C, mean of patch tokens then LN).
        with_cls_token: prepend a learnable class token.
        cls_token_coord: RoPE coordinate ``(x, y)`` of the class token, or
            ``'official'`` for the release's flat index -1 (``x = W - 1, y = -1``).
        final_norm: LayerNorm after the last block (``ln1``).
        rope_type: ``'2d'`` (default), ``'as2d'``, ``'ntk'`` or ``'1d'``, see
            :class:`~visionllama_mm.models.layers.RotaryEmbedding2D`.
        rope_theta: RoPE base. rope_anchor: AS2DRoPE anchor grid ``(H, W)``
            (defaults to ``img_size // patch_size``). ntk_alpha: NTK factor.
        drop_rate / attn_drop_rate / drop_path_rate: dropouts.
        drop_path_mode: ``'linear'`` ramps drop path from 0 to ``drop_path_rate`` over
            depth (mmpretrain, MAE fine-tuning); ``'uniform'`` uses the same rate in
            every block (the supervised DeiT-III-style release).
        ffn_drop_path: ``False`` applies drop path to the attention branch only, as
            the release's MAE-derived blocks (fine-tune, UperNet, ViTDet); ``True``
            (default) to both branches, as the supervised release.
        qkv_bias: bias of the qkv projection.
        layer_scale_init_value: overrides the arch's layer-scale init (0 disables).
        norm_eps: LayerNorm epsilon.
        window_size / window_block_indexes: ViTDet-style blocks (e.g. 14 and all but
            ``[2, 5, 8, 11]``) attend inside ``window_size`` windows (padded, padded
            keys masked); the others attend globally. Needs ``with_cls_token=False``.
        window_rope_coords: RoPE coordinates of windowed blocks, ``'local'``
            (``0 .. ws-1`` in every window, as the release's ViTDet) or ``'global'``
            (each token's coordinate on the whole grid, scaled like the global blocks).
        frozen_stages: freeze the patch embedding, class token and the first
            ``frozen_stages`` blocks (and the final norms when all are frozen).
        with_cp: activation checkpointing per block.
        init_cfg: mmengine init config, e.g. ``dict(type='Pretrained',
            checkpoint=..., prefix='backbone.')``.

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
    OUT_TYPES = ('raw', 'cls_token', 'featmap', 'avg_featmap')
    ESSENTIAL_KEYS = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')

    def __init__(self,
                 arch: Union[str, Dict] = 'b',
                 img_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = -1,
                 out_type: str = 'cls_token',
                 with_cls_token: bool = True,
                 cls_token_coord: Union[str, Sequence[float]] = 'official',
                 final_norm: bool = True,
                 rope_type: str = '2d',
                 rope_theta: float = 10000.,
                 rope_anchor: Optional[Sequence[int]] = None,
                 ntk_alpha: float = 1.,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 drop_path_mode: str = 'linear',
                 ffn_drop_path: bool = True,
                 qkv_bias: bool = True,
                 layer_scale_init_value: Optional[float] = None,
                 norm_eps: float = 1e-6,
                 window_size: int = 0,
                 window_block_indexes: Sequence[int] = (),
                 window_rope_coords: str = 'local',
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[Dict, Sequence[Dict]]] = None) -> None:
        super().__init__(init_cfg)
        self.arch_settings = parse_arch(arch, self.arch_zoo, self.ESSENTIAL_KEYS)
        self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']
        self.num_heads = self.arch_settings['num_heads']
        if self.embed_dims % self.num_heads:
            raise ValueError(f'embed_dims ({self.embed_dims}) must be divisible by '
                             f'num_heads ({self.num_heads})')
        if out_type not in self.OUT_TYPES:
            raise ValueError(f'out_type must be one of {self.OUT_TYPES}, '
                             f'got {out_type!r}')
        if out_type == 'cls_token' and not with_cls_token:
            raise ValueError('out_type="cls_token" needs with_cls_token=True')
        if rope_type not in ROPE_TYPES:
            raise ValueError(f'rope_type must be one of {ROPE_TYPES}, got {rope_type!r}')
        if not isinstance(patch_size, int) or patch_size < 1:
            raise ValueError(f'patch_size must be a positive int, got {patch_size!r}')
        window_block_indexes = normalize_out_indices(
            list(window_block_indexes), self.num_layers) if window_block_indexes else []
        if window_block_indexes:
            if window_size < 1:
                raise ValueError('window_block_indexes needs window_size >= 1, got '
                                 f'{window_size}')
            if with_cls_token:
                raise ValueError('window attention (window_block_indexes) needs '
                                 'with_cls_token=False: a class token cannot be split '
                                 "into windows (use out_type='featmap' as ViTDet does)")
        if window_rope_coords not in ('local', 'global'):
            raise ValueError("window_rope_coords must be 'local' or 'global', got "
                             f'{window_rope_coords!r}')
        self.window_size = window_size
        self.window_block_indexes = window_block_indexes
        self.window_rope_coords = window_rope_coords
        self.img_size = to_2tuple(img_size, 'img_size')
        self.patch_size = patch_size
        self.out_type = out_type
        self.with_cls_token = with_cls_token
        self.num_extra_tokens = 1 if with_cls_token else 0
        self.out_indices = normalize_out_indices(out_indices, self.num_layers)
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
        self.patch_resolution = self.patch_embed.init_out_size
        if with_cls_token:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        self.cls_token_coord = cls_token_coord
        self.drop_after_embed = nn.Dropout(drop_rate)

        self.rope = RotaryEmbedding2D(
            self.embed_dims // self.num_heads,
            rope_type=rope_type,
            theta=rope_theta,
            anchor_grid=self.patch_resolution if rope_anchor is None else rope_anchor,
            ntk_alpha=ntk_alpha)
        # window-local coordinates are never rescaled (release ViTDet)
        self.window_rope = RotaryEmbedding2D(
            self.embed_dims // self.num_heads,
            '1d' if rope_type == '1d' else '2d',
            theta=rope_theta)

        if layer_scale_init_value is None:
            layer_scale_init_value = self.arch_settings.get('layer_scale_init_value', 0.)
        if drop_path_mode == 'linear':
            drop_path_rates = linear_rates(drop_path_rate, self.num_layers)
        elif drop_path_mode == 'uniform':
            drop_path_rates = [drop_path_rate] * self.num_layers
        else:
            raise ValueError(f"drop_path_mode must be 'linear' or 'uniform', got "
                             f'{drop_path_mode!r}')
        self.layers = ModuleList([
            VisionLLaMABlock(
                self.embed_dims,
                self.num_heads,
                self.arch_settings['feedforward_channels'],
                qkv_bias=qkv_bias,
                ffn_bias=self.arch_settings.get('ffn_bias', False),
                layer_scale_init_value=layer_scale_init_value,
                drop_path_rate=drop_path_rates[i],
                attn_drop_rate=attn_drop_rate,
                drop_rate=drop_rate,
                norm_eps=norm_eps,
                ffn_drop_path=ffn_drop_path,
                attn=LocallyGroupedAttention(self.embed_dims, self.num_heads, window_size,
                                             qkv_bias, attn_drop_rate, drop_rate)
                if i in window_block_indexes else None) for i in range(self.num_layers)
        ])
        self.final_norm = final_norm
        if final_norm:
            self.ln1 = nn.LayerNorm(self.embed_dims, eps=norm_eps)
        if out_type == 'avg_featmap':
            self.ln2 = nn.LayerNorm(self.embed_dims, eps=norm_eps)
        self._freeze_stages()

    def init_weights(self) -> None:
        if init_from_pretrained(self):
            return
        super().init_weights()
        if self.with_cls_token:
            trunc_normal_(self.cls_token, std=.02)
        for module in self.layers.modules():
            if isinstance(module, nn.Linear):
                trunc_normal_(module.weight, std=.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def frozen_parts(self) -> Tuple[List[nn.Module], List[nn.Parameter]]:
        """Patch embedding, class token, the first ``frozen_stages`` blocks (and the
        final norms when all are frozen)."""
        return plain_frozen_parts(self), [self.cls_token] if self.with_cls_token else []

    # ----------------------------------------------------------------------- forward
    def cls_coord(self, grid_hw: Tuple[int, int]) -> Optional[Tuple[float, float]]:
        """RoPE coordinate of the class token on this grid (None without one)."""
        if not self.with_cls_token:
            return None
        if self.cls_token_coord == 'official':
            return grid_hw[1] - 1, -1.  # no float(): stays symbolic under export
        return tuple(float(c) for c in self.cls_token_coord)

    def embed(self, x: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        """Patch-embed ``(B, C, H, W)`` and prepend the class token."""
        if x.shape[-2] < self.patch_size or x.shape[-1] < self.patch_size:
            raise ValueError(f'input {tuple(x.shape[-2:])} is smaller than one patch '
                             f'(patch_size={self.patch_size})')
        x, grid_hw = self.patch_embed(x)
        if self.with_cls_token:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        return self.drop_after_embed(x), grid_hw

    def window_tables(self, grid_hw: Tuple[int, int], device: torch.device):
        """RoPE tables of the windowed blocks (see ``window_rope_coords``)."""
        ws = self.window_size
        if self.window_rope_coords == 'local':
            return self.window_rope.grid_tables(ws, ws, device)
        return self.rope.cached_tables(
            ('windows', ws), lambda: window_coords(*grid_hw, ws, device), grid_hw, device)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x, grid_hw = self.embed(x)
        rope = self.rope.grid_tables(*grid_hw, x.device, self.cls_coord(grid_hw))
        window_args = (grid_hw, self.window_tables(grid_hw, x.device)) \
            if self.window_block_indexes else None
        outs = []
        for i, layer in enumerate(self.layers):
            args = window_args if i in self.window_block_indexes else (rope, )
            if self.with_cp and self.training and x.requires_grad:
                x = checkpoint(layer, x, *args, use_reentrant=False)
            else:
                x = layer(x, *args)
            if i == self.num_layers - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, grid_hw))
        return tuple(outs)

    def _format_output(self, x: Tensor, grid_hw: Tuple[int, int]) -> Tensor:
        if self.out_type == 'raw':
            return x
        if self.out_type == 'cls_token':
            return x[:, 0]
        patch_tokens = x[:, self.num_extra_tokens:]
        if self.out_type == 'featmap':
            return patch_tokens.reshape(x.shape[0], *grid_hw, -1).permute(0, 3, 1, 2)
        return self.ln2(patch_tokens.mean(dim=1))

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer id of a parameter for layer-wise LR decay: ``(depth, num_depths)``.

        Embedding and class token are depth 0, block ``i`` is ``i + 1``, everything
        else (final norms, heads) the last depth.
        """
        num_depths = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_depths - 1, num_depths
        name = param_name[len(prefix):]
        if name == 'cls_token' or name.startswith('patch_embed'):
            return 0, num_depths
        if name.startswith('layers.'):
            return int(name.split('.')[1]) + 1, num_depths
        return num_depths - 1, num_depths
