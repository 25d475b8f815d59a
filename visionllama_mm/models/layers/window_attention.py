"""Twins-style attentions with RoPE: LSA (local windows) and GSA (sub-sampled global).

Both project their own q, k, v and call the package's one attention path,
:func:`~visionllama_mm.models.layers.attention.attend` (SDPA). Shapes: tokens
``(B, N, C)`` of a row-major ``H x W`` map, ``hw = (H, W)``. Both are token mixers of
:class:`~.transformer_block.TransformerBlock` (``attn_cfg=dict(type=...)``); the
coordinates of their RoPE tables come from :mod:`.coords`.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmpretrain.models.utils import build_norm_layer
from torch import Tensor, nn

from ...errors import ModelArgumentError
from .attention import MIXERS, attend, attend_qkv, check_heads
from .coords import GSA_KEY_COORDS, gsa_key_coords
from .rope import RopeTables, RotaryEmbedding2D

WINDOW_ROPE_COORDS = ('local', 'global')


def needs_padding(pad_b: int, pad_r: int) -> bool:
    """Whether to pad (and mask): under ``torch.export`` always (zero pads are no-ops),
    so the branch taken for the example size is not frozen into an exported graph."""
    return torch.compiler.is_exporting() or bool(pad_b or pad_r)


def _no_mask(mixer: nn.Module, attn_mask: Optional[Tensor]) -> None:
    if attn_mask is not None:
        raise ModelArgumentError(
            f'{type(mixer).__name__} takes no attn_mask (it attends over the token '
            'grid): use RoPEAttention blocks for masked attention (e.g. AIM prefix-'
            'causal pretraining)')


@MIXERS.register_module()
class LocallyGroupedAttention(nn.Module):
    """LSA: self-attention inside non-overlapping ``ws x ws`` windows.

    The map is zero-padded bottom/right to a multiple of ``ws``; padded keys are
    masked out (``mask_padding=True``, as mmseg's Twins) or attended like the released
    code does (``False``). All windows go through one SDPA call. Keys: ``qkv``,
    ``proj``.

    RoPE is on when the block context holds ``rope`` (the tables of the grid). With
    ``rope_coords='local'`` (Twins / the pyramid, ViTDet's windowed blocks) every
    window uses window-local coordinates ``0 .. ws-1``, never rescaled: tables of its
    own from ``rope_cfg``'s ``rope_type`` (``'1d'`` stays 1D, any other is plain 2D)
    and ``theta``; a given ``rope`` of exactly one window ``(1, ws*ws, Hc)`` is used
    as it is. With ``'global'`` each window keeps its tokens' rows of the grid's
    ``rope`` (padded positions get none; needs ``mask_padding=True``).

    Args:
        embed_dims / num_heads: token width ``C`` and heads.
        window_size: ``ws``.
        qkv_bias / proj_bias: biases of the ``qkv`` and output projections.
        attn_drop / proj_drop: dropout on attention weights / the output.
        mask_padding: mask padded keys out.
        rope_coords: ``'local'`` or ``'global'``, see above.
        rope_cfg: the encoder's RoPE settings (``rope_type``, ``theta``, ...).

    ``forward(x, hw, rope)``: ``x`` ``(B, H*W, C)`` -> ``(B, H*W, C)``; ``key_rope``
    is not used; an ``attn_mask`` is an error.
    """
    needs_grid = True

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 window_size: int = 7,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.,
                 mask_padding: bool = True,
                 proj_bias: bool = True,
                 rope_coords: str = 'local',
                 rope_cfg: Optional[dict] = None) -> None:
        super().__init__()
        check_heads(embed_dims, num_heads)
        if not isinstance(window_size, int) or window_size < 1:
            raise ModelArgumentError(f'window_size must be >= 1, got {window_size!r}')
        if rope_coords not in WINDOW_ROPE_COORDS:
            raise ModelArgumentError(f'window_rope_coords must be one of '
                                     f'{WINDOW_ROPE_COORDS}, got {rope_coords!r}')
        if rope_coords == 'global' and not mask_padding:
            raise ModelArgumentError(
                "window_rope_coords='global' needs mask_padding=True: padded window "
                'positions have no grid coordinate')
        self.num_heads = num_heads
        self.head_dim = embed_dims // num_heads
        self.window_size = window_size
        self.mask_padding = mask_padding
        self.rope_coords = rope_coords
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)
        self.rope = None
        if rope_coords == 'local' and rope_cfg is not None:
            self.rope = RotaryEmbedding2D(
                self.head_dim, '1d' if rope_cfg.get('rope_type') == '1d' else '2d',
                rope_cfg.get('theta', 10000.))

    def padding_mask(self, hw: Tuple[int, int], padded: Tuple[int, int],
                     device: torch.device) -> Tensor:
        """Boolean ``(nW, 1, 1, ws*ws)``: True where a key is a real position."""
        ws = self.window_size
        valid = torch.zeros(padded, dtype=torch.bool, device=device)
        valid[:hw[0], :hw[1]] = True
        valid = valid.reshape(padded[0] // ws, ws, padded[1] // ws, ws)
        return valid.transpose(1, 2).reshape(-1, 1, 1, ws * ws)

    def window_tables(self, rope: RopeTables, hw: Tuple[int, int],
                      device: torch.device) -> RopeTables:
        """Tables of one window ``(1, ws*ws, Hc)`` (``'local'``) or one per window
        ``(nW, ws*ws, Hc)`` (``'global'``: the grid's rows, zero on padding)."""
        ws = self.window_size
        if self.rope_coords == 'local':
            return rope if self.rope is None else self.rope.grid_tables(ws, ws, device)
        if rope[0].shape[0] != 1 or rope[0].shape[1] != hw[0] * hw[1]:
            raise ModelArgumentError(
                "window_rope_coords='global' needs the grid's RoPE tables "
                f'(1, {hw[0] * hw[1]}, Hc) (no class token), got '
                f'{tuple(rope[0].shape)}')
        pad_b, pad_r = (-hw[0]) % ws, (-hw[1]) % ws
        windows = []
        for table in rope:
            table = table.reshape(hw[0], hw[1], -1)
            if needs_padding(pad_b, pad_r):
                table = F.pad(table, (0, 0, 0, pad_r, 0, pad_b))
            grid = table.reshape((hw[0] + pad_b) // ws, ws, (hw[1] + pad_r) // ws, ws, -1)
            windows.append(grid.transpose(1, 2).reshape(-1, ws * ws, table.shape[-1]))
        return windows[0], windows[1]

    def forward(self,
                x: Tensor,
                hw: Tuple[int, int],
                rope: Optional[RopeTables] = None,
                attn_mask: Optional[Tensor] = None,
                key_rope: Optional[RopeTables] = None) -> Tensor:
        _no_mask(self, attn_mask)
        batch, _, channels = x.shape
        height, width = hw
        ws = self.window_size
        pad_b, pad_r = (-height) % ws, (-width) % ws
        x = x.reshape(batch, height, width, channels)
        if needs_padding(pad_b, pad_r):
            x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        hp, wp = height + pad_b, width + pad_r
        nh, nw = hp // ws, wp // ws
        windows = x.reshape(batch, nh, ws, nw, ws, channels).transpose(2, 3)
        windows = windows.reshape(batch * nh * nw, ws * ws, channels)
        qkv = self.qkv(windows).reshape(-1, ws * ws, 3, self.num_heads, self.head_dim)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        if rope is not None:
            rope = self.window_tables(rope, hw, x.device)
            if rope[0].shape[0] != 1:
                rope = tuple(t.repeat(batch, 1, 1) for t in rope)  # per-window tables
        mask = None
        if self.mask_padding and needs_padding(pad_b, pad_r):
            mask = self.padding_mask(hw, (hp, wp), x.device).repeat(batch, 1, 1, 1)
        out = attend_qkv(qkv, rope, mask, self.attn_drop if self.training else 0.)
        out = out.reshape(batch, nh, nw, ws, ws, channels).transpose(2, 3)
        out = out.reshape(batch, hp, wp, channels)[:, :height, :width]
        return self.proj_drop(self.proj(out.reshape(batch, height * width, channels)))


@MIXERS.register_module()
class GlobalSubsampledAttention(nn.Module):
    """GSA: full-resolution queries attend to keys/values sub-sampled by ``sr_ratio``.

    Keys and values come from a ``k x k`` stride-``k`` convolution (``sr``) and a norm
    (``norm``, ``norm_cfg``) of the map; in ``'mean'`` key mode the map is zero-padded
    bottom/right to a multiple of ``k`` so every position is summarised (released
    code: ``'official'``, the convolution drops the remainder). RoPE: queries rotate by
    the context's ``rope`` (the grid's tables), keys by ``key_rope`` or, when none is
    given, by tables at :func:`~.coords.gsa_key_coords` built from ``rope_cfg`` (the
    encoder's RoPE settings, AS2DRoPE anchor included). Keys: ``q``, ``kv``, ``sr``,
    ``norm``, ``proj``.

    Args:
        embed_dims / num_heads: token width ``C`` and heads.
        sr_ratio: ``k``. qkv_bias / proj_bias: projection biases.
        attn_drop / proj_drop: dropouts. key_coords: ``'mean'`` or ``'official'``.
        norm_cfg: the reduction norm (``dict(type='LN')``, eps 1e-5).
        rope_cfg: ``RotaryEmbedding2D`` arguments of the keys' tables (None: the keys
            rotate only by a given ``key_rope``).

    ``forward(x, hw, rope, key_rope)``: ``x`` ``(B, H*W, C)`` -> ``(B, H*W, C)``; an
    ``attn_mask`` is an error.
    """
    needs_grid = True

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 sr_ratio: int = 1,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.,
                 key_coords: str = 'mean',
                 proj_bias: bool = True,
                 norm_cfg: Optional[dict] = None,
                 rope_cfg: Optional[dict] = None) -> None:
        super().__init__()
        check_heads(embed_dims, num_heads)
        if key_coords not in GSA_KEY_COORDS:
            raise ModelArgumentError(f'gsa_key_coords must be one of {GSA_KEY_COORDS}, '
                                     f'got {key_coords!r}')
        if not isinstance(sr_ratio, int) or sr_ratio < 1:
            raise ModelArgumentError(f'sr_ratio must be >= 1, got {sr_ratio!r}')
        self.num_heads = num_heads
        self.head_dim = embed_dims // num_heads
        self.sr_ratio = sr_ratio
        self.key_coords = key_coords
        self.attn_drop = attn_drop
        self.q = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.kv = nn.Linear(embed_dims, embed_dims * 2, bias=qkv_bias)
        if sr_ratio > 1:
            self.sr = nn.Conv2d(
                embed_dims, embed_dims, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = build_norm_layer(norm_cfg or dict(type='LN'), embed_dims)
        self.proj = nn.Linear(embed_dims, embed_dims, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)
        self.rope = None if rope_cfg is None else RotaryEmbedding2D(
            self.head_dim, **rope_cfg)

    def reduced_hw(self, hw: Sequence[int]) -> Tuple[int, int]:
        """Grid of the sub-sampled keys for an ``H x W`` map."""
        k = self.sr_ratio
        if self.key_coords == 'official':
            return hw[0] // k, hw[1] // k
        return math.ceil(hw[0] / k), math.ceil(hw[1] / k)

    def key_tables(self, hw: Tuple[int, int], device: torch.device) -> RopeTables:
        """Tables of the sub-sampled keys (cached per grid)."""
        k, mode = self.sr_ratio, self.key_coords
        return self.rope.cached_tables(('gsa_keys', k, mode),
                                       lambda: gsa_key_coords(*hw, k, mode, device), hw,
                                       device)

    def forward(self,
                x: Tensor,
                hw: Tuple[int, int],
                rope: Optional[RopeTables] = None,
                key_rope: Optional[RopeTables] = None,
                attn_mask: Optional[Tensor] = None) -> Tensor:
        _no_mask(self, attn_mask)
        batch, length, channels = x.shape
        q = self.q(x).reshape(batch, length, self.num_heads,
                              self.head_dim).transpose(1, 2)
        source = x
        if self.sr_ratio > 1:
            # NCHW view of the tokens in channels-last memory: no copy here, and the
            # convolution's channels-last output flattens back to tokens without one
            fmap = x.reshape(batch, *hw, channels).permute(0, 3, 1, 2)
            if self.key_coords == 'mean':
                pad_b, pad_r = (-hw[0]) % self.sr_ratio, (-hw[1]) % self.sr_ratio
                if needs_padding(pad_b, pad_r):
                    fmap = F.pad(fmap, (0, pad_r, 0, pad_b))
            source = self.norm(self.sr(fmap).flatten(2).transpose(1, 2))
        kv = self.kv(source).reshape(batch, -1, 2, self.num_heads, self.head_dim)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)
        if rope is not None and key_rope is None:
            if self.rope is None:
                raise ModelArgumentError(
                    'GlobalSubsampledAttention got query RoPE tables but none for its '
                    'sub-sampled keys: pass key_rope, or build it with rope_cfg')
            key_rope = self.key_tables(hw, x.device)
        out = attend(q, k, v, rope, key_rope, None,
                     self.attn_drop if self.training else 0.)
        return self.proj_drop(self.proj(out))
