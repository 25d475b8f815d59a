"""The errors this package raises about a user's config, data, checkpoint or command
line. Each derives from :class:`UserError`: the tools print its message (which names
the file, parameter or key and the fix) without a traceback and exit with status 1.

This module sits at the bottom of the package's import graph (it imports nothing of
the package), so every layer can raise these errors.
"""
from typing import Sequence

__all__ = [
    'UserError', 'LaunchError', 'CheckpointLoadError', 'IncompatibleConfigError',
    'DataError', 'ModelArgumentError', 'ModelMismatchError', 'NonFiniteLossError',
    'LossSpikeError', 'HookArgumentError', 'DownloadError', 'UnknownNameError',
    'describe_ids'
]


class UserError(Exception):
    """Base of every user-facing error: the message is complete (what is wrong, where,
    and the fix), so a tool shows it alone."""


class LaunchError(UserError, RuntimeError):
    """A config or command-line setting that cannot run on this machine."""


class CheckpointLoadError(UserError, RuntimeError):
    """A checkpoint file could not be read; the message names the file and why."""


class IncompatibleConfigError(UserError, ValueError):
    """A config combines parts that cannot work together; the message names the fix."""


class DataError(UserError, ValueError):
    """A dataset file or value that training / testing cannot use; the message names
    the file (and the annotation ids or lines) and what is allowed."""


class ModelArgumentError(UserError, ValueError):
    """A model argument (a key of a backbone / neck / head config) with a value the
    model cannot use; the message names the argument, the allowed values and the fix.
    Raised when the model is built, before any data is read."""


class ModelMismatchError(UserError, ValueError):
    """Two parts of a model that cannot work together; the message names both."""


class NonFiniteLossError(UserError, FloatingPointError):
    """A training loss became NaN or infinite; the message names the iteration, the
    last healthy checkpoint (finite weights, saved before the loss left its normal
    range) and a command that continues from it."""


class LossSpikeError(UserError, ArithmeticError):
    """The training loss stayed far above its running median (it diverges while
    finite); the message names the iterations, the last healthy checkpoint and the
    fix."""


class HookArgumentError(UserError, TypeError):
    """A hook config with a key its class does not take; the message names the hook,
    the key, the closest allowed key and all of them."""


class DownloadError(UserError, RuntimeError):
    """A file could not be downloaded, or what came is not the file (truncated, an
    HTML page, a checksum mismatch); the message names the URL, the cache path and
    how to place a manually downloaded file."""


class UnknownNameError(UserError, ValueError):
    """A model or weights name that the zoo does not have; the message lists the
    closest names."""


def describe_ids(ids: Sequence, shown: int = 10) -> str:
    """``'ids [3, 7] (2)'``; long lists are cut after ``shown`` entries."""
    listed = ', '.join(str(i) for i in list(ids)[:shown])
    more = ', ...' if len(ids) > shown else ''
    return f'ids [{listed}{more}] ({len(ids)})'
