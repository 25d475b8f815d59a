"""The plain (ViT-like) encoder skeleton shared by VisionLLaMA, AIM and ViT-G."""
import inspect
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.utils import build_norm_layer, resize_pos_embed
from torch import Tensor, nn

from ...errors import ModelArgumentError
from ..layers import (FFN_TYPES, MIXERS, ROPE_TYPES, RotaryEmbedding2D, SinCosPosEmbed2D,
                      TransformerBlock, build_patch_embed, check_heads,
                      swiglu_hidden_dims)
from ..utils import (FrozenStagesMixin, check_choice, check_input_size, check_rate,
                     drop_path_rates, inherit_signature, init_from_pretrained,
                     normalize_out_indices, parse_arch, run_layer, to_2tuple)

POS_EMBED_TYPES = ('rope', 'sincos', 'learned', 'none')


def per_block(layer_cfgs: Union[Dict, Sequence[Dict]], num_layers: int) -> List[Dict]:
    """``layer_cfgs`` as one dict per block (a single dict serves every block)."""
    if isinstance(layer_cfgs, dict):
        return [dict(layer_cfgs) for _ in range(num_layers)]
    cfgs = list(layer_cfgs)
    if len(cfgs) != num_layers or not all(isinstance(c, dict) for c in cfgs):
        raise ModelArgumentError(
            'layer_cfgs must be one dict for every block or a list of '
            f'{num_layers} dicts (one per block), got {layer_cfgs!r}')
    return [dict(c) for c in cfgs]


