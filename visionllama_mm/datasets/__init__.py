"""Checks of dataset files run before training / testing (no registration here)."""
from .validation import *  # noqa: F401,F403
from .validation import __all__  # noqa: F401
