"""Engine parts (optimizer constructors, schedulers) registered in every scope."""
from .optimizers import *  # noqa: F401,F403
