"""Engine parts (optimizer constructors, schedulers, hooks, the runner) registered in
every scope."""
from .checkpointing import CheckpointLoadError, load_checkpoint_file  # noqa: F401
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .schedulers import *  # noqa: F401,F403,E402
from .fsdp import (BLOCK_TYPES, ShardedClipOptimWrapper,  # noqa: F401,E402
                   block_auto_wrap_policy, is_block, sharded_clip_grad_norm_)
from .runner import (IncompatibleConfigError, ReliableRunner,  # noqa: F401,E402
                     add_reliability_hooks, check_optimizer_constructor)
