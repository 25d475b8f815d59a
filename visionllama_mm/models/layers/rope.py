"""2D rotary position embedding of VisionLLaMA (arXiv 2403.00522) and its variants.

Layout (identical to the official release so released weights behave the same):
frequencies ``f_m = theta ** (-4m / Hc)`` for ``m < Hc / 4`` (``Hc`` = head dim), and
per frequency the x and y rotations are interleaved — channel pair ``(4m, 4m+1)``
rotates by ``x * f_m`` and pair ``(4m+2, 4m+3)`` by ``y * f_m``. One table is shared by
all heads. Token ``n`` of a row-major ``H x W`` grid sits at ``x = n mod W``,
``y = n div W``; callers may pass any float coordinates instead (MAE's gathered
positions, GSA's pooled keys, window-local coordinates).

``rope_type``:

- ``'2d'``: the coordinates as given.
- ``'as2d'``: AS2DRoPE, coordinates multiplied per axis by ``anchor / current grid``
  (``x * anchor_w / W``, ``y * anchor_h / H``), so a model trained on the anchor grid
  sees the same position range at any input size. At the anchor it *is* ``'2d'``.
  ``as2d_scale='height'`` is the release's rule instead: x and y both multiplied by
  ``anchor_h / H`` (its ``auto_scale``: ``14 / H``); the two agree on square grids.
- ``'ntk'``: NTK-aware scaling, ``theta' = theta * alpha ** (d / (d - 2))`` with ``d``
  the rotary width of one axis (``Hc / 2``).
- ``'1d'``: the paper's failing baseline, LLaMA's 1D RoPE over the flattened index
  ``y * W + x`` with ``f_i = theta ** (-2i / Hc)``.

Rotation is in fp32, so it is exact under bf16 autocast: in eager mode one complex
multiply per tensor (one pass over ``x``, a third of the real formula's), while
``torch.compile`` / export trace the real formula (no complex tensors in a graph;
``fullgraph=True`` without breaks, and inductor fuses it into one kernel).
"""
import math
from typing import Callable, Hashable, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ...errors import ModelArgumentError
from .coords import grid_coords
from .table_cache import TableCache

ROPE_TYPES = ('1d', '2d', 'as2d', 'ntk')
AS2D_SCALES = ('per_axis', 'height')
RopeTables = Tuple[Tensor, Tensor]


def rotate_pairs(x: Tensor) -> Tensor:
    """``(a, b) -> (b, a)`` for each adjacent channel pair (the sign lives in the
    sine table, see :meth:`RotaryEmbedding2D.forward`)."""
    return x.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)


def _traced() -> bool:
    return torch.compiler.is_compiling() or torch.jit.is_tracing()


def apply_rope(x: Tensor, tables: RopeTables) -> Tensor:
    """Rotate ``x`` of shape ``(..., B, heads, N, Hc)`` by ``tables`` (``(B|1, N, Hc)``
    each); leading dims broadcast, e.g. q and k stacked as ``(2, B, heads, N, Hc)``.

    Per channel pair ``(a, b) -> (a cos - b sin, b cos + a sin)`` in fp32, cast back
    to ``x``'s dtype. Eager: the complex product ``(a + ib)(cos + i sin)``, one pass
    over ``x`` (any strides; the result keeps ``x``'s memory layout). Traced
    (``torch.compile``, export, jit): the same rotation in real arithmetic,
    ``x * cos + swap_pairs(x) * sin_signed``.
    """
    cos, sin_signed = tables
    xf = x.float()
    if _traced() or not _complex_viewable(xf):
        out = torch.addcmul(xf * cos.unsqueeze(1), rotate_pairs(xf),
                            sin_signed.unsqueeze(1))
        return out.type_as(x)
    # pair m of a table row: cos[2m] = cos, sin_signed[2m + 1] = +sin
    rotation = torch.complex(cos[..., 0::2], sin_signed[..., 1::2]).unsqueeze(1)
    out = torch.view_as_complex(xf.unflatten(-1, (-1, 2))) * rotation
    return torch.view_as_real(out).flatten(-2).type_as(x)


