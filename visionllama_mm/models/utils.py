"""Small argument helpers shared by the backbones."""
from typing import List, Sequence, Tuple, Union


def to_2tuple(value: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """``224 -> (224, 224)``; ``(h, w)`` unchanged. Errors name the value."""
    if isinstance(value, int):
        return value, value
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f'expected an int or (h, w) ints, got {value!r}')
    return value


def normalize_out_indices(out_indices: Union[int, Sequence[int]],
                          num_layers: int) -> List[int]:
    """Resolve negative indices; raise if any is outside ``[-num_layers, num_layers)``."""
    if isinstance(out_indices, int):
        out_indices = [out_indices]
    resolved = []
    for index in out_indices:
        if not isinstance(index, int) or not -num_layers <= index < num_layers:
            raise ValueError(f'out_indices entry {index!r} is out of range: allowed '
                             f'{-num_layers}..{num_layers - 1} for {num_layers} layers')
        resolved.append(index % num_layers)
    return resolved
