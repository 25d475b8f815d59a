"""Fixed 2D sin-cos position embeddings (MAE / AIM layout), computed for any grid.

Layout (the one of MAE's ``get_2d_sincos_pos_embed`` and apple/ml-aim's
``SinCosPosEmbed``): for a row-major ``H x W`` grid, token ``n`` has column
``x = n mod W`` and row ``y = n div W``. With ``D`` channels and
``ω_k = 1 / T^(k / (D/4))``
(``k = 0 .. D/4 - 1``, ``T = 10000``)::

    emb[n] = [sin(x ω), cos(x ω), sin(y ω), cos(y ω)]      # four blocks of D/4

The first half encodes the column, the second half the row. Nothing is learned or
interpolated: every grid gets its own exact table.

Kept beside mmpretrain's ``build_2d_sincos_position_embedding``, whose grid is laid out
column-major (its first half encodes the row), which AIM's released weights do not use.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from .table_cache import TableCache


def sincos_pos_embed_2d(grid_h: int,
                        grid_w: int,
                        embed_dims: int,
                        temperature: float = 10000.,
                        device: Optional[torch.device] = None) -> Tensor:
    """Sin-cos table of a row-major ``grid_h x grid_w`` grid: ``(H * W, embed_dims)``.

    Computed in float32 (as the release). ``embed_dims`` must be a multiple of 4.
    """
    if embed_dims % 4:
        raise ValueError(f'embed_dims must be a multiple of 4 for a 2D sin-cos '
                         f'embedding, got {embed_dims}')
    quarter = embed_dims // 4
    omega = 1. / temperature**(
        torch.arange(quarter, dtype=torch.float32, device=device) / quarter)
    rows, cols = torch.meshgrid(
        torch.arange(grid_h, dtype=torch.float32, device=device),
        torch.arange(grid_w, dtype=torch.float32, device=device),
        indexing='ij')
    out = []
    for pos in (cols.reshape(-1), rows.reshape(-1)):
        angles = pos[:, None] * omega[None, :]
        out += [angles.sin(), angles.cos()]
    return torch.cat(out, dim=1)


class SinCosPosEmbed2D(nn.Module):
    """Adds nothing to the state dict; returns cached sin-cos tables per grid.

    Args:
        embed_dims: channels ``D`` (multiple of 4).
        temperature: the frequency base ``T``.

    ``forward(grid_hw, device, dtype)`` -> ``(1, H * W, D)``; float32 tables are kept
    per ``(H, W, device)`` in the package's :class:`~.table_cache.TableCache` (bounded
    LRU, computed inline under ``torch.compile``) and cast to ``dtype`` on return.
    """

    def __init__(self,
                 embed_dims: int,
                 temperature: float = 10000.,
                 cache_size: int = 16) -> None:
        super().__init__()
        if embed_dims % 4:
            raise ValueError(f'embed_dims must be a multiple of 4 for a 2D sin-cos '
                             f'embedding, got {embed_dims}')
        self.embed_dims = embed_dims
        self.temperature = temperature
        self._cache = TableCache(cache_size)

    def forward(self,
                grid_hw: Tuple[int, int],
                device: torch.device,
                dtype: torch.dtype = torch.float32) -> Tensor:
        height, width = grid_hw
        table = self._cache.get((height, width, str(device)), lambda: sincos_pos_embed_2d(
            height, width, self.embed_dims, self.temperature, device)[None])
        return table.to(dtype)

    def extra_repr(self) -> str:
        return f'embed_dims={self.embed_dims}, temperature={self.temperature}'
