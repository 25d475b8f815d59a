"""Pre-flight checks, as plain functions: on the config (``config``), the built model
and optimizer (``model``), data files (``data``, ``coco``). One entry point per
stage (``preflight``): :func:`check_config` and :func:`check_model`, which
``ReliableRunner``, the hooks and the tools call; nothing here is registered."""
from .config import *  # noqa: F401,F403
from .config import __all__ as _config
from .data import *  # noqa: F401,F403
from .data import __all__ as _data
from .model import *  # noqa: F401,F403
from .model import __all__ as _model
from .preflight import CONFIG_CHECKS, MODEL_CHECKS, check_config, check_model

__all__ = [
    *_data, *_config, *_model, 'CONFIG_CHECKS', 'MODEL_CHECKS', 'check_config',
    'check_model'
]
