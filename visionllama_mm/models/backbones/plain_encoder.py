"""The plain (ViT-like) encoder skeleton shared by VisionLLaMA, AIM and ViT-G."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks.transformer import PatchEmbed
from mmengine.model import ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.utils import build_norm_layer, resize_pos_embed
from torch import Tensor, nn

from ..layers import (FFN_TYPES, ROPE_TYPES, LocallyGroupedAttention, RotaryEmbedding2D,
                      SinCosPosEmbed2D, TransformerBlock, check_heads, swiglu_hidden_dims,
                      window_coords)
from ..utils import (FrozenStagesMixin, check_choice, check_input_size, drop_path_rates,
                     init_from_pretrained, normalize_out_indices, parse_arch, run_layer,
                     to_2tuple)

POS_EMBED_TYPES = ('rope', 'sincos', 'learned', 'none')


class PlainEncoder(FrozenStagesMixin, BaseBackbone):
    """A patch embedding, ``num_layers`` :class:`~..layers.TransformerBlock` s and a
    final norm, in mmpretrain's ``VisionTransformer`` conventions.

    Subclasses set ``arch_zoo``, ``ESSENTIAL_KEYS``, ``OUT_TYPES`` and the argument
    defaults that differ (``DEFAULTS``, merged under the config's arguments); they
    extend :meth:`format_output` for their own pooling. Optional arch-dict keys
    ``feedforward_channels`` (default ``4 d`` for ``'mlp'``, LLaMA's
    ``round_up(8d/3, 256)`` for ``'swiglu'``), ``ffn_bias`` and
    ``layer_scale_init_value`` are used when the arguments of the same name are None
    (else ``ARCH_DEFAULTS``).

    Args:
        arch: a name of ``arch_zoo`` or a dict with ``embed_dims``, ``num_layers``,
            ``num_heads`` (and ``feedforward_channels``).
        img_size: training input size; fixes the learned table's grid and the
            AS2DRoPE anchor. Other sizes work at run time.
        patch_size: patch size; inputs that are not a multiple are zero-padded
            bottom / right (mmcv ``PatchEmbed(padding='corner')``).
        in_channels: input channels.
        out_indices: blocks whose outputs are used (negative counts from the end);
            blocks after the largest are not run.
        out_type: ``'raw'`` tokens ``(B, N, C)``, ``'cls_token'`` ``(B, C)``,
            ``'featmap'`` ``(B, C, h, w)`` or ``'avg_featmap'`` ``(B, C)`` (mean of the
            patch tokens, then ``ln2``); subclasses add their own.
        with_cls_token: prepend a learnable class token.
        final_norm: norm ``ln1`` on the last block's output.
        featmap_stride: with ``'featmap'``, resize every map (bilinear) to
            ``ceil(H / featmap_stride) x ceil(W / featmap_stride)`` (e.g. 16 for a
            stride-14 model in mmdet); None keeps the patch grid.
        pos_embed_type: ``'rope'`` (2D RoPE in every attention), ``'sincos'`` (a fixed
            2D sin-cos table computed per grid), ``'learned'`` (a table for the
            ``img_size`` grid, resized with ``interpolate_mode`` for other grids) or
            ``'none'``. Tables are added to the patch tokens only.
        rope_type / rope_theta / rope_anchor / ntk_alpha: RoPE variant (``'2d'``,
            ``'as2d'``, ``'ntk'``, ``'1d'``), base, AS2DRoPE anchor grid (default the
            ``img_size`` grid) and NTK factor
            (:class:`~..layers.RotaryEmbedding2D`).
        cls_token_coord: RoPE coordinate ``(x, y)`` of the class token, or
            ``'official'`` for VisionLLaMA's flat index -1 (``x = W - 1, y = -1``).
        pos_embed_temperature: frequency base of the sin-cos table.
        interpolate_mode: resize mode of the learned table.
        ffn_type: ``'swiglu'`` or ``'mlp'`` (GELU).
        qkv_bias / proj_bias / ffn_bias: biases of the block projections.
        layer_scale_init_value: layer-scale init of both branches (0: none).
        drop_rate / attn_drop_rate / drop_path_rate: dropouts; ``drop_path_mode``
            ``'linear'`` ramps drop path over depth, ``'uniform'`` does not;
            ``ffn_drop_path=False`` keeps the FFN branch free of it.
        norm_cfg: every norm of the encoder (blocks, ``ln1``, ``ln2``, patch norm).
        patch_norm: a norm after the patch projection (AIM).
        window_size / window_block_indexes / window_rope_coords: ViTDet-style blocks
            attending inside ``window_size`` windows (padded keys masked), with RoPE
            coordinates ``'local'`` to each window or ``'global'`` on the whole grid.
            Needs ``with_cls_token=False``.
        frozen_stages: freeze the embeddings and the first ``frozen_stages`` blocks
            (all of them: also the final norms and pooling).
        with_cp: activation checkpointing per block while training.
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

    Shapes: ``(B, C_in, H, W)`` -> tuple of one output per ``out_indices`` entry, token
    grid ``ceil(H / patch_size) x ceil(W / patch_size)``. Builds on
    ``torch.device('meta')``.
    """
    arch_zoo: Dict[str, Dict] = {}
    CASE_SENSITIVE_ARCHS: Dict[str, str] = {}
    ESSENTIAL_KEYS: Tuple[str, ...] = ('embed_dims', 'num_layers', 'num_heads')
    OUT_TYPES: Tuple[str, ...] = ('raw', 'cls_token', 'featmap', 'avg_featmap')
    #: the ``out_type`` values that give NCHW maps (what dense necks / heads take)
    MAP_OUT_TYPES: Tuple[str, ...] = ('featmap', )
    ARCH_DEFAULTS: Dict = dict(ffn_bias=True, layer_scale_init_value=0.)
    DEFAULTS: Dict = {}

    def __init__(self,
                 arch: Union[str, Dict],
                 img_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = -1,
                 out_type: str = 'raw',
                 with_cls_token: bool = False,
                 final_norm: bool = True,
                 featmap_stride: Optional[int] = None,
                 pos_embed_type: str = 'rope',
                 rope_type: str = '2d',
                 rope_theta: float = 10000.,
                 rope_anchor: Optional[Sequence[int]] = None,
                 ntk_alpha: float = 1.,
                 cls_token_coord: Union[str, Sequence[float]] = 'official',
                 pos_embed_temperature: float = 10000.,
                 interpolate_mode: str = 'bicubic',
                 ffn_type: str = 'swiglu',
                 qkv_bias: bool = True,
                 proj_bias: bool = True,
                 ffn_bias: Optional[bool] = None,
                 layer_scale_init_value: Optional[float] = None,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 drop_path_mode: str = 'linear',
                 ffn_drop_path: bool = True,
                 norm_cfg: Dict = dict(type='LN', eps=1e-6),
                 patch_norm: bool = False,
                 window_size: int = 0,
                 window_block_indexes: Sequence[int] = (),
                 window_rope_coords: str = 'local',
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
        check_heads(self.embed_dims, self.num_heads)
        check_choice('out_type', out_type, self.OUT_TYPES)
        check_choice('pos_embed_type', pos_embed_type, POS_EMBED_TYPES)
        check_choice('rope_type', rope_type, ROPE_TYPES)
        check_choice('ffn_type', ffn_type, FFN_TYPES)
        check_choice('window_rope_coords', window_rope_coords, ('local', 'global'))
        check_choice('interpolate_mode', interpolate_mode,
                     ('bicubic', 'bilinear', 'nearest'))
        if not isinstance(patch_size, int) or patch_size < 1:
            raise ValueError(f'patch_size must be a positive int, got {patch_size!r}')
        if out_type == 'cls_token' and not with_cls_token:
            raise ValueError('out_type="cls_token" needs with_cls_token=True')
        if featmap_stride is not None and (out_type != 'featmap'
                                           or not isinstance(featmap_stride, int)
                                           or featmap_stride < 1):
            raise ValueError('featmap_stride must be None or a positive int, and only '
                             "with out_type='featmap'; got "
                             f'{featmap_stride!r} with out_type={out_type!r}')
        self.window_block_indexes = normalize_out_indices(
            list(window_block_indexes), self.num_layers) if window_block_indexes else []
        if self.window_block_indexes:
            if window_size < 1:
                raise ValueError('window_block_indexes needs window_size >= 1, got '
                                 f'{window_size}')
            if with_cls_token:
                raise ValueError('window attention (window_block_indexes) needs '
                                 'with_cls_token=False: a class token cannot be split '
                                 "into windows (use out_type='featmap' as ViTDet does)")
        self.img_size = to_2tuple(img_size, 'img_size')
        self.patch_size = patch_size
        self.out_indices = normalize_out_indices(out_indices, self.num_layers)
        self.out_type = out_type
        self.check_outputs(out_indices)
        self.with_cls_token = with_cls_token
        self.num_extra_tokens = int(with_cls_token)
        self.final_norm = final_norm
        self.featmap_stride = featmap_stride
        self.pos_embed_type = pos_embed_type
        self.cls_token_coord = cls_token_coord
        self.interpolate_mode = interpolate_mode
        self.window_size = window_size
        self.window_rope_coords = window_rope_coords
        self.norm_cfg = norm_cfg
        self.qkv_bias = qkv_bias
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp

        self.patch_embed = PatchEmbed(
            in_channels=in_channels,
            embed_dims=self.embed_dims,
            conv_type='Conv2d',
            kernel_size=patch_size,
            stride=patch_size,
            padding='corner',
            norm_cfg=norm_cfg if patch_norm else None,
            input_size=self.img_size)
        self.patch_resolution = tuple(self.patch_embed.init_out_size)
        if with_cls_token:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        self._build_position(rope_type, rope_theta, rope_anchor, ntk_alpha,
                             pos_embed_temperature)
        self.drop_after_pos = nn.Dropout(drop_rate)

        settings = {**self.ARCH_DEFAULTS, **self.arch_settings}
        if ffn_bias is None:
            ffn_bias = settings['ffn_bias']
        if layer_scale_init_value is None:
            layer_scale_init_value = settings['layer_scale_init_value']
        ffn_dims = settings.get('feedforward_channels')
        if not ffn_dims:
            ffn_dims = 4 * self.embed_dims if ffn_type == 'mlp' else \
                swiglu_hidden_dims(self.embed_dims)
        rates = drop_path_rates(drop_path_rate, self.num_layers, drop_path_mode)
        self.layers = ModuleList([
            TransformerBlock(
                self.embed_dims,
                self.num_heads,
                ffn_dims,
                ffn_type,
                qkv_bias=qkv_bias,
                proj_bias=proj_bias,
                ffn_bias=ffn_bias,
                layer_scale_init_value=layer_scale_init_value,
                drop_path_rate=rates[i],
                ffn_drop_path=ffn_drop_path,
                attn_drop_rate=attn_drop_rate,
                drop_rate=drop_rate,
                norm_cfg=norm_cfg,
                attn=LocallyGroupedAttention(self.embed_dims, self.num_heads, window_size,
                                             qkv_bias, attn_drop_rate, drop_rate)
                if i in self.window_block_indexes else None)
            for i in range(self.num_layers)
        ])
        if final_norm:
            self.ln1 = build_norm_layer(norm_cfg, self.embed_dims)
        if out_type == 'avg_featmap':
            self.ln2 = build_norm_layer(norm_cfg, self.embed_dims)
        self._freeze_stages()

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each output, in output order."""
        return (self.embed_dims, ) * len(self.out_indices)

    @property
    def out_strides(self) -> Optional[Tuple[int, ...]]:
        """Input pixels per map pixel of each output (None: the outputs are no maps)."""
        if self.out_type not in self.MAP_OUT_TYPES:
            return None
        return (self.featmap_stride or self.patch_size, ) * len(self.out_indices)

    def check_outputs(self, out_indices: Union[int, Sequence[int]]) -> None:
        """Subclass hook: refuse an ``out_type`` / ``out_indices`` pairing before any
        module is built (``out_indices`` as given; ``self.out_indices`` resolved)."""

    def _build_position(self, rope_type: str, theta: float, anchor, ntk_alpha: float,
                        temperature: float) -> None:
        if self.pos_embed_type == 'learned':
            num_patches = self.patch_resolution[0] * self.patch_resolution[1]
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, self.embed_dims))
        elif self.pos_embed_type == 'sincos':
            self.pos_embed = SinCosPosEmbed2D(self.embed_dims, temperature)
        elif self.pos_embed_type == 'rope':
            head_dims = self.embed_dims // self.num_heads
            self.rope = RotaryEmbedding2D(
                head_dims,
                rope_type=rope_type,
                theta=theta,
                anchor_grid=self.patch_resolution if anchor is None else anchor,
                ntk_alpha=ntk_alpha)
            # window-local coordinates are never rescaled (release ViTDet)
            self.window_rope = RotaryEmbedding2D(
                head_dims, '1d' if rope_type == '1d' else '2d', theta=theta)

    # ------------------------------------------------------------------ init / freeze
    def init_weights(self) -> None:
        """Pretrained via ``init_cfg``, else truncated-normal (std .02) tokens, table
        and block linears with zero biases (:meth:`init_block_weights`)."""
        if init_from_pretrained(self):
            return
        super().init_weights()
        if self.with_cls_token:
            trunc_normal_(self.cls_token, std=.02)
        if isinstance(getattr(self, 'pos_embed', None), nn.Parameter):
            trunc_normal_(self.pos_embed, std=.02)
        self.init_block_weights()

    def init_block_weights(self) -> None:
        for module in self.layers.modules():
            if isinstance(module, nn.Linear):
                trunc_normal_(module.weight, std=.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def frozen_parts(self) -> Tuple[List[nn.Module], List[nn.Parameter]]:
        """Patch embedding, class token, learned table and the first
        ``frozen_stages`` blocks; with every block frozen, also the final norms and
        pooling."""
        modules = [
            self.patch_embed, self.drop_after_pos, *self.layers[:self.frozen_stages]
        ]
        if self.frozen_stages >= self.num_layers:
            modules += [
                m for m in self.children()
                if m is not self.patch_embed and m is not self.layers
            ]
        params = [
            p
            for p in (getattr(self, 'cls_token', None), getattr(self, 'pos_embed', None))
            if isinstance(p, nn.Parameter)
        ]
        return modules, params

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer id of a parameter for layer-wise LR decay: ``(depth, num_depths)``.
        Embeddings and class token are depth 0, block ``i`` is ``i + 1``, everything
        else (final norms, pooling, heads) the last depth."""
        num_depths = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_depths - 1, num_depths
        name = param_name[len(prefix):]
        if name in ('cls_token', 'pos_embed') or name.startswith('patch_embed'):
            return 0, num_depths
        if name.startswith('layers.'):
            return int(name.split('.')[1]) + 1, num_depths
        return num_depths - 1, num_depths

    # ----------------------------------------------------------------------- forward
    def cls_coord(self, grid_hw: Tuple[int, int]) -> Optional[Tuple[float, float]]:
        """RoPE coordinate of the class token on this grid (None without one)."""
        if not self.with_cls_token:
            return None
        if self.cls_token_coord == 'official':
            return grid_hw[1] - 1, -1.  # no float(): stays symbolic under export
        return tuple(float(c) for c in self.cls_token_coord)

    def position_table(self, grid_hw: Tuple[int, int], dtype: torch.dtype,
                       device: torch.device) -> Optional[Tensor]:
        """The additive table ``(1, h*w, C)`` of this grid (None with RoPE / none).

        The learned table goes through mmpretrain's ``resize_pos_embed``, except under
        ``torch.export``, where it always interpolates (mmpretrain returns the table
        as is on the training grid, a branch an export would freeze; resizing to the
        same size is exact)."""
        if self.pos_embed_type == 'sincos':
            return self.pos_embed(grid_hw, device, dtype)
        if self.pos_embed_type != 'learned':
            return None
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

    def embed(self, x: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        """Patchify ``(B, C, H, W)`` (padding non-multiples), add the position table,
        prepend the class token."""
        check_input_size(x, self.patch_size)
        x, grid_hw = self.patch_embed(x)
        table = self.position_table(grid_hw, x.dtype, x.device)
        if table is not None:
            x = x + table
        if self.with_cls_token:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        return self.drop_after_pos(x), grid_hw

    def rope_tables(self, grid_hw: Tuple[int, int], device: torch.device):
        """RoPE tables of the global blocks (None without RoPE)."""
        if self.pos_embed_type != 'rope':
            return None
        return self.rope.grid_tables(*grid_hw, device, self.cls_coord(grid_hw))

    def window_tables(self, grid_hw: Tuple[int, int], device: torch.device):
        """RoPE tables of the windowed blocks (see ``window_rope_coords``)."""
        if self.pos_embed_type != 'rope':
            return None
        ws = self.window_size
        if self.window_rope_coords == 'local':
            return self.window_rope.grid_tables(ws, ws, device)
        return self.rope.cached_tables(
            ('windows', ws), lambda: window_coords(*grid_hw, ws, device), grid_hw, device)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        return self.encode(x)

    def encode(self, x: Tensor, attn_mask: Optional[Tensor] = None) -> Tuple[Tensor, ...]:
        """Embed, run the blocks up to the last of ``out_indices`` (``attn_mask``, a
        boolean ``(B, 1, N, N)``, goes to every global block), format the outputs."""
        input_hw = tuple(x.shape[-2:])
        x, grid_hw = self.embed(x)
        global_args = (self.rope_tables(grid_hw, x.device), attn_mask)
        window_args = (grid_hw, self.window_tables(grid_hw, x.device)) \
            if self.window_block_indexes else None
        outs: List[Tensor] = []
        with_cp = self.with_cp and self.training
        for i, layer in enumerate(self.layers[:max(self.out_indices) + 1]):
            args = window_args if i in self.window_block_indexes else global_args
            x = run_layer(layer, x, *args, with_cp=with_cp)
            if i in self.out_indices:
                outs.append(x)
        return self.format_outputs(outs, grid_hw, input_hw)

    def format_outputs(self, outs: List[Tensor], grid_hw: Tuple[int, int],
                       input_hw: Tuple[int, int]) -> Tuple[Tensor, ...]:
        """``ln1`` on the last block's output, then :meth:`format_output` each."""
        if self.final_norm and max(self.out_indices) == self.num_layers - 1:
            outs = [*outs[:-1], self.ln1(outs[-1])]
        return tuple(self.format_output(out, grid_hw, input_hw) for out in outs)

    def format_output(self, x: Tensor, grid_hw: Tuple[int, int],
                      input_hw: Tuple[int, int]) -> Tensor:
        """One block output ``(B, N, C)`` in the form ``out_type`` names."""
        if self.out_type == 'raw':
            return x
        if self.out_type == 'cls_token':
            return x[:, 0]
        patch_tokens = x[:, self.num_extra_tokens:]
        if self.out_type == 'avg_featmap':
            return self.ln2(patch_tokens.mean(dim=1))
        fmap = patch_tokens.reshape(x.shape[0], *grid_hw, -1).permute(0, 3, 1, 2)
        if self.featmap_stride is not None:
            size = tuple(-(-s // self.featmap_stride) for s in input_hw)
            if size != tuple(grid_hw):
                return F.interpolate(
                    fmap, size=size, mode='bilinear', align_corners=False)
        return fmap.contiguous()
