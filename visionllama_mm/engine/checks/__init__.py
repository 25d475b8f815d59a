"""Pre-flight checks, as plain functions: data files (``data``, ``coco``, ``images``),
hook arguments (``hooks``) and the work dir (``paths``). Hooks, the runner and the
tools call them; nothing here is registered."""
from .data import *  # noqa: F401,F403
from .data import __all__ as _data
from .hooks import *  # noqa: F401,F403
from .hooks import __all__ as _hooks
from .images import *  # noqa: F401,F403
from .images import __all__ as _images
from .paths import *  # noqa: F401,F403
from .paths import __all__ as _paths

__all__ = [*_data, *_hooks, *_images, *_paths]
