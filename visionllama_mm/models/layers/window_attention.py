"""Twins-style attentions with RoPE: LSA (local windows) and GSA (sub-sampled global).

Both project their own q, k, v and call the package's one attention path,
:func:`~visionllama_mm.models.layers.attention.rope_attention` (SDPA). Shapes: tokens
``(B, N, C)`` of a row-major ``H x W`` map, ``hw = (H, W)``.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .attention import check_heads, rope_attention, rope_qkv_attention
from .rope import RopeTables

GSA_KEY_COORDS = ('mean', 'official')


def needs_padding(pad_b: int, pad_r: int) -> bool:
    """Whether to pad (and mask): under ``torch.export`` always (zero pads are no-ops),
    so the branch taken for the example size is not frozen into an exported graph."""
    return torch.compiler.is_exporting() or bool(pad_b or pad_r)


def gsa_key_coords(height: int,
                   width: int,
                   sr_ratio: int,
                   mode: str = 'mean',
                   device: Optional[torch.device] = None) -> Tensor:
    """RoPE coordinates ``(1, M, 2)`` (x, y) of GSA's sub-sampled keys.

    ``'mean'``: key ``(i, j)`` summarises the ``k x k`` cell (``k = sr_ratio``) with rows
    ``i*k .. i*k+k-1`` and columns ``j*k .. j*k+k-1`` of the ``H x W`` map, so it sits at
    the cell's mean coordinate ``x = j*k + (k-1)/2``, ``y = i*k + (k-1)/2`` on a
    ``ceil(H/k) x ceil(W/k)`` grid; a cell cut by the bottom/right border averages only
    its real positions.

    ``'official'``: the released code's formula, kept for loading released weights:
    ``x = (1 - 1/k) + (j mod W) * k``, ``y = (1 - 1/k) + (j div W) * k`` for the flat
    reduced index ``j < floor(H/k) * floor(W/k)``, with ``W`` the **full-resolution**
    width. It agrees with ``'mean'`` only for ``k = 2`` and only on the first reduced
    row; for ``k > 1`` the row layout is wrong (it strides by the full width).
    """
    if mode not in GSA_KEY_COORDS:
        raise ValueError(f'gsa_key_coords must be one of {GSA_KEY_COORDS}, got {mode!r}')
    k = sr_ratio
    if mode == 'official':
        flat = torch.arange(
            (height // k) * (width // k), device=device, dtype=torch.float32)
        offset = 1. - 1. / k
        xs = offset + torch.remainder(flat, width) * k
        ys = offset + torch.div(flat, width, rounding_mode='floor') * k
        return torch.stack((xs, ys), dim=-1).unsqueeze(0)

    def cell_means(size: int) -> Tensor:
        starts = torch.arange(0, size, k, device=device, dtype=torch.float32)
        ends = torch.clamp(starts + k, max=size) - 1
        return (starts + ends) / 2

    ys, xs = torch.meshgrid(cell_means(height), cell_means(width), indexing='ij')
    return torch.stack((xs.flatten(), ys.flatten()), dim=-1).unsqueeze(0)


class LocallyGroupedAttention(nn.Module):
    """LSA: self-attention inside non-overlapping ``ws x ws`` windows.

    The map is zero-padded bottom/right to a multiple of ``ws``; padded keys are
    masked out (``mask_padding=True``, as mmseg's Twins) or attended like the released
    code does (``False``). All windows go through one SDPA call. ``rope`` holds tables
    of one window ``(1, ws*ws, Hc)`` (window-local coordinates ``0 .. ws-1``, Twins /
    the pyramid) or one per window ``(nW, ws*ws, Hc)`` (e.g. global coordinates, ViTDet
    blocks of the plain backbone). Keys: ``qkv``, ``proj``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 window_size: int = 7,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.,
                 mask_padding: bool = True) -> None:
        super().__init__()
        check_heads(embed_dims, num_heads)
        if window_size < 1:
            raise ValueError(f'window_size must be >= 1, got {window_size}')
        self.num_heads = num_heads
        self.head_dim = embed_dims // num_heads
        self.window_size = window_size
        self.mask_padding = mask_padding
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def padding_mask(self, hw: Tuple[int, int], padded: Tuple[int, int],
                     device: torch.device) -> Tensor:
        """Boolean ``(nW, 1, 1, ws*ws)``: True where a key is a real position."""
        ws = self.window_size
        valid = torch.zeros(padded, dtype=torch.bool, device=device)
        valid[:hw[0], :hw[1]] = True
        valid = valid.reshape(padded[0] // ws, ws, padded[1] // ws, ws)
        return valid.transpose(1, 2).reshape(-1, 1, 1, ws * ws)

    def forward(self, x: Tensor, hw: Tuple[int, int],
                rope: Optional[RopeTables]) -> Tensor:
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
        if rope is not None and rope[0].shape[0] not in (1, qkv.shape[1]):
            rope = tuple(t.repeat(batch, 1, 1) for t in rope)  # per-window tables
        mask = None
        if self.mask_padding and needs_padding(pad_b, pad_r):
            mask = self.padding_mask(hw, (hp, wp), x.device).repeat(batch, 1, 1, 1)
        out = rope_qkv_attention(qkv, rope, mask, self.attn_drop if self.training else 0.)
        out = out.reshape(batch, nh, nw, ws, ws, channels).transpose(2, 3)
        out = out.reshape(batch, hp, wp, channels)[:, :height, :width]
        return self.proj_drop(self.proj(out.reshape(batch, height * width, channels)))


def window_coords(height: int,
                  width: int,
                  window_size: int,
                  device: Optional[torch.device] = None) -> Tensor:
    """Global ``(x, y)`` coordinates grouped by window: ``(nW, ws*ws, 2)``.

    The grid is extended bottom/right to a multiple of ``window_size`` (the padded
    positions continue the grid) and cut into windows in LSA's order.
    """
    ws = window_size
    hp, wp = height + (-height) % ws, width + (-width) % ws
    ys, xs = torch.meshgrid(
        torch.arange(hp, device=device, dtype=torch.float32),
        torch.arange(wp, device=device, dtype=torch.float32),
        indexing='ij')
    coords = torch.stack((xs, ys), dim=-1).reshape(hp // ws, ws, wp // ws, ws, 2)
    return coords.transpose(1, 2).reshape(-1, ws * ws, 2)


class GlobalSubsampledAttention(nn.Module):
    """GSA: full-resolution queries attend to keys/values sub-sampled by ``sr_ratio``.

    Keys and values come from a ``k x k`` stride-``k`` convolution (``sr``) and a
    LayerNorm (``norm``) of the map; in ``'mean'`` key mode the map is zero-padded
    bottom/right to a multiple of ``k`` so every position is summarised (released
    code: ``'official'``, the convolution drops the remainder). RoPE: queries at their
    grid coordinates, keys at :func:`gsa_key_coords`. Keys: ``q``, ``kv``, ``sr``,
    ``norm``, ``proj``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 sr_ratio: int = 1,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.,
                 key_coords: str = 'mean') -> None:
        super().__init__()
        check_heads(embed_dims, num_heads)
        if key_coords not in GSA_KEY_COORDS:
            raise ValueError(f'gsa_key_coords must be one of {GSA_KEY_COORDS}, '
                             f'got {key_coords!r}')
        if sr_ratio < 1:
            raise ValueError(f'sr_ratio must be >= 1, got {sr_ratio}')
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
            self.norm = nn.LayerNorm(embed_dims)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def reduced_hw(self, hw: Sequence[int]) -> Tuple[int, int]:
        """Grid of the sub-sampled keys for an ``H x W`` map."""
        k = self.sr_ratio
        if self.key_coords == 'official':
            return hw[0] // k, hw[1] // k
        return math.ceil(hw[0] / k), math.ceil(hw[1] / k)

    def forward(self, x: Tensor, hw: Tuple[int, int], q_rope: Optional[RopeTables],
                k_rope: Optional[RopeTables]) -> Tensor:
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
        out = rope_attention(q, k, v, q_rope, k_rope, None,
                             self.attn_drop if self.training else 0.)
        return self.proj_drop(self.proj(out))
