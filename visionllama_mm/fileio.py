"""Checkpoint files that every tool can load with ``torch.load(weights_only=True)``.

mmengine 0.10.7 puts ``HistoryBuffer`` objects (message hub) and numpy values into
its training checkpoints, and torch >= 2.6 loads weights-only by default, so
``init_model``, the inferencers and upstream tools refuse mmengine's own files. This
module holds the pieces that :class:`~visionllama_mm.engine.AtomicCheckpointHook` and
the tools use; importing it changes nothing in mmengine or torch:

- :func:`to_weights_only` / :func:`from_weights_only`: a lossless, reversible
  encoding of a checkpoint dict into what the weights-only unpickler accepts
  (tensors, numbers, strings, bytes, lists, tuples, dicts): numpy arrays and scalars
  become tagged tensors, ``HistoryBuffer`` a tagged dict; anything else is an error
  naming the entry, never a file that cannot be loaded later;
- :func:`load_checkpoint_file`: ``torch.load(weights_only=True)`` of a local file with
  a :class:`CheckpointLoadError` naming the file and what to do;
- :func:`load_training_checkpoint`: the same for the VisionLLaMA release's training
  checkpoints, with an explicit allow-list of the few Python objects they hold
  (:data:`TRAINING_CHECKPOINT_GLOBALS`, each with why it cannot run code);
- atomic-write and checkpoint-listing helpers.
"""
import argparse
import os
import os.path as osp
import pickle
import re
import zipfile
from collections import OrderedDict
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .errors import CheckpointLoadError

#: File names the default ``CheckpointHook`` writes (``filename_tmpl``).
CHECKPOINT_NAME = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')
#: Key of the tag in an encoded value (a dict with this key is an encoded object).
TAG = '__weights_only__'
LEGACY_CONVERTER = 'tools/model_converters/convert_pickled_checkpoint.py'


# ----------------------------------------------------------------------- encoding
def _encode_array(value: np.ndarray, kind: str) -> dict:
    if value.dtype.kind in 'biufc':
        return {TAG: kind, 'data': torch.from_numpy(np.array(value, copy=True))}
    if value.dtype.kind in 'USb?':
        return {TAG: kind, 'dtype': value.dtype.str, 'list': value.tolist()}
    raise TypeError(f'numpy dtype {value.dtype} cannot be stored weights-only')


def to_weights_only(value: Any, where: str = 'checkpoint') -> Any:
    """A copy of ``value`` that ``torch.load(weights_only=True)`` reads back.

    Tensors, numbers, strings, bytes, ``None``, torch dtypes / devices / sizes and
    lists, tuples, sets and dicts of them pass unchanged (dict subclasses such as
    ``ConfigDict`` become plain dicts, named tuples plain tuples). numpy arrays and
    scalars and mmengine's ``HistoryBuffer`` become tagged dicts that
    :func:`from_weights_only` turns back into the same objects.

    Raises:
        TypeError: naming the entry (``where``) of any other object.
    """
    from mmengine.logging import HistoryBuffer

    if isinstance(value, np.generic):  # before float: np.float64 subclasses it
        return _encode_array(np.asarray(value), 'numpy.generic')
    if isinstance(value, np.ndarray):
        return _encode_array(value, 'numpy.ndarray')
    if value is None or isinstance(value,
                                   (bool, int, float, complex, str, bytes, torch.Tensor,
                                    torch.dtype, torch.device, torch.Size)):
        return value
    if isinstance(value, HistoryBuffer):
        log, count = value.data
        return {
            TAG: 'mmengine.HistoryBuffer',
            'max_length': value.max_length,
            'log_history': _encode_array(log, 'numpy.ndarray'),
            'count_history': _encode_array(count, 'numpy.ndarray')
        }
    if isinstance(value, dict):
        items = ((k, to_weights_only(v, f'{where}[{k!r}]')) for k, v in value.items())
        return OrderedDict(items) if isinstance(value, OrderedDict) else dict(items)
    if isinstance(value, (list, tuple, set)):
        items = [to_weights_only(v, f'{where}[{i}]') for i, v in enumerate(value)]
        if isinstance(value, list):
            return items
        return set(items) if isinstance(value, set) else tuple(items)
    raise TypeError(
        f'{where} is a {type(value).__module__}.{type(value).__qualname__}, which a '
        'weights-only checkpoint cannot hold (allowed: tensors, numbers, strings, '
        'numpy values, HistoryBuffer and lists / tuples / dicts of them). Store it as '
        'plain values in the hook or scheduler that puts it into the checkpoint.')


