"""Engine parts (optimizer constructors, schedulers, hooks) registered in every scope."""
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .schedulers import *  # noqa: F401,F403,E402