def _complex_viewable(x: Tensor) -> bool:
    """Whether ``view_as_complex`` can view ``x``'s channel pairs without a copy."""
    return x.stride(-1) == 1 and x.storage_offset() % 2 == 0 and \
        all(stride % 2 == 0 for stride in x.stride()[:-1])


def _finite_above(value, bound: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value) and value > bound


def _anchor_pair(anchor) -> Tuple[float, float]:
    """``14`` or ``(H, W)`` -> ``(H, W)`` floats; both finite and > 0, else an error
    naming the backbones' ``rope_anchor`` (0 would collapse every position to one,
    a negative anchor would mirror the grid)."""
    pair = (anchor, anchor) if isinstance(anchor, (int, float)) else tuple(anchor)
    if len(pair) != 2 or not all(
            isinstance(a, (int, float)) and math.isfinite(a) and a > 0 for a in pair):
        raise ModelArgumentError(
            'rope_anchor / anchor_grid must be a number or (H, W) numbers '
            f'> 0 (the training token grid, e.g. (14, 14)), got {anchor!r}')
    return float(pair[0]), float(pair[1])


class RotaryEmbedding2D(nn.Module):
    """VisionLLaMA 2D RoPE / AS2DRoPE table builder (see module docstring).

    Args:
        head_dim: channels per head ``Hc`` (multiple of 4; of 2 for ``'1d'``).
        rope_type: one of ``'1d'``, ``'2d'``, ``'as2d'``, ``'ntk'``.
        theta: base ``theta``. Defaults to 10000.
        anchor_grid: ``(H, W)`` anchor token grid of AS2DRoPE (the training grid,
            e.g. ``(14, 14)`` for 224 / 16). Required for ``'as2d'``.
        ntk_alpha: NTK-aware scaling factor ``alpha`` for ``'ntk'``.
        as2d_scale: how ``'as2d'`` scales: ``'per_axis'`` (default; x by
            ``anchor_w / W``, y by ``anchor_h / H``) or ``'height'`` (the release's
            rule: both by ``anchor_h / H``). Ignored by the other types.
        cache_size: how many grid tables to keep (LRU).

    ``forward(coords, grid_hw)`` maps float coordinates ``(B|1, N, 2)`` (x, y) to
    ``(cos, sin_signed)`` tables of shape ``(B|1, N, Hc)`` in fp32, where
    ``sin_signed`` holds ``-sin`` on the first and ``+sin`` on the second channel of
    each pair (so :func:`apply_rope` needs no negation); ``grid_hw`` is the current
    token grid (used by ``'as2d'`` scaling and ``'1d'`` flattening).
    ``grid_tables(h, w, device, cls_coord)`` returns cached tables of a full grid.
    """

    def __init__(self,
                 head_dim: int,
                 rope_type: str = '2d',
                 theta: float = 10000.,
                 anchor_grid: Optional[Sequence[int]] = None,
                 ntk_alpha: float = 1.,
                 cache_size: int = 16,
                 as2d_scale: str = 'per_axis') -> None:
        super().__init__()
        if rope_type not in ROPE_TYPES:
            raise ModelArgumentError(
                f'rope_type must be one of {ROPE_TYPES}, got {rope_type!r}')
        multiple = 2 if rope_type == '1d' else 4
        if head_dim % multiple:
            raise ModelArgumentError(f'head_dim must be a multiple of {multiple} for '
                                     f'rope_type={rope_type!r}, got {head_dim}')
        if rope_type == 'as2d' and anchor_grid is None:
            raise ModelArgumentError(
                'rope_type="as2d" needs anchor_grid=(H, W), got None')
        if anchor_grid is not None:
            anchor_grid = _anchor_pair(anchor_grid)
        if not _finite_above(ntk_alpha, 0):
            raise ModelArgumentError(f'ntk_alpha must be a finite number > 0 (1: no NTK '
                                     f'scaling), got {ntk_alpha!r}')
        if not _finite_above(theta, 1):
            raise ModelArgumentError(
                'rope_theta / theta must be a finite number > 1 (the RoPE base: 10000 in '
                f'VisionLLaMA and LLaMA), got {theta!r}')
        if as2d_scale not in AS2D_SCALES:
            raise ModelArgumentError(f'as2d_scale must be one of {AS2D_SCALES}, '
                                     f'got {as2d_scale!r}')
        self.as2d_scale = as2d_scale
        self.head_dim = head_dim
        self.rope_type = rope_type
        self.anchor_grid = anchor_grid
        if rope_type == 'ntk':
            axis_dim = head_dim // 2
            theta = theta * ntk_alpha**(axis_dim / (axis_dim - 2))
        self.theta = float(theta)
        self.ntk_alpha = ntk_alpha
        self.cache_size = cache_size
        self._cache = TableCache(cache_size)

    def extra_repr(self) -> str:
        scale = f', as2d_scale={self.as2d_scale!r}' if self.rope_type == 'as2d' else ''
        return (f'head_dim={self.head_dim}, rope_type={self.rope_type!r}, '
                f'theta={self.theta:g}, anchor_grid={self.anchor_grid}{scale}')

    def frequencies(self, device: Optional[torch.device]) -> Tensor:
        step = 2 if self.rope_type == '1d' else 4
        exponents = torch.arange(
            0, self.head_dim, step, device=device, dtype=torch.float32) / self.head_dim
        return self.theta**-exponents

    def axis_scale(self, grid_hw: Sequence[int]) -> Tuple[float, float]:
        """``(sx, sy)`` multipliers of the x and y coordinates for this grid."""
        if self.rope_type != 'as2d':
            return 1., 1.
        sy = self.anchor_grid[0] / grid_hw[0]
        if self.as2d_scale == 'height':
            return sy, sy
        return self.anchor_grid[1] / grid_hw[1], sy

    def forward(self, coords: Tensor, grid_hw: Sequence[int]) -> RopeTables:
        coords = coords.float()
        freqs = self.frequencies(coords.device)
        if self.rope_type == '1d':
            flat = coords[..., 1] * grid_hw[1] + coords[..., 0]
            angles = flat.unsqueeze(-1) * freqs
        else:
            sx, sy = self.axis_scale(grid_hw)
            angles_x = (coords[..., 0:1] * sx) * freqs
            angles_y = (coords[..., 1:2] * sy) * freqs
            angles = torch.stack((angles_x, angles_y), dim=-1).flatten(-2)
        sin = angles.sin()
        sin_signed = torch.stack((-sin, sin), dim=-1).flatten(-2)
        return angles.repeat_interleave(2, dim=-1).cos(), sin_signed

    def grid_tables(self,
                    height: int,
                    width: int,
                    device: torch.device,
                    cls_coord: Optional[Sequence[float]] = None) -> RopeTables:
        """Tables ``(1, N, Hc)`` for a row-major grid (plus a leading class token).

        Cached per (grid, class-token coordinate, device); see :meth:`cached_tables`.
        """
        key = ('grid', height, width, None if cls_coord is None else tuple(cls_coord))
        return self.cached_tables(key,
                                  lambda: grid_coords(height, width, device, cls_coord),
                                  (height, width), device)

    def cached_tables(self, key: Hashable, build_coords: Callable[[], Tensor],
                      grid_hw: Sequence[int], device: torch.device) -> RopeTables:
        """``self(build_coords(), grid_hw)``, cached (LRU) under ``key`` + device.

        The key must identify the coordinates; the grid and the module's settings fix
        the scale, and tables are always fp32. Not cached while compiling (the graph
        then computes them inline), and inference-mode tables are kept apart so they
        never reach autograd.
        """
        return self._cache.get((key, tuple(grid_hw), str(device)),
                               lambda: self(build_coords(), grid_hw))