def _decode_array(value: dict) -> np.ndarray:
    if 'data' in value:
        return value['data'].numpy().copy()
    return np.array(value['list'], dtype=np.dtype(value['dtype']))


def from_weights_only(value: Any) -> Any:
    """Undo :func:`to_weights_only` (values without tags are returned as they are)."""
    if isinstance(value, dict):
        kind = value.get(TAG)
        if kind == 'numpy.ndarray':
            return _decode_array(value)
        if kind == 'numpy.generic':
            return _decode_array(value)[()]
        if kind == 'mmengine.HistoryBuffer':
            from mmengine.logging import HistoryBuffer
            return HistoryBuffer(
                _decode_array(value['log_history']),
                _decode_array(value['count_history']), value['max_length'])
        decoded = ((k, from_weights_only(v)) for k, v in value.items())
        return OrderedDict(decoded) if isinstance(value, OrderedDict) else dict(decoded)
    if isinstance(value, list):
        return [from_weights_only(v) for v in value]
    if isinstance(value, tuple):
        return tuple(from_weights_only(v) for v in value)
    return value


def decode_in_place(checkpoint: dict) -> None:
    """:func:`from_weights_only` on each entry of ``checkpoint`` (the dict object the
    runner keeps using after ``after_load_checkpoint``)."""
    for key, value in list(checkpoint.items()):
        if key != 'state_dict':  # tensors only: nothing to decode
            checkpoint[key] = from_weights_only(value)


def encode_in_place(checkpoint: dict) -> None:
    """:func:`to_weights_only` on each entry of ``checkpoint``, in place."""
    for key, value in list(checkpoint.items()):
        checkpoint[key] = to_weights_only(value, f'checkpoint[{key!r}]')


# ------------------------------------------------------------------------ loading
#: ``(object, name in the pickle, why building it cannot run code)`` per allowed global.
AllowList = Sequence[Tuple[Any, str, str]]


def _unpickling_reason(err: pickle.UnpicklingError) -> str:
    """The weights-only unpickler's own one-line reason inside torch's long message
    (torch raises its message ``from None``; the unpickler's error is the context)."""
    inner = err.__context__ if isinstance(err.__context__,
                                          pickle.UnpicklingError) else err
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    line = next((line for line in lines if 'GLOBAL' in line), lines[0] if lines else '')
    return line.split(' Please use ')[0] or repr(err)


