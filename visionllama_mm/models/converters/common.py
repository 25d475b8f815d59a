"""Helpers shared by the converters."""
from typing import Dict

#: Keys under which training checkpoints keep the model's state dict.
STATE_KEYS = ('state_dict', 'model', 'module')


def unwrap(checkpoint: Dict) -> Dict:
    """The state dict inside ``checkpoint``: the value of its first
    :data:`STATE_KEYS` key that holds a dict, or ``checkpoint`` itself."""
    for key in STATE_KEYS:
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    return checkpoint
