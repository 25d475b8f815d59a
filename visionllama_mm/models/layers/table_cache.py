"""The one cache of position tables (RoPE cos/sin, sin-cos embeddings) per grid."""
from collections import OrderedDict
from typing import Callable, Hashable, TypeVar

import torch

T = TypeVar('T')


class TableCache:
    """Bounded LRU of tables that depend only on a key (grid, coordinates, device).

    ``get(key, build)`` returns the cached value or ``build()`` (run without autograd).
    While ``torch.compile`` traces, ``build()`` runs inline instead, so the graph holds
    no guards on the cache's contents and a new grid does not force a recompile.
    Tables built under ``torch.inference_mode`` are kept apart from the others, so an
    inference tensor never reaches a training step's autograd.

    Args:
        size: how many tables to keep (the least recently used is dropped).
    """

    def __init__(self, size: int = 16) -> None:
        if size < 1:
            raise ValueError(f'cache size must be >= 1, got {size}')
        self.size = size
        self._store: 'OrderedDict[Hashable, object]' = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        if torch.compiler.is_compiling():
            return build()
        full_key = (key, torch.is_inference_mode_enabled())
        value = self._store.get(full_key)
        if value is None:
            with torch.no_grad():
                value = build()
            self._store[full_key] = value
            if len(self._store) > self.size:
                self._store.popitem(last=False)
        else:
            self._store.move_to_end(full_key)
        return value

    def __len__(self) -> int:
        return len(self._store)
