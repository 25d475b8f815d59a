"""Compatibility of the pinned stack (mmengine 0.10.7) with torch >= 2.6.

torch now unpickles checkpoints with ``weights_only=True`` by default, and mmengine
0.10.7 cannot load its own training checkpoints that way (their ``message_hub`` holds
``HistoryBuffer`` objects: "Unsupported global ... HistoryBuffer"). Allow-listing those
globals would need ``builtins.getattr`` and numpy internals, which defeats the check.

:func:`apply` (run by ``import visionllama_mm``) instead replaces mmengine's loader of
local files with :func:`load_local_checkpoint`:

- **weights-only by default**: pretrained weights (``init_cfg=dict(type='Pretrained')``,
  ``load_checkpoint``), converters and anything else get tensors only;
- **full unpickling only inside** :func:`trusted_checkpoints`, which wraps
  ``Runner.load_or_resume``: resuming your own run (``--resume``) and ``load_from``
  (the runner-level checkpoint of your own run that ``tools/test.py`` also uses);
- a clear error naming the file when a file is truncated, corrupt or holds pickled
  objects that weights-only loading refuses.

Nothing in site-packages is edited; the patch is idempotent.
"""
import contextlib
import contextvars
import functools
import os.path as osp
import pickle
import zipfile
from typing import Any, Callable, Iterator, Optional, Union

import torch
from mmengine.runner import CheckpointLoader, Runner

_TRUSTED = contextvars.ContextVar('visionllama_mm_trusted_checkpoints', default=False)


class CheckpointLoadError(RuntimeError):
    """A checkpoint file could not be read; the message names the file and why."""


@contextlib.contextmanager
def trusted_checkpoints() -> Iterator[None]:
    """Within this block local checkpoints are fully unpickled (your own runs only)."""
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def load_local_checkpoint(filename: str,
                          map_location: Optional[Union[str, Callable]] = None,
                          weights_only: Optional[bool] = None) -> Any:
    """``torch.load`` a local file, weights-only unless trusted (see module doc)."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    if weights_only is None:
        weights_only = not _TRUSTED.get()
    try:
        return torch.load(filename, map_location=map_location, weights_only=weights_only)
    except pickle.UnpicklingError as err:
        if not weights_only:
            raise CheckpointLoadError(f'checkpoint {filename} is corrupt: {err}') from err
        reason = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
        raise CheckpointLoadError(
            f'checkpoint {filename} holds pickled Python objects besides tensors, '
            f'which weights-only loading refuses ({reason}). If it is a training '
            'checkpoint of your own run, resume it with `tools/train.py ... --resume '
            f'{filename}` or give it as `load_from`; to load such a file as pretrained '
            'weights, first keep only its state_dict (e.g. '
            '`python tools/model_converters/publish_model.py`).') from err
    except (EOFError, zipfile.BadZipFile, RuntimeError) as err:
        raise CheckpointLoadError(
            f'checkpoint {filename} is truncated or corrupt ({type(err).__name__}: '
            f'{err})') from err


def _trusting(method: Callable) -> Callable:
    if getattr(method, '_visionllama_trusted', False):
        return method

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with trusted_checkpoints():
            return method(*args, **kwargs)

    wrapper._visionllama_trusted = True
    return wrapper


def apply() -> None:
    """Install the loader and wrap the runners' ``load_or_resume`` (idempotent)."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint,
                                     force=True)
    runners = [Runner]
    try:
        from mmengine.runner import FlexibleRunner
        runners.append(FlexibleRunner)
    except ImportError:  # pragma: no cover - older mmengine
        pass
    for runner in runners:
        runner.load_or_resume = _trusting(runner.load_or_resume)
