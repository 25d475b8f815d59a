"""Pyramid VisionLLaMA backbone (arXiv 2403.00522): Twins-SVT layout with LLaMA blocks."""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.model import ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.utils import build_norm_layer
from torch import Tensor, nn

from ...errors import ModelArgumentError
from ...registry import MODELS
from ..layers import (GSA_KEY_COORDS, ROPE_TYPES, RotaryEmbedding2D, TransformerBlock,
                      build_patch_embed, check_heads, swiglu_hidden_dims)
from ..utils import (FrozenStagesMixin, check_choice, check_input_size, check_rate,
                     drop_path_rates, init_from_pretrained, normalize_out_indices,
                     parse_arch, run_layer)


def _per_stage(value: Union[int, Sequence[int]], num_stages: int, name: str) -> List:
    """An int for every stage, or a list with one entry per stage."""
    if isinstance(value, int):
        return [value] * num_stages
    if len(value) != num_stages:
        raise ModelArgumentError(f'{name} needs {num_stages} entries (one per stage), '
                                 f'got {value!r}')
    return list(value)


def _stage_anchors(anchor, num_stages: int) -> List[Tuple[float, float]]:
    """``14``, ``(14, 14)`` or one int / pair per stage -> ``[(h, w)] * stages``."""

    def pair(a):
        return (a, a) if isinstance(a, (int, float)) else tuple(a)

    if isinstance(anchor,
                  (int, float)) or (len(anchor) == 2
                                    and all(isinstance(a, (int, float)) for a in anchor)):
        return [pair(anchor)] * num_stages
    if len(anchor) != num_stages:
        raise ModelArgumentError(
            f'rope_anchor needs an int, (H, W) or {num_stages} entries, '
            f'got {anchor!r}')
    return [pair(a) for a in anchor]