class PlainEncoder(FrozenStagesMixin, BaseBackbone):
    """A patch embedding, ``num_layers`` :class:`~..layers.TransformerBlock` s and a
    final norm, in mmpretrain's ``VisionTransformer`` conventions.

    Subclasses set ``arch_zoo``, ``ESSENTIAL_KEYS`` and ``OUT_TYPES``, write the
    arguments they add and the defaults that differ in their ``__init__`` signature
    (the others are passed on with ``**kwargs``; ``inspect.signature`` of the class
    lists them all, see :func:`~..utils.inherit_signature`), and extend
    :meth:`build_pooling` / :meth:`format_output` for their own pooling. Arch-dict keys
    ``feedforward_channels`` (default ``4 d`` for ``'mlp'``, LLaMA's
    ``round_up(8d/3, 256)`` for ``'swiglu'``), ``ffn_bias`` and
    ``layer_scale_init_value`` give the values the arguments of the same name take
    when left None.

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
            ``'as2d'``, ``'ntk'``, ``'1d'``), base (> 1), AS2DRoPE anchor grid (None:
            the ``img_size`` grid) and NTK factor
            (:class:`~..layers.RotaryEmbedding2D`).
        cls_token_coord: RoPE coordinate ``(x, y)`` of the class token, or
            ``'official'`` for VisionLLaMA's flat index -1 (``x = W - 1, y = -1``).
        pos_embed_temperature: frequency base of the sin-cos table.
        interpolate_mode: resize mode of the learned table.
        ffn_type: ``'swiglu'`` or ``'mlp'`` (GELU).
        qkv_bias / proj_bias: biases of the attention projections.
        ffn_bias: biases of the FFN; None: the arch's ``ffn_bias``, else biased for
            ``'mlp'`` (ViT) and bias-free for ``'swiglu'`` (LLaMA). A value given
            here overrides the arch's.
        layer_scale_init_value: layer-scale init of both branches (0: none); None:
            the arch's, else 0. A value given here overrides the arch's.
        drop_rate / attn_drop_rate / drop_path_rate: dropouts, each in ``[0, 1)``;
            ``drop_path_mode`` ``'linear'`` ramps drop path over depth, ``'uniform'``
            does not; ``ffn_drop_path=False`` keeps the FFN branch free of it.
        norm_cfg: every norm of the encoder (blocks, ``ln1``, ``ln2``, patch norm).
        patch_norm: a norm after the patch projection (AIM).
        layer_cfgs: per-block overrides of :class:`~..layers.TransformerBlock`'s
            arguments, mmpretrain style: one dict for every block or a list with one
            per block. ``attn_cfg`` picks the block's token mixer, e.g.
            ``dict(attn_cfg=dict(type='LocallyGroupedAttention', window_size=14))``
            for a ViTDet windowed block (needs ``with_cls_token=False``).
        frozen_stages: freeze the embeddings and the first ``frozen_stages`` blocks
            (all of them: also the final norms and pooling).
        with_cp: activation checkpointing per block while training.
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

    Raises:
        ModelArgumentError: (a ``ValueError``) for an argument the encoder cannot use,
            naming it and the allowed values.

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

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        inherit_signature(cls)

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
                 layer_cfgs: Union[Dict, Sequence[Dict]] = dict(),
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[Dict, Sequence[Dict]]] = None) -> None:
        super().__init__(init_cfg)
        self.arch_settings = self.parse_arch(arch)
        self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']
        self.num_heads = self.arch_settings['num_heads']
        check_heads(self.embed_dims, self.num_heads)
        check_choice('out_type', out_type, self.OUT_TYPES)
        check_choice('pos_embed_type', pos_embed_type, POS_EMBED_TYPES)
        check_choice('rope_type', rope_type, ROPE_TYPES)
        check_choice('ffn_type', ffn_type, FFN_TYPES)
        check_choice('interpolate_mode', interpolate_mode,
                     ('bicubic', 'bilinear', 'nearest'))
        for name, value in (('patch_size', patch_size), ('in_channels', in_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ModelArgumentError(f'{name} must be a positive int, got {value!r}')
        check_rate('drop_rate', drop_rate)
        check_rate('attn_drop_rate', attn_drop_rate)
        rates = drop_path_rates(drop_path_rate, self.num_layers, drop_path_mode)
        if out_type == 'cls_token' and not with_cls_token:
            raise ModelArgumentError('out_type="cls_token" needs with_cls_token=True')
        if featmap_stride is not None and (out_type != 'featmap'
                                           or not isinstance(featmap_stride, int)
                                           or featmap_stride < 1):
            raise ModelArgumentError(
                'featmap_stride must be None or a positive int, and only '
                f"with out_type='featmap'; got {featmap_stride!r} with "
                f'out_type={out_type!r}')
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
        self.norm_cfg = norm_cfg
        self.qkv_bias = qkv_bias
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp

        self.patch_embed = build_patch_embed(in_channels, self.embed_dims, patch_size,
                                             norm_cfg if patch_norm else None,
                                             self.img_size)
        self.patch_resolution = tuple(self.patch_embed.init_out_size)
        if with_cls_token:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        rope_cfg = None
        if pos_embed_type == 'rope':
            rope_cfg = dict(
                rope_type=rope_type,
                theta=rope_theta,
                anchor_grid=self.patch_resolution if rope_anchor is None else rope_anchor,
                ntk_alpha=ntk_alpha)
        self._build_position(rope_cfg, pos_embed_temperature)
        self.drop_after_pos = nn.Dropout(drop_rate)

        ffn_dims = self.arch_settings.get('feedforward_channels')
        if not ffn_dims:
            ffn_dims = 4 * self.embed_dims if ffn_type == 'mlp' else \
                swiglu_hidden_dims(self.embed_dims)
        block = dict(
            embed_dims=self.embed_dims,
            num_heads=self.num_heads,
            feedforward_channels=ffn_dims,
            ffn_type=ffn_type,
            qkv_bias=qkv_bias,
            proj_bias=proj_bias,
            ffn_bias=self._from_arch('ffn_bias', ffn_bias, ffn_type == 'mlp'),
            layer_scale_init_value=self._from_arch('layer_scale_init_value',
                                                   layer_scale_init_value, 0.),
            ffn_drop_path=ffn_drop_path,
            attn_drop_rate=attn_drop_rate,
            drop_rate=drop_rate,
            norm_cfg=norm_cfg,
            rope_cfg=rope_cfg)
        self.layers = ModuleList([
            TransformerBlock(**cfg) for cfg in self._block_cfgs(layer_cfgs, block, rates)
        ])
        if final_norm:
            self.ln1 = build_norm_layer(norm_cfg, self.embed_dims)
        self.build_pooling()
        self._freeze_stages()

    @classmethod
    def parse_arch(cls, arch: Union[str, Dict]) -> Dict:
        """A copy of the arch settings ``arch`` names (``arch_zoo``; names in
        ``CASE_SENSITIVE_ARCHS`` are matched exactly, others in any case) or of a
        custom dict with ``ESSENTIAL_KEYS``."""
        if isinstance(arch, str):
            arch = cls.CASE_SENSITIVE_ARCHS.get(arch, arch)
        return parse_arch(arch, cls.arch_zoo, cls.ESSENTIAL_KEYS)

    def _from_arch(self, name: str, value, fallback) -> object:
        """An argument given wins; left None, it takes the arch's value (else
        ``fallback``)."""
        if value is not None:
            return value
        in_arch = self.arch_settings.get(name)
        return fallback if in_arch is None else in_arch

    def _block_cfgs(self, layer_cfgs: Union[Dict, Sequence[Dict]], block: Dict,
                    rates: List[float]) -> List[Dict]:
        """``TransformerBlock`` arguments of every block: ``block`` with the block's
        drop-path rate, then its ``layer_cfgs`` entry."""
        layer_cfgs = per_block(layer_cfgs, self.num_layers)
        allowed = set(inspect.signature(TransformerBlock).parameters)
        cfgs = []
        for i, layer_cfg in enumerate(layer_cfgs):
            unknown = sorted(set(layer_cfg) - allowed)
            if unknown:
                raise ModelArgumentError(
                    f'layer_cfgs[{i}] has unknown keys {unknown}: a block takes '
                    f'{sorted(allowed)}')
            cfg = {**block, 'drop_path_rate': rates[i], **layer_cfg}
            mixer = MIXERS.get((cfg.get('attn_cfg') or {}).get('type', 'RoPEAttention'))
            if getattr(mixer, 'needs_grid', False) and self.with_cls_token:
                raise ModelArgumentError(
                    f'block {i} ({mixer.__name__}: window / grid attention, e.g. '
                    'window_block_indexes) needs with_cls_token=False: a class token '
                    "cannot be split into windows (use out_type='featmap' as ViTDet "
                    'does)')
            cfgs.append(cfg)
        return cfgs

    def build_pooling(self) -> None:
        """Subclass hook, run before freezing: the modules that pool block outputs
        (here ``ln2`` of ``'avg_featmap'``)."""
        if self.out_type == 'avg_featmap':
            self.ln2 = build_norm_layer(self.norm_cfg, self.embed_dims)

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each output, in output order."""
        return (self.embed_dims, ) * len(self.out_indices)

    @property
    def out_strides(self) -> Optional[Tuple[int, ...]]:
        """Input pixels per output pixel of each NCHW map output (None: the outputs
        are not maps)."""
        if self.out_type not in self.MAP_OUT_TYPES:
            return None
        return (self.featmap_stride or self.patch_size, ) * len(self.out_channels)

    def check_outputs(self, out_indices: Union[int, Sequence[int]]) -> None:
        """Subclass hook: refuse an ``out_type`` / ``out_indices`` pairing before any
        module is built (``out_indices`` as given; ``self.out_indices`` resolved)."""

    def _build_position(self, rope_cfg: Optional[Dict], temperature: float) -> None:
        if self.pos_embed_type == 'learned':
            num_patches = self.patch_resolution[0] * self.patch_resolution[1]
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, self.embed_dims))
        elif self.pos_embed_type == 'sincos':
            self.pos_embed = SinCosPosEmbed2D(self.embed_dims, temperature)
        elif rope_cfg is not None:
            self.rope = RotaryEmbedding2D(self.embed_dims // self.num_heads, **rope_cfg)

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

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        return self.encode(x)

    def encode(self, x: Tensor, attn_mask: Optional[Tensor] = None) -> Tuple[Tensor, ...]:
        """Embed, run the blocks up to the last of ``out_indices``, format the outputs.

        Every block gets the same context by keyword: ``hw`` (the token grid),
        ``rope`` (the grid's RoPE tables, None without RoPE) and ``attn_mask`` (a
        boolean ``(B, 1, N, N)`` or None)."""
        input_hw = tuple(x.shape[-2:])
        x, grid_hw = self.embed(x)
        context = dict(
            hw=grid_hw, rope=self.rope_tables(grid_hw, x.device), attn_mask=attn_mask)
        outs: List[Tensor] = []
        with_cp = self.with_cp and self.training
        for i, layer in enumerate(self.layers[:max(self.out_indices) + 1]):
            x = run_layer(layer, x, with_cp, **context)
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
