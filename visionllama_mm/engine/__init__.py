"""Engine parts (optimizer constructors, schedulers, hooks, the runner) registered in
every scope."""
from ..errors import CheckpointLoadError, IncompatibleConfigError
from ..fileio import load_checkpoint_file
from .checks import check_config, check_model, check_optimizer_constructor
from .fsdp import (BLOCK_TYPES, ShardedClipOptimWrapper, block_auto_wrap_policy, is_block,
                   sharded_clip_grad_norm_)
from .hooks import *  # noqa: F401,F403
from .hooks import __all__ as _hooks
from .optimizers import *  # noqa: F401,F403
from .optimizers import __all__ as _optimizers
from .runner import ReliableRunner, add_reliability_hooks
from .schedulers import *  # noqa: F401,F403
from .schedulers import __all__ as _schedulers

__all__ = [
    'CheckpointLoadError', 'load_checkpoint_file', 'BLOCK_TYPES',
    'ShardedClipOptimWrapper', 'block_auto_wrap_policy', 'is_block',
    'sharded_clip_grad_norm_', 'IncompatibleConfigError', 'ReliableRunner',
    'add_reliability_hooks', 'check_config', 'check_model', 'check_optimizer_constructor',
    *_hooks, *_optimizers, *_schedulers
]