@MODELS.register_module()
class PyramidVisionLLaMA(FrozenStagesMixin, BaseBackbone):
    """Pyramid VisionLLaMA: Twins-SVT's layout with VisionLLaMA blocks and 2D RoPE.

    `VisionLLaMA: A Unified LLaMA Backbone for Vision Tasks
    <https://arxiv.org/abs/2403.00522>`_, pyramid form. Four stages; the patch
    embedding is a 4x4/4 conv then 2x2/2 per later stage, each followed by LN. Blocks
    alternate LSA (attention inside ``ws x ws`` windows, padded when the map is not a
    multiple) and GSA (full-resolution queries, keys/values from a ``k x k`` stride-k
    conv + LN, ``k = sr_ratio``). Every block is a VisionLLaMA block (LN, SwiGLU without
    bias, layer scale) with RoPE in the attention; no conditional position encoding,
    no class token.

    **RoPE coordinates.** LSA: window-local ``0 .. ws-1`` (never rescaled). GSA: queries
    at the stage grid's coordinates; each sub-sampled key at the **mean coordinate of the
    k x k cell it summarises**, ``x = j*k + (k-1)/2``, ``y = i*k + (k-1)/2`` (border cells
    average only their real positions). With ``rope_type='as2d'`` (AS2DRoPE) GSA
    coordinates (queries and keys) are multiplied by ``anchor / current grid`` per axis
    (``as2d_scale='per_axis'``); the release anchors every stage at 14 and multiplies
    **both** axes by ``14 / H`` (stage grid height; ``as2d_scale='height'``), which
    differs on non-square inputs (COCO, whole-image ADE20K). ``gsa_key_coords='official'``
    reproduces the released code instead (offset ``1 - 1/k`` and the reduced grid laid
    out with the full-resolution row stride, wrong for ``k > 1``; the sr conv then drops
    a remainder instead of padding) — use it, with ``lsa_mask_padding=False`` and (under
    AS2DRoPE) ``as2d_scale='height'``, to run released weights exactly as trained.

    Args:
        arch: ``'s'`` (64/128/256/512, depths 2/2/10/4, heads 2/4/8/16), ``'b'``
            (96/192/384/768, 2/2/18/2, 3/6/12/24), ``'l'`` (128/256/512/1024, 2/2/18/2,
            4/8/16/32) or a dict with ``embed_dims``, ``depths``, ``num_heads`` (lists)
            and optionally ``feedforward_channels`` (list; default
            ``round_up(int(8d/3), 256)``).
        in_channels: input channels. patch_size: first-stage patch size (4).
        window_sizes: LSA window per stage (int or 4 ints). sr_ratios: GSA reduction.
        out_indices: stages (0..3) whose NCHW maps are returned (``'featmap'``).
        out_type: ``'featmap'`` (tuple of ``(B, C_i, H_i, W_i)``) or ``'avg_featmap'``
            (classification: last stage, ``norm -> mean -> norm`` as the release,
            ``(B, C)``).
        norm_after_stage: LayerNorm after each stage (``norm_list``), as the seg/det
            release.
        rope_type: ``'2d'``, ``'as2d'``, ``'ntk'`` or ``'1d'`` (GSA; LSA uses ``'1d'``
            for ``'1d'`` and plain ``'2d'`` otherwise).
        rope_anchor: AS2DRoPE anchor grid, an int, ``(H, W)``, or one per stage
            (default 14). rope_theta / ntk_alpha: RoPE base / NTK factor.
        gsa_key_coords: ``'mean'`` (default) or ``'official'``, see above.
        lsa_mask_padding: mask padded window positions out of LSA's keys.
        as2d_scale: AS2DRoPE scaling of GSA coordinates: ``'per_axis'`` (default; x by
            ``anchor_w / W``, y by ``anchor_h / H``) or ``'height'`` (the release: both
            by ``anchor_h / H``). Only used with ``rope_type='as2d'``.
        qkv_bias: bias of the q/k/v projections.
        layer_scale_init_value: layer-scale init (release 1e-4; 0 disables).
        drop_rate / attn_drop_rate / drop_path_rate: dropouts, each in ``[0, 1)``;
            drop path ramps linearly over all blocks.
        norm_cfg: every norm: patch embeddings, blocks, GSA's reduction norm,
            ``norm_list``, ``norm`` (release: LN, eps 1e-5).
        frozen_stages: freeze the first ``frozen_stages`` stages (embedding, blocks,
            stage norm).
        with_cp: activation checkpointing per block.
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

    Any input size works (512x512, 500x375, 1333x800): odd maps are padded by the patch
    embeddings (as mmseg's Twins) and inside LSA/GSA. Every block of a stage gets the
    same context by keyword: ``hw`` (the stage grid) and ``rope`` (its RoPE tables,
    GSA's queries); LSA builds its window-local tables and GSA its keys' tables from
    the stage's RoPE settings.

    Raises:
        ModelArgumentError: (a ``ValueError``) for an argument the backbone cannot use,
            naming it and the allowed values.
    """
    arch_zoo = {
        **dict.fromkeys(['s', 'small'],
                        dict(
                            embed_dims=[64, 128, 256, 512],
                            depths=[2, 2, 10, 4],
                            num_heads=[2, 4, 8, 16])),
        **dict.fromkeys(['b', 'base'],
                        dict(
                            embed_dims=[96, 192, 384, 768],
                            depths=[2, 2, 18, 2],
                            num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(['l', 'large'],
                        dict(
                            embed_dims=[128, 256, 512, 1024],
                            depths=[2, 2, 18, 2],
                            num_heads=[4, 8, 16, 32])),
    }
    OUT_TYPES = ('featmap', 'avg_featmap')
    #: the ``out_type`` values that give NCHW maps (what dense necks / heads take)
    MAP_OUT_TYPES = ('featmap', )
    ESSENTIAL_KEYS = ('embed_dims', 'depths', 'num_heads')

    def __init__(self,
                 arch: Union[str, Dict] = 's',
                 in_channels: int = 3,
                 patch_size: int = 4,
                 window_sizes: Union[int, Sequence[int]] = 7,
                 sr_ratios: Sequence[int] = (8, 4, 2, 1),
                 out_indices: Union[int, Sequence[int]] = (0, 1, 2, 3),
                 out_type: str = 'featmap',
                 norm_after_stage: bool = False,
                 rope_type: str = '2d',
                 rope_anchor: Union[int, Sequence] = 14,
                 rope_theta: float = 10000.,
                 ntk_alpha: float = 1.,
                 gsa_key_coords: str = 'mean',
                 lsa_mask_padding: bool = True,
                 as2d_scale: str = 'per_axis',
                 qkv_bias: bool = True,
                 layer_scale_init_value: float = 1e-4,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: Dict = dict(type='LN', eps=1e-5),
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[Dict, Sequence[Dict]]] = None) -> None:
        super().__init__(init_cfg)
        settings = parse_arch(arch, self.arch_zoo, self.ESSENTIAL_KEYS)
        self.embed_dims: List[int] = list(settings['embed_dims'])
        self.depths: List[int] = list(settings['depths'])
        self.num_heads: List[int] = list(settings['num_heads'])
        num_stages = len(self.depths)
        ffn_dims = settings.get('feedforward_channels') or [
            swiglu_hidden_dims(d) for d in self.embed_dims
        ]
        if not len(self.embed_dims) == len(self.num_heads) == len(ffn_dims) == num_stages:
            raise ModelArgumentError(
                'arch embed_dims, depths, num_heads (and '
                'feedforward_channels) need one entry per stage, got '
                f'{settings}')
        self.patch_size = patch_size
        self.window_sizes = _per_stage(window_sizes, num_stages, 'window_sizes')
        self.sr_ratios = _per_stage(sr_ratios, num_stages, 'sr_ratios')
        anchors = _stage_anchors(rope_anchor, num_stages)
        check_choice('out_type', out_type, self.OUT_TYPES)
        check_choice('rope_type', rope_type, ROPE_TYPES)
        check_choice('gsa_key_coords', gsa_key_coords, GSA_KEY_COORDS)
        for dims, heads in zip(self.embed_dims, self.num_heads):
            check_heads(dims, heads)
        if not isinstance(in_channels, int) or isinstance(in_channels, bool) or \
                in_channels < 1:
            raise ModelArgumentError(
                f'in_channels must be a positive int, got {in_channels!r}')
        check_rate('drop_rate', drop_rate)
        check_rate('attn_drop_rate', attn_drop_rate)
        self.out_indices = normalize_out_indices(out_indices, num_stages, 'stages')
        if out_type == 'avg_featmap' and self.out_indices != [num_stages - 1]:
            raise ModelArgumentError(
                'out_type="avg_featmap" pools the last stage: set '
                f'out_indices=({num_stages - 1},), got {out_indices!r}')
        self.out_type = out_type
        self.num_stages = num_stages
        self.gsa_key_coords = gsa_key_coords
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp

        self.patch_embeds = ModuleList()
        self.layers = ModuleList()
        self.stage_ropes = ModuleList()
        dpr = drop_path_rates(drop_path_rate, sum(self.depths))
        cursor = 0
        for i, (dims, depth,
                heads) in enumerate(zip(self.embed_dims, self.depths, self.num_heads)):
            self.patch_embeds.append(
                build_patch_embed(in_channels if i == 0 else self.embed_dims[i - 1], dims,
                                  patch_size if i == 0 else 2, norm_cfg))
            rope_cfg = dict(
                rope_type=rope_type,
                theta=rope_theta,
                anchor_grid=anchors[i],
                ntk_alpha=ntk_alpha,
                as2d_scale=as2d_scale)
            self.stage_ropes.append(RotaryEmbedding2D(dims // heads, **rope_cfg))
            lsa = dict(
                type='LocallyGroupedAttention',
                window_size=self.window_sizes[i],
                mask_padding=lsa_mask_padding)
            gsa = dict(
                type='GlobalSubsampledAttention',
                sr_ratio=self.sr_ratios[i],
                key_coords=gsa_key_coords)
            self.layers.append(
                ModuleList([
                    TransformerBlock(
                        dims,
                        heads,
                        ffn_dims[i],
                        qkv_bias=qkv_bias,
                        ffn_bias=False,
                        layer_scale_init_value=layer_scale_init_value,
                        drop_path_rate=dpr[cursor + j],
                        attn_drop_rate=attn_drop_rate,
                        drop_rate=drop_rate,
                        norm_cfg=norm_cfg,
                        attn_cfg=gsa if j % 2 else lsa,
                        rope_cfg=rope_cfg) for j in range(depth)
                ]))
            cursor += depth
        self.norm_after_stage = norm_after_stage
        if norm_after_stage:
            self.norm_list = ModuleList(
                [build_norm_layer(norm_cfg, d) for d in self.embed_dims])
        if out_type == 'avg_featmap':
            self.norm = build_norm_layer(norm_cfg, self.embed_dims[-1])
        self._freeze_stages()

    def init_weights(self) -> None:
        if init_from_pretrained(self):
            return
        super().init_weights()
        for module in self.modules():  # as Twins / the release
            if isinstance(module, nn.Linear):
                trunc_normal_(module.weight, std=.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Conv2d):
                fan_out = module.kernel_size[0] * module.kernel_size[1] * \
                    module.out_channels // module.groups
                nn.init.normal_(module.weight, 0, math.sqrt(2.0 / fan_out))
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def frozen_parts(self) -> Tuple[List[nn.Module], List[nn.Parameter]]:
        """Patch embedding, blocks (and norm) of the first ``frozen_stages`` stages."""
        modules = []
        for i in range(min(self.frozen_stages, self.num_stages)):
            modules += [self.patch_embeds[i], self.layers[i]]
            if self.norm_after_stage:
                modules.append(self.norm_list[i])
        return modules, []

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each output, in output order."""
        if self.out_type == 'avg_featmap':
            return (self.embed_dims[-1], )
        return tuple(self.embed_dims[i] for i in self.out_indices)

    @property
    def out_strides(self) -> Optional[Tuple[int, ...]]:
        """Input pixels per output pixel of each NCHW map (None for
        ``'avg_featmap'``): the patch size, then twice that per later stage."""
        if self.out_type not in self.MAP_OUT_TYPES:
            return None
        return tuple(self.patch_size * 2**i for i in self.out_indices)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        check_input_size(x, self.patch_size)
        outs = []
        batch = x.shape[0]
        with_cp = self.with_cp and self.training
        for i in range(self.num_stages):
            x, hw = self.patch_embeds[i](x)
            context = dict(hw=hw, rope=self.stage_ropes[i].grid_tables(*hw, x.device))
            for block in self.layers[i]:
                x = run_layer(block, x, with_cp, **context)
            if self.norm_after_stage:
                x = self.norm_list[i](x)
            if i == self.num_stages - 1 and self.out_type == 'avg_featmap':
                outs.append(self.norm(self.norm(x).mean(dim=1)))
                break
            # NCHW view in channels-last memory: the next patch embedding takes it
            # without a copy; returned maps are made contiguous
            x = x.reshape(batch, *hw, -1).permute(0, 3, 1, 2)
            if i in self.out_indices:
                outs.append(x.contiguous())
        return tuple(outs)

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """``(depth, num_depths)`` for layer-wise LR decay.

        The stem is depth 0, block ``n`` (counted over all stages) is ``n + 1``, the
        downsampling embedding of a stage shares its first block's depth, a stage norm
        its last block's; anything else (final norm, heads) is the last depth.
        """
        num_depths = sum(self.depths) + 2
        if not param_name.startswith(prefix):
            return num_depths - 1, num_depths
        parts = param_name[len(prefix):].split('.')
        starts = [sum(self.depths[:s]) for s in range(self.num_stages)]
        if parts[0] == 'patch_embeds':
            stage = int(parts[1])
            return (0 if stage == 0 else starts[stage] + 1), num_depths
        if parts[0] == 'layers':
            return starts[int(parts[1])] + int(parts[2]) + 1, num_depths
        if parts[0] == 'norm_list':
            stage = int(parts[1])
            return starts[stage] + self.depths[stage], num_depths
        return num_depths - 1, num_depths
