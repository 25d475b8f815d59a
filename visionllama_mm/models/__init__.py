"""Models of visionllama_mm; importing registers them in the package registry."""
from . import heads  # noqa: F401,E402
from . import losses  # noqa: F401,E402
from . import backbones, converters, layers, necks, selfsup, weights  # noqa: F401
from .backbones import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403,E402
from .losses import *  # noqa: F401,F403,E402
from .necks import *  # noqa: F401,F403
from .selfsup import *  # noqa: F401,F403
