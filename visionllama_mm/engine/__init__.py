"""Engine parts (optimizer constructors, schedulers, hooks) registered in every scope."""
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .schedulers import *  # noqa: F401,F403,E402
from .fsdp import (BLOCK_TYPES, ShardedClipOptimWrapper,  # noqa: F401,E402
                   block_auto_wrap_policy, is_block, sharded_clip_grad_norm_)
