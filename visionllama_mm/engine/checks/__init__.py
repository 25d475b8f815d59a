"""Pre-flight checks, as plain functions: on the config (``config``, ``hooks``: hook
arguments, ``paths``: the work dir), the built model and optimizer (``model``), data
files (``data``, ``coco``, ``images``). One entry point per stage (``preflight``):
:func:`check_config` and :func:`check_model`, which ``ReliableRunner``, the hooks and
the tools call; nothing here is registered."""
from .config import *  # noqa: F401,F403
from .config import __all__ as _config
from .data import *  # noqa: F401,F403
from .data import __all__ as _data
from .hooks import *  # noqa: F401,F403
from .hooks import __all__ as _hooks
from .images import *  # noqa: F401,F403
from .images import __all__ as _images
from .model import *  # noqa: F401,F403
from .model import __all__ as _model
from .paths import *  # noqa: F401,F403
from .paths import __all__ as _paths
from .preflight import CONFIG_CHECKS, MODEL_CHECKS, check_config, check_model

__all__ = [
    *_data, *_config, *_hooks, *_images, *_model, *_paths, 'CONFIG_CHECKS',
    'MODEL_CHECKS', 'check_config', 'check_model'
]
