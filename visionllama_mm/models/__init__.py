"""Models of visionllama_mm; importing registers them in the package registry."""
from . import backbones, layers  # noqa: F401
from .backbones import *  # noqa: F401,F403