def load_checkpoint_file(filename: str,
                         map_location: Any = 'cpu',
                         mmap: bool = False,
                         allowed: 'AllowList' = ()) -> Any:
    """``torch.load(filename, weights_only=True)`` with errors that name the file.

    ``mmap=True`` reads the structure without the tensor data (a cheap check that
    a file is complete and weights-only loadable). ``allowed``: ``(object, name in
    the pickle, reason)`` of globals the file may name besides tensors (as
    :data:`TRAINING_CHECKPOINT_GLOBALS`), allowed only during this call.

    Raises:
        FileNotFoundError: no such file.
        CheckpointLoadError: the file is truncated or corrupt, or holds pickled Python
            objects (e.g. mmengine's own training checkpoints, which are not written
            by :class:`~visionllama_mm.engine.AtomicCheckpointHook`).
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found')
    if mmap and not zipfile.is_zipfile(filename):
        raise CheckpointLoadError(f'checkpoint {filename} is truncated or corrupt, or in '
                                  "torch's legacy (pre-1.6) format (not a zip archive)")
    try:
        with torch.serialization.safe_globals([(obj, name) for obj, name, _ in allowed]):
            return torch.load(
                filename, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        reason = _unpickling_reason(err)
        if not zipfile.is_zipfile(filename):
            raise CheckpointLoadError(
                f'checkpoint {filename} is truncated or corrupt, or in torch\'s legacy '
                f'(pre-1.6) format ({reason})') from err
        if allowed:
            raise CheckpointLoadError(
                f'checkpoint {filename} holds a Python object that this reader does '
                f'not allow ({reason}); it allows tensors and only '
                f'{sorted({name for _, name, _ in allowed})}. Loading it fully would run '
                'any code it contains, so no tool of this package does.') from err
        raise CheckpointLoadError(
            f'checkpoint {filename} holds pickled Python objects besides tensors, which '
            f'weights-only loading refuses ({reason}). Loading it fully would run any '
            'code it contains, so no tool of this package does. If it is an mmengine '
            'training checkpoint you wrote yourself and trust, convert it once with '
            f'`python {LEGACY_CONVERTER} {filename} OUT.pth --trust-pickled-file`.'
        ) from err
    except (EOFError, zipfile.BadZipFile, RuntimeError, ValueError) as err:
        raise CheckpointLoadError(
            f'checkpoint {filename} is truncated or corrupt ({type(err).__name__}: '
            f'{err})') from err


# ------------------------------------------------------------------ atomic writes
def is_local_dir(path: Any) -> bool:
    return isinstance(path, str) and '://' not in path


def fsync_path(path: str) -> None:
    """Flush a written file (or a directory entry) to disk; best effort."""
    flags = os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0) if osp.isdir(path) \
        else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - e.g. directories on some file systems
        pass
    finally:
        os.close(fd)


def publish_file(tmp: str, final: str) -> None:
    """``fsync`` ``tmp`` and rename it over ``final`` (atomic on POSIX)."""
    fsync_path(tmp)
    os.replace(tmp, final)
    fsync_path(osp.dirname(osp.abspath(final)))


def atomic_write_text(path: str, text: str) -> None:
    """Write a small text file (``last_checkpoint``) atomically."""
    tmp = osp.join(
        osp.dirname(osp.abspath(path)), f'.{osp.basename(path)}.{os.getpid()}.tmp')
    try:
        with open(tmp, 'w') as f:
            f.write(text)
            f.flush()
        publish_file(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def checkpoint_candidates(work_dir: str, exclude: Optional[str] = None) -> List[str]:
    """``epoch_N.pth`` / ``iter_N.pth`` files in ``work_dir``, newest (largest N,
    then latest modification) first."""
    if not osp.isdir(work_dir):
        return []
    found = []
    for name in os.listdir(work_dir):
        match = CHECKPOINT_NAME.match(name)
        path = osp.join(work_dir, name)
        if match and osp.isfile(path) and (exclude is None or not osp.exists(exclude)
                                           or not osp.samefile(path, exclude)):
            found.append((int(match.group(1)), osp.getmtime(path), path))
    return [path for *_, path in sorted(found, reverse=True)]


# ------------------------------------------------ release training checkpoints
class PickledRecord:
    """The attributes of an object pickled in a training checkpoint, kept as data.

    Stands in for mmengine's ``HistoryBuffer`` when a release file is read: the class
    has no methods (no ``__setstate__``), so building it only fills ``__dict__`` and
    mmengine's class, whose ``__setstate__`` updates class-level state, is never
    built."""


#: The statistics a pickled ``HistoryBuffer`` names (its ``statistics_methods``).
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def history_buffer_statistic(owner: Any, name: str) -> str:
    """Stands for ``getattr(HistoryBuffer, name)`` in a pickled message hub.

    A ``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer,
    'mean')``; allowing the real ``getattr`` would let a file reach any attribute of
    any allowed object. This function only answers those four lookups, with the
    method's name.

    Raises:
        pickle.UnpicklingError: any other lookup, naming it.
    """
    if owner is PickledRecord and name in HISTORY_BUFFER_STATISTICS:
        return f'HistoryBuffer.{name}'
    raise pickle.UnpicklingError(
        f'the file calls getattr({getattr(owner, "__name__", owner)!r}, {name!r}); only '
        f'getattr(HistoryBuffer, {HISTORY_BUFFER_STATISTICS}) is allowed')


try:  # numpy >= 2 (files written with numpy 1 name numpy.core.multiarray)
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1
    from numpy.core import multiarray as _multiarray

#: What the release training checkpoints hold besides tensors and plain values:
#: ``(object, name in the pickle, why building it cannot run code)``. The DeiT-code
#: files (Pyramid VisionLLaMA ImageNet) keep an ``argparse.Namespace`` under ``args``;
#: the mmpretrain-fork files (MAE encoders) keep mmengine's message hub, whose
#: ``HistoryBuffer`` objects hold numpy arrays.
TRAINING_CHECKPOINT_GLOBALS: AllowList = (
    (argparse.Namespace, 'argparse.Namespace',
     'DeiT-code files: the command-line arguments; a plain attribute container '
     'without __setstate__, so building it only sets attributes'),
    (PickledRecord, 'mmengine.logging.history_buffer.HistoryBuffer',
     "mmengine message hub: read as an inert record; mmengine's class is not built"),
    (history_buffer_statistic, 'builtins.getattr',
     "HistoryBuffer's statistics methods: answers getattr(HistoryBuffer, 'min' | "
     "'max' | 'current' | 'mean') with the name; the real getattr is never called"),
    (_multiarray._reconstruct, 'numpy.core.multiarray._reconstruct',
     'numpy arrays (written with numpy 1): allocates an empty numpy.ndarray'),
    (_multiarray._reconstruct, 'numpy._core.multiarray._reconstruct',
     'numpy arrays (written with numpy 2): allocates an empty numpy.ndarray'),
    (np.ndarray, 'numpy.ndarray',
     'array data: ndarray.__setstate__ copies raw bytes of an allowed dtype'),
    (np.dtype, 'numpy.dtype', 'the dtype of an array or scalar, from its type code'),
    (type(np.dtype(np.float64)), 'numpy.dtypes.Float64DType',
     'HistoryBuffer values (float64); __setstate__ sets the byte order only'),
    (type(np.dtype(np.int64)), 'numpy.dtypes.Int64DType',
     'HistoryBuffer counts (int64); __setstate__ sets the byte order only'),
    (_multiarray.scalar, 'numpy.core.multiarray.scalar',
     'numpy scalars (numpy 1): a number of an allowed dtype from raw bytes'),
    (_multiarray.scalar, 'numpy._core.multiarray.scalar',
     'numpy scalars (numpy 2): a number of an allowed dtype from raw bytes'),
)


def load_training_checkpoint(filename: str, map_location: Any = 'cpu') -> Any:
    """A training checkpoint of the VisionLLaMA release, read weights-only.

    ``torch.load(weights_only=True)`` with :data:`TRAINING_CHECKPOINT_GLOBALS`
    allowed during the call: the DeiT-code files' ``argparse.Namespace`` and the
    mmpretrain-fork files' message hub (as :class:`PickledRecord`). Plain state-dict
    files (AIM, converted files) load as with :func:`load_checkpoint_file`.

    Raises:
        FileNotFoundError: no such file.
        CheckpointLoadError: the file is truncated or corrupt, or names any other
            global (the message names it).
    """
    return load_checkpoint_file(
        filename, map_location=map_location, allowed=TRAINING_CHECKPOINT_GLOBALS)
