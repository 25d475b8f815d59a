"""Pre-flight checks, as plain functions: data files (``data``, ``coco``). Hooks and
the tools call them; nothing here is registered."""
from .data import *  # noqa: F401,F403
from .data import __all__  # noqa: F401
