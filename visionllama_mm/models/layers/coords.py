"""Token coordinates ``(x, y)`` that RoPE tables are built from, in one home.

* :func:`grid_coords`: a row-major ``H x W`` grid (plus an optional class token);
* :func:`window_coords`: the grid's global coordinates grouped by ``ws x ws`` window;
* :func:`gsa_key_coords`: GSA's sub-sampled keys (the mean of the cell each summarises,
  or the release's formula).

All return float32 tensors with ``(x, y)`` in the last dimension.
"""
from typing import Optional, Sequence

import torch
from torch import Tensor

GSA_KEY_COORDS = ('mean', 'official')


def grid_coords(height: int,
                width: int,
                device: Optional[torch.device] = None,
                cls_coord: Optional[Sequence[float]] = None) -> Tensor:
    """Row-major ``(x, y)`` coordinates of a ``height x width`` grid, ``(1, N, 2)``.

    ``cls_coord``, if given, is prepended as the coordinate of a leading class token.
    """
    ys, xs = torch.meshgrid(
        torch.arange(height, device=device, dtype=torch.float32),
        torch.arange(width, device=device, dtype=torch.float32),
        indexing='ij')
    coords = torch.stack((xs.flatten(), ys.flatten()), dim=-1)
    if cls_coord is not None:
        cls = torch.tensor([list(cls_coord)], device=device, dtype=torch.float32)
        coords = torch.cat((cls, coords), dim=0)
    return coords.unsqueeze(0)


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
